from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from training.ferplus import SPLITS

# Vote rows (neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF)
# with what the majority protocol must make of them.
ROWS = [
    ([4, 0, 0, 1, 3, 2, 0, 0, 0, 0], -1),   # the single vote dropped, 4 of 9 is no majority
    ([6, 0, 0, 1, 3, 0, 0, 0, 0, 0], 0),    # the single vote dropped, 6 of 9 is
    ([0, 10, 0, 0, 0, 0, 0, 0, 0, 0], 1),
    ([0, 0, 6, 0, 0, 0, 0, 0, 4, 0], 2),
    ([5, 0, 0, 5, 0, 0, 0, 0, 0, 0], -1),   # tie: no class holds more than half
    ([0, 0, 0, 0, 0, 0, 0, 0, 2, 8], -1),   # not a face
    ([0, 0, 0, 0, 0, 0, 0, 0, 7, 3], -1),   # unknown
    ([1, 1, 1, 1, 1, 1, 1, 1, 1, 1], -1),   # only single votes
    ([0, 0, 0, 0, 0, 0, 0, 9, 1, 0], 7),
]


def make_ferplus(root: Path, rows=ROWS, per_split: int | None = None) -> Path:
    """A FER+ folder in the standard layout, with random 48x48 grey faces."""
    rng = np.random.default_rng(0)
    for split in SPLITS:
        folder = root / split
        folder.mkdir(parents=True)
        lines = []
        use = rows if per_split is None else [rows[i % len(rows)] for i in range(per_split)]
        for i, (votes, _) in enumerate(use):
            name = f"fer{i:07d}.png"
            Image.fromarray(rng.integers(0, 255, (48, 48), np.uint8)).save(folder / name)
            lines.append(f'{name},"(0, 0, 48, 48)",' + ",".join(map(str, votes)))
        (folder / "label.csv").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture
def ferplus_dir(tmp_path) -> Path:
    return make_ferplus(tmp_path / "ferplus")
