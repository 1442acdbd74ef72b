"""Face detectors that were measured against the shipped one (benchmarks.detector) but are
not served: the Haar cascade the API used before, and other BlazeFace set-ups."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from function.detect import FULL_RANGE, SHORT_RANGE, Box, Detection, FaceDetector, Pass

# The API's settings before BlazeFace (each one's reason is in git history, function/detect.py).
CASCADE = "haarcascade_frontalface_default.xml"
HAAR_MAX_SIDE, HAAR_SCALE_STEP, HAAR_MIN_FACE = 480, 1.1, 26


class HaarDetector:
    """OpenCV's Haar cascade, whose weights ship in the opencv-python-headless wheel: boxes,
    no landmarks."""

    def __init__(self, cascade: str = CASCADE, max_side: int = HAAR_MAX_SIDE) -> None:
        path = Path(cv2.data.haarcascades) / cascade
        self._cascade = cv2.CascadeClassifier(str(path))
        if self._cascade.empty():
            raise RuntimeError(f"cannot load the face cascade {path}")
        self.max_side = max_side
        self.name = f"opencv-haar:{cascade}@{max_side}px"
        self._lock = threading.Lock()    # the cascade keeps the pyramid of the call in progress

    def detect(self, image: Image.Image) -> list[Detection]:
        gray = np.asarray(image.convert("L"))
        h, w = gray.shape
        s = min(1.0, self.max_side / max(h, w))
        if s < 1.0:
            gray = cv2.resize(gray, (max(1, round(w * s)), max(1, round(h * s))),
                              interpolation=cv2.INTER_AREA)
        gray = cv2.equalizeHist(gray)
        with self._lock:
            found = self._cascade.detectMultiScale(gray, scaleFactor=HAAR_SCALE_STEP,
                                                   minNeighbors=5,
                                                   minSize=(HAAR_MIN_FACE, HAAR_MIN_FACE))
        boxes = [Box(int(x), int(y), int(bw), int(bh)).scaled(1 / s) for x, y, bw, bh in found]
        boxes = [Box(b.x, b.y, min(b.width, w - b.x), min(b.height, h - b.y)) for b in boxes]
        return [Detection(b, {}) for b in sorted(boxes, key=lambda b: -b.width * b.height)]


class OpenCVRunner:
    """The same BlazeFace file run by OpenCV's DNN module, as the API did before LiteRT
    (a function.detect.Runner; threads: cv2.setNumThreads, process-wide)."""

    def __init__(self, path: str, width: int, height: int, _threads: int) -> None:
        self.net = cv2.dnn.readNetFromTFLite(path)
        self.names = self.net.getUnconnectedOutLayersNames()
        self.canvas = np.empty((1, height, width, 3), np.float32)

    def input(self) -> np.ndarray:
        return self.canvas

    def __call__(self) -> tuple[np.ndarray, np.ndarray]:
        self.net.setInput(self.canvas.transpose(0, 3, 1, 2))
        a, b = self.net.forward(self.names)
        return (a, b) if a.shape[-1] == 1 else (b, a)


class OpenCVBlazeFace(FaceDetector):
    """The shipped passes, run by OpenCV instead of LiteRT."""
    runner = OpenCVRunner


def short_range(*passes: tuple[int, float]) -> FaceDetector:
    """BlazeFace's short-range model (the one the web page runs), one pass per (longest
    side, minimum score)."""
    return FaceDetector(tuple(Pass(SHORT_RANGE, side, score) for side, score in passes))


def full_range(score: float = 0.5) -> FaceDetector:
    """BlazeFace's full-range model: fixed at 192x192 (the frame letterboxed into it), and
    OpenCV runs it about 1.5x slower per pixel than the short-range one."""
    return FaceDetector((Pass(FULL_RANGE, 192, score),))
