"""Reader for the standard FER+ layout (``FER2013Train/``, ``FER2013Valid/``,
``FER2013Test/``, each with a header-less ``label.csv``), as Microsoft's
``generate_training_data.py`` writes it."""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

# Vote columns of label.csv, in file order. The first eight are the API's labels.
VOTE_COLUMNS = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust",
                "fear", "contempt", "unknown", "NF")
NUM_EMOTIONS = 8
SPLITS = ("FER2013Train", "FER2013Valid", "FER2013Test")


@dataclass
class Split:
    images: np.ndarray   # (N, 48, 48) uint8
    votes: np.ndarray    # (N, 10) float32, raw vote counts
    names: list[str]

    def __len__(self) -> int:
        return len(self.names)


def majority_labels(votes: np.ndarray) -> np.ndarray:
    """FER+ paper's majority protocol: -1 where the image is dropped.

    Single votes are zeroed; the top class must hold more than half of what remains,
    and must be an emotion (not ``unknown`` or ``NF``).
    """
    v = np.where(votes <= 1, 0, votes).astype(np.float64)
    total = v.sum(axis=1)
    top = v.argmax(axis=1)
    keep = (total > 0) & (v.max(axis=1) > total / 2) & (top < NUM_EMOTIONS)
    return np.where(keep, top, -1)


def soft_targets(votes: np.ndarray) -> np.ndarray:
    """Vote distribution over the eight emotions (the paper's 'probability' mode),
    single votes zeroed as in the reference code; rows with no votes left are all 0."""
    v = np.where(votes[:, :NUM_EMOTIONS] <= 1, 0, votes[:, :NUM_EMOTIONS]).astype(np.float32)
    s = v.sum(axis=1, keepdims=True)
    return np.divide(v, s, out=np.zeros_like(v), where=s > 0)


def read_split(folder: str | Path, cache_dir: str | Path | None = None) -> Split:
    """All images and votes of one split folder; decoded PNGs are cached as .npz."""
    folder = Path(folder)
    label_file = folder / "label.csv"
    if not label_file.is_file():
        raise FileNotFoundError(f"{label_file} not found: --data must be the FER+ folder "
                                f"holding {', '.join(SPLITS)}")
    rows = []
    with label_file.open(newline="") as f:
        for row in csv.reader(f):
            if len(row) < 12:
                continue
            rows.append((row[0], [float(x) for x in row[2:12]]))
    cache = None
    if cache_dir is not None:
        key = hashlib.sha1(label_file.read_bytes()).hexdigest()[:12]
        cache = Path(cache_dir) / f"{folder.name}-{key}.npz"
        if cache.is_file():
            z = np.load(cache)
            return Split(z["images"], z["votes"], [r[0] for r in rows])
    images = np.stack([_load_gray(folder / name) for name, _ in rows]) if rows else \
        np.zeros((0, 48, 48), np.uint8)
    votes = np.array([v for _, v in rows], np.float32).reshape(-1, 10)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, images=images, votes=votes)
    return Split(images, votes, [r[0] for r in rows])


def majority_faces(folder: str | Path, cache_dir: str | Path | None = None) -> \
        tuple[np.ndarray, np.ndarray]:
    """The faces of one split the majority protocol keeps, and their labels."""
    split = read_split(folder, cache_dir)
    labels = majority_labels(split.votes)
    keep = labels >= 0
    return split.images[keep], labels[keep]


def _load_gray(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        im = im.convert("L")
        if im.size != (48, 48):
            im = im.resize((48, 48), Image.BILINEAR)
        return np.asarray(im, np.uint8)
