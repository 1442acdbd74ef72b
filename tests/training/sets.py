"""Tiny sets in the ``labels.csv`` layout of ../shared/data/{taiwanese,expw,...}, made by the
tests: random-pixel face crops, and whole-head pictures made of a real face on grey."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from function.model import LABELS


def make_set(root: Path, name: str, labels: dict[str, list[str]], size: int = 64,
             head: Image.Image | None = None) -> Path:
    """``labels``: split -> label names, one picture each. With ``head``, every picture is
    that face on a grey studio background, shifted a little, as the taiwanese set is."""
    folder = root / name
    rng = np.random.default_rng(len(name))
    lines = ["path,label"]
    for split, names in labels.items():
        (folder / split).mkdir(parents=True, exist_ok=True)
        for i, label in enumerate(names):
            assert label in LABELS, label
            if head is None:
                im = Image.fromarray(rng.integers(0, 255, (size, size, 3), np.uint8))
            else:
                im = Image.new("RGB", (head.width + 40, head.height + 40), (128, 128, 128))
                im.paste(head, (10 + 3 * (i % 5), 10 + 2 * (i % 7)))
            path = f"{split}/{label.lower()}_{i}.jpg"
            im.save(folder / path, quality=92)
            lines.append(f"{path},{label}")
    (folder / "labels.csv").write_text("\n".join(lines) + "\n")
    return folder
