"""Reader for the expression sets beside FER+ (``taiwanese/``, ``expw/``, ``sfew/``,
``affectnet_contempt/``): one layout, ``labels.csv`` with ``path,label`` rows whose path
starts with the split, and labels that are the API's eight names.

Faces are stored as the API feeds them to the network. A whole-head picture goes through
the API's own detector and crop (``function.service.crop_faces``); a set that already holds
face crops is used whole, as a client sending ``detect=false`` would. Either way the pixels
come from ``function.model.face_array``, the resize the API applies.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from function import detect as detect_module
from function import service
from function.detect import FaceDetector
from function.model import LABELS, face_array
from function.service import crop_faces, crop_framing

SETS = ("taiwanese", "expw", "sfew", "affectnet_contempt")
SPLITS = ("train", "valid")
# Sets of whole heads on a studio background, not face crops: cropped by the API's detector.
DETECT_SETS = frozenset({"taiwanese"})


@dataclass
class LabelledSet:
    name: str
    images: np.ndarray   # (N, S, S) uint8, grey, as the network sees them
    labels: np.ndarray   # (N,) int64, index into function.model.LABELS
    paths: list[str]
    # Pictures the detector found no face in (used whole, as a fallback).
    missed: int = 0

    def __len__(self) -> int:
        return len(self.paths)


def read_rows(folder: str | Path, split: str) -> list[tuple[str, int]]:
    """(path, label index) of one split of a ``labels.csv`` set."""
    folder = Path(folder)
    if split not in SPLITS:
        raise ValueError(f"split {split!r} is not one of {', '.join(SPLITS)}")
    label_file = folder / "labels.csv"
    if not label_file.is_file():
        raise FileNotFoundError(f"{label_file} not found: expected a set folder holding "
                                f"labels.csv (one of {', '.join(SETS)})")
    rows = []
    with label_file.open(newline="") as f:
        for row in csv.DictReader(f):
            if not row["path"].startswith(split + "/"):
                continue
            if row["label"] not in LABELS:
                raise ValueError(f"{label_file}: label {row['label']!r} of {row['path']} is "
                                 f"not one of {', '.join(LABELS)}")
            rows.append((row["path"], LABELS.index(row["label"])))
    return rows


def api_crop(image: Image.Image, detect: bool, detector: FaceDetector | None) -> \
        tuple[Image.Image, bool]:
    """The crop the API would classify, and whether the detector found a face."""
    image = image.convert("RGB")
    if not detect:
        return image, True
    faces = crop_faces(image, detector or FaceDetector())
    return (faces[0].crop, True) if faces else (image, False)


def api_crops(folder: Path, rows: list[tuple[str, int]], detect: bool,
              detector: FaceDetector | None = None) -> Iterator[tuple[Image.Image, bool]]:
    """The API's crop of each row's picture, and whether a face was found in it."""
    detector = detector or (FaceDetector() if detect else None)
    for path, _ in rows:
        with Image.open(folder / path) as im:
            yield api_crop(im, detect, detector)


def crop_code() -> str:
    """A digest of the code that finds and frames faces (function/detect/ with its numbers,
    service.py)."""
    h = hashlib.sha1()
    package = Path(detect_module.__file__).parent
    for path in (*sorted(package.glob("*.py")), *sorted(package.glob("*.json")),
                 Path(service.__file__)):
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def read_set(folder: str | Path, split: str, size: int, cache_dir: str | Path | None = None,
             detect: bool | None = None, detector: FaceDetector | None = None) -> LabelledSet:
    """All faces of one split at ``size`` px; cached as .npz keyed by the label file."""
    folder = Path(folder)
    name = folder.name
    detect = name in DETECT_SETS if detect is None else detect
    rows = read_rows(folder, split)
    cache = None
    if detect:
        detector = detector or FaceDetector()
    if cache_dir is not None:
        # Detected crops depend on the detector and on the framing: their code and constants
        # are in the key, so a change to either crops the set again instead of reusing
        # crops the API no longer makes.
        made_by = f"{detector.name}{crop_framing()}{crop_code()}" if detect else ""
        key = hashlib.sha1((folder / "labels.csv").read_bytes()
                           + f"{split}{size}{detect}{made_by}".encode()).hexdigest()[:12]
        cache = Path(cache_dir) / f"{name}-{split}-{key}.npz"
        if cache.is_file():
            z = np.load(cache)
            return LabelledSet(name, z["images"], z["labels"], [p for p, _ in rows],
                               int(z["missed"]))
    images, missed = [], 0
    for crop, found in api_crops(folder, rows, detect, detector):
        missed += not found
        images.append(face_array(crop, size, grayscale=True))
    arr = np.stack(images) if images else np.zeros((0, size, size), np.uint8)
    labels = np.array([lab for _, lab in rows], np.int64)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, images=arr, labels=labels, missed=missed)
    return LabelledSet(name, arr, labels, [p for p, _ in rows], missed)


def one_hot(labels: Iterable[int], smoothing: float = 0.0, k: int = len(LABELS)) -> np.ndarray:
    """Smoothed one-hot targets: a single label is noisier than FER+'s ten votes."""
    labels = np.asarray(list(labels), np.int64)
    t = np.full((len(labels), k), smoothing / k, np.float32)
    t[np.arange(len(labels)), labels] += 1 - smoothing
    return t
