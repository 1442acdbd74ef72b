"""BlazeFace's decoding, step for step as site/blazeface.js (same names, same order, to read
side by side): the model's numbers, the picture shrunk into a pass's input, the anchors,
the faces over the score threshold, the weighted non-maximum suppression, the box.

The numbers are blazeface.json's, which site/build.sh copies into site/vendor/ for the page:
one definition for both. Pure functions on pixels and the network's outputs; running the
network is net.py's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from function.detect.faces import Box, Detection

NUMBERS_FILE = Path(__file__).with_name("blazeface.json")
_NUMBERS = json.loads(NUMBERS_FILE.read_text())
# The whole-picture passes: (input side, minimum sigmoid score), largest first.
PASSES: tuple[tuple[int, float], ...] = tuple(
    (p["side"], p["min_score"]) for p in _NUMBERS["passes"])
# The short-range model's anchors, (stride, anchors per cell) in output order: two per cell
# at stride 8 and six at stride 16. Anchors have size 1: boxes are regressed in input pixels.
ANCHORS: tuple[tuple[int, int], ...] = tuple(tuple(a) for a in _NUMBERS["anchors"])
# The model runs at any input size that is a multiple of its coarsest stride.
STRIDE: int = _NUMBERS["stride"]
# Overlapping detections of one face (within a pass and across passes) are blended:
# MediaPipe's weighted non-maximum suppression.
NMS_IOU: float = _NUMBERS["nms_iou"]
# Rows of a prediction (8 (x, y) rows: centre, size, six landmarks) that are points.
POSITIONS: list[int] = _NUMBERS["point_rows"]
# Landmarks in the model's output order. "right"/"left" are the person's: their right eye
# is on the left of the picture.
LANDMARKS: tuple[str, ...] = tuple(_NUMBERS["landmarks"])
# Faces are searched down to MIN_FACE px in any picture, scaled to MIN_FACE_INPUT px of the
# model's input at least: at 320 px a 640x480 frame's 40 px face is 20 px, and every one
# was found (benchmarks.detector). The page's passes cover pictures up to
# 320 * MIN_FACE / MIN_FACE_INPUT = 640 px; the server tiles larger ones (policy.py).
MIN_FACE: int = _NUMBERS["min_face"]
MIN_FACE_INPUT: float = float(_NUMBERS["min_face_input"])
# Input shapes whose network stays planned, per pass (the oldest goes first): each picture
# shape (aspect ratio) is one.
MAX_SHAPES: int = _NUMBERS["max_shapes"]

# What the network reads for each 8-bit pixel value: [-1, 1]. A table lookup (cv2.LUT) does
# the conversion in one pass, 0.07 instead of 0.19 ms for a 320x240 input.
PIXELS = (np.arange(256) / 127.5 - 1).astype(np.float32)


class Pyramid:
    """An image and its halvings, each made once, to shrink it to any size: by halvings
    while it is at least twice that size (OpenCV's fast path for an exact 2x), then one
    INTER_AREA step (site/blazeface.js ports both). A 640x480 frame to 128x96 takes 0.13 ms
    from the 320 px pass's halving instead of 0.45 ms in one step. The result is a little
    softer than the one-step box filter's (a mean 2.7 grey levels apart on the astronaut);
    recall and false boxes on benchmarks.detector are the same, the eyes a median 0.2-2% of
    their distance apart."""

    def __init__(self, rgb: np.ndarray) -> None:
        self.levels = [rgb]

    @property
    def image(self) -> np.ndarray:
        return self.levels[0]

    def resized(self, width: int, height: int) -> np.ndarray:
        level = 0
        while (im := self.levels[level]).shape[1] >= 2 * width and im.shape[0] >= 2 * height:
            if level + 1 == len(self.levels):
                self.levels.append(cv2.resize(im, (im.shape[1] // 2, im.shape[0] // 2),
                                              interpolation=cv2.INTER_AREA))
            level += 1
        if im.shape[:2] == (height, width):
            return im
        return cv2.resize(im, (width, height), interpolation=cv2.INTER_AREA)


@dataclass(frozen=True)
class Layout:
    """Where a picture goes in one pass's input: scaled by ``s`` to ``nw`` x ``nh``,
    letterboxed at (``ox``, ``oy``) in a ``cw`` x ``ch`` input."""
    s: float
    nw: int
    nh: int
    cw: int
    ch: int
    ox: int
    oy: int


def pass_layout(width: int, height: int, side: int) -> Layout:
    """One pass's input for a picture this size: ``side`` px on its long side, letterboxed
    to the next multiple of the coarsest stride."""
    s = side / max(width, height)
    nw, nh = max(1, round(width * s)), max(1, round(height * s))
    cw, ch = -(-nw // STRIDE) * STRIDE, -(-nh // STRIDE) * STRIDE
    return Layout(s, nw, nh, cw, ch, (cw - nw) // 2, (ch - nh) // 2)


def pass_input(canvas: np.ndarray, small: np.ndarray, ox: int, oy: int) -> None:
    """The picture into the network's input ``canvas`` (H, W, 3) at (ox, oy), converted to
    its values; the letterbox's bars black."""
    h, w = small.shape[:2]
    if canvas.shape[:2] != (h, w):
        black = PIXELS[0]
        canvas[:oy] = black
        canvas[oy + h:] = black
        canvas[oy:oy + h, :ox] = black
        canvas[oy:oy + h, ox + w:] = black
    # In place, into the tensor (a view of it where it is letterboxed).
    cv2.LUT(small, PIXELS, dst=canvas[oy:oy + h, ox:ox + w])


@lru_cache(maxsize=64)
def anchors(width: int, height: int) -> np.ndarray:
    """Anchor centres in input pixels, in the model's output order: per stride, row by row,
    n anchors per cell."""
    out = []
    for stride, n in ANCHORS:
        ax, ay = np.meshgrid(np.arange(width // stride) * stride + stride / 2,
                             np.arange(height // stride) * stride + stride / 2)
        out.append(np.repeat(np.stack([ax.ravel(), ay.ravel()], axis=1), n, axis=0))
    centres = np.concatenate(out).astype(np.float32)
    centres.setflags(write=False)       # shared by every pass of this input size
    return centres


def decode(logits: np.ndarray, raw: np.ndarray, width: int, height: int,
           min_score: float) -> tuple[np.ndarray, np.ndarray]:
    """The faces over the score threshold in the network's outputs for a ``width`` x
    ``height`` input: points (N, 8, 2) — centre, size, six landmarks — in its pixels, and
    their scores."""
    threshold = float(np.log(min_score / (1 - min_score)))
    logits, raw = logits.reshape(-1), raw.reshape(-1, 16)
    keep = logits > threshold
    # The centre and six (x, y) points are offsets from their cell's anchor, then comes the
    # box size.
    pts = raw[keep].reshape(-1, 8, 2)
    pts[:, POSITIONS] += anchors(width, height)[keep][:, None]
    return pts, 1 / (1 + np.exp(-logits[keep]))


def blend(pts: np.ndarray, scores: np.ndarray) -> list[tuple[np.ndarray, float]]:
    """MediaPipe's weighted non-maximum suppression: each group of detections overlapping
    the best remaining one by more than NMS_IOU becomes their score-weighted mean. Largest
    first."""
    order = np.argsort(-scores)
    pts, scores = pts[order], scores[order]
    lo, hi = pts[:, 0] - pts[:, 1] / 2, pts[:, 0] + pts[:, 1] / 2
    area = np.prod(pts[:, 1], axis=1)
    left = np.ones(len(scores), bool)
    out = []
    for i in range(len(scores)):
        if not left[i]:
            continue
        inter = np.prod(np.clip(np.minimum(hi[i], hi) - np.maximum(lo[i], lo), 0, None), axis=1)
        group = left & (inter / (area[i] + area - inter + 1e-9) > NMS_IOU)
        group[i] = True             # even a degenerate (zero-size) box is its own group
        left &= ~group
        wts = scores[group][:, None, None]
        out.append(((pts[group] * wts).sum(0) / wts.sum(), float(scores[i])))
    return sorted(out, key=lambda t: -t[0][1].prod())


def to_detection(p: np.ndarray, score: float, w: int, h: int) -> Detection:
    """The box in whole pixels, clipped to the picture; the landmarks as found."""
    (cx, cy), (bw, bh) = p[0], p[1]
    x0 = min(w - 1, max(0, round(cx - bw / 2)))
    y0 = min(h - 1, max(0, round(cy - bh / 2)))
    x1, y1 = min(w, round(cx + bw / 2)), min(h, round(cy + bh / 2))
    marks = {n: (float(x), float(y)) for n, (x, y) in zip(LANDMARKS, p[2:], strict=True)}
    return Detection(Box(x0, y0, max(1, x1 - x0), max(1, y1 - y0)), marks, float(score))
