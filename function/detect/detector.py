"""The face detector: the whole-picture passes on a picture up to 640 px on its long side
(the page runs the same ones, site/blazeface.js's detectFaces), tiles as well on a larger
one, every detection blended into one face each."""

from __future__ import annotations

import threading

import numpy as np
from PIL import Image

from function.detect.blazeface import STRIDE, Pyramid, blend, to_detection
from function.detect.faces import Detection
from function.detect.net import Net, TiledNet
from function.detect.policy import LARGEST_FACE, PASSES, TILES, Pass, Tiles, smallest_face
from function.detect.runtime import LiteRTRunner, RunnerFactory

WARM_UP_FRAME = (640, 480)


class FaceDetector:
    runner: RunnerFactory = LiteRTRunner    # what runs the network (a seam for another runtime)

    def __init__(self, passes: tuple[Pass, ...] = PASSES, threads: int = 1,
                 tiles: Tiles | None = TILES) -> None:
        self._nets = [Net(p, self.runner) for p in passes]
        self._tiled = TiledNet(tiles, self.runner) if tiles else None
        self._bridges: dict[int, Net] = {}      # the tiles' whole-picture passes, by side
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
            pyramid = Pyramid(np.asarray(small))
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
            copy = Pyramid(np.asarray(small)).resized(tw, th)
            # The passes read the tiles' copy, not the picture: its halvings are cheaper.
            pyramid = Pyramid(copy)
            with self._lock:
                found = [net.run(pyramid, self.threads) for net in self._passes(tw, th)]
                found.append(self._tiled.run_tiles(copy, self.threads))
            sx, sy = w / tw, h / th
        pts = np.concatenate([p for p, _ in found]) * (sx, sy)
        scores = np.concatenate([s for _, s in found])
        return [to_detection(p, sc, w, h) for p, sc in blend(pts, scores)]

    def _passes(self, width: int, height: int) -> list[Net]:
        """The whole-picture passes that go with the tiles of a copy this size: one that
        sees the faces a tile may not hold whole (over the overlap) at TILES.face px or
        more, then the smaller passes, unless it sees a face as wide as the picture's short
        side at LARGEST_FACE px or less."""
        tiles = self._tiled.tiles
        long, short = max(width, height), min(width, height)
        side = -(-round(long * tiles.face / tiles.overlap) // STRIDE) * STRIDE
        if side not in self._bridges:
            self._bridges[side] = Net(Pass(tiles.model, side, tiles.min_score), self.runner)
        if short * side / long <= LARGEST_FACE:
            return [self._bridges[side]]
        return [self._bridges[side], *(n for n in self._nets
                                       if n.spec.side < side)]
