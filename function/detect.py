"""Face detection with OpenCV's Haar cascade, whose weights ship inside the
opencv-python-headless wheel (nothing is downloaded). Why this detector: README."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

CASCADE = "haarcascade_frontalface_default.xml"
# Frames are searched at this longest side, over scales SCALE_STEP apart: the cost grows
# with the area and the number of scales. On the 640x480 benchmark frame (2 threads):
# 480 px / 1.1 31 ms; / 1.15 24 ms and / 1.2 18 ms both miss the 52 px face of a 900 px
# photo (tests/function/test_handler.py); 400 px / 1.1 22 ms took a patch of the
# astronaut's suit for her face; 320 px missed the ~100 px face altogether.
DETECT_MAX_SIDE = 480
SCALE_STEP = 1.1
# Pixels, at detection scale. The cascade's window is 24 px, so the search starts at the
# first scale step above this: 26 skips the full-size level, the costliest, for 30.9 ->
# 28.3 ms on the benchmark frame, and still finds the 54 px face of the 900 px test photo
# (29 px here); 28 lost it.
MIN_FACE = 26


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    width: int
    height: int

    def scaled(self, s: float) -> Box:
        return Box(round(self.x * s), round(self.y * s), round(self.width * s),
                   round(self.height * s))

    def expanded(self, margin: float, width: int, height: int) -> Box:
        """Grown by ``margin`` of its size on each side, clipped to the image."""
        dx, dy = self.width * margin, self.height * margin
        x0, y0 = max(0, round(self.x - dx)), max(0, round(self.y - dy))
        x1 = min(width, round(self.x + self.width + dx))
        y1 = min(height, round(self.y + self.height + dy))
        return Box(x0, y0, max(1, x1 - x0), max(1, y1 - y0))


class FaceDetector:
    def __init__(self, cascade: str = CASCADE, max_side: int = DETECT_MAX_SIDE) -> None:
        path = Path(cv2.data.haarcascades) / cascade
        self._cascade = cv2.CascadeClassifier(str(path))
        if self._cascade.empty():
            raise RuntimeError(f"cannot load the face cascade {path}")
        self.max_side = max_side
        # A CascadeClassifier keeps the image pyramid of the call in progress inside itself:
        # two requests detecting at once (the server's thread pool) get each other's faces.
        self._lock = threading.Lock()

    def detect(self, image: Image.Image) -> list[Box]:
        """Faces in an RGB image, in its pixels, largest first."""
        gray = np.asarray(image.convert("L"))
        h, w = gray.shape
        s = min(1.0, self.max_side / max(h, w))
        if s < 1.0:
            gray = cv2.resize(gray, (max(1, round(w * s)), max(1, round(h * s))),
                              interpolation=cv2.INTER_AREA)
        gray = cv2.equalizeHist(gray)
        with self._lock:
            found = self._cascade.detectMultiScale(gray, scaleFactor=SCALE_STEP, minNeighbors=5,
                                                   minSize=(MIN_FACE, MIN_FACE))
        boxes = [Box(int(x), int(y), int(bw), int(bh)).scaled(1 / s) for x, y, bw, bh in found]
        boxes = [Box(b.x, b.y, min(b.width, w - b.x), min(b.height, h - b.y)) for b in boxes]
        return sorted(boxes, key=lambda b: -b.width * b.height)
