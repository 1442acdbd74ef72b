"""Where the detector looks: the whole-picture passes, and the tiles that search a large
picture for its small faces."""

from __future__ import annotations

import math
from dataclasses import dataclass

from function.detect import blazeface
from function.detect.blazeface import MIN_FACE, MIN_FACE_INPUT
from function.detect.runtime import SHORT_RANGE


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
# (docs/face-detection-history.md). The numbers are blazeface.json's: the page's too.
PASSES = tuple(Pass(SHORT_RANGE, side, score) for side, score in blazeface.PASSES)


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
# smallest faces to 20 px too (blazeface.MIN_FACE_INPUT). A face up to the overlap is whole
# in the tile its centre falls in; larger ones are the whole-picture passes' (at 320 px they
# find every face of a sixteenth of the picture's longest side: 120 px in 1920x1080, 60 px
# of the tiles' input; 250 px in 4000x3000, 79 px of its tiles'). A 960x544 tile holds a
# 1920x1080 picture's 960x540 copy whole: two 544 px squares cost 13% more
# (docs/detection.md).
TILES = Tiles(SHORT_RANGE, 960, 544, 128, MIN_FACE_INPUT, 0.75)
# Faces are searched down to MIN_FACE (40 px) in any picture, but in at most this many
# pixels of the tiles' copy: it bounds the time a large picture takes (~45 ns a pixel at 2
# threads) and so sets the smallest face of pictures over 4.8 MP (64 px in 4000x3000, 90 px
# in 6000x4000). Along a line, at most four tiles: a long strip (over ~10:1) is searched
# for larger faces.
TILED_PIXELS = 1_200_000
TILED_SIDE = 4 * (TILES.width - TILES.overlap) + TILES.overlap


def smallest_face(width: int, height: int) -> float:
    """The smallest face width (px) searched for in a picture of this size."""
    return max(float(MIN_FACE), TILES.face * math.sqrt(width * height / TILED_PIXELS),
               TILES.face * max(width, height) / TILED_SIDE)


# The largest face the short-range model finds, in px of its input: at 320 px every 256 px
# face of a 640x480 frame, half the 320 px ones (benchmarks.detector).
LARGEST_FACE = 128
