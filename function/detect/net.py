"""The networks: one per whole-picture pass, and the tiles'. Each keeps its runners
(one per input shape) and turns their outputs into points in the picture's pixels with
blazeface.py's decoding."""

from __future__ import annotations

import math

import numpy as np

from function.detect.blazeface import (
    MAX_SHAPES,
    POSITIONS,
    Pyramid,
    decode,
    pass_input,
    pass_layout,
)
from function.detect.policy import Pass, Tiles
from function.detect.runtime import LiteRTRunner, Runner, RunnerFactory, weights_path


class Net:
    """One pass's network. Each pass runs at its own input shape, so passes never share an
    interpreter (resizing one costs a re-plan)."""

    def __init__(self, spec: Pass, runner: RunnerFactory = LiteRTRunner) -> None:
        self.spec = spec
        self._runner = runner
        self._path = str(weights_path(spec.model))
        self._runners: dict[tuple[int, int, int], Runner] = {}

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

    def run(self, pyramid: Pyramid, threads: int) -> tuple[np.ndarray, np.ndarray]:
        """Points (N, 8, 2) — centre, size, six landmarks — in the image's pixels, and
        their scores."""
        h, w = pyramid.image.shape[:2]
        layout = pass_layout(w, h, self.spec.side)
        runner = self.runner(layout.cw, layout.ch, threads)
        pass_input(runner.input()[0], pyramid.resized(layout.nw, layout.nh),
                   layout.ox, layout.oy)
        pts, scores = self.found(runner, layout.cw, layout.ch)
        pts[:, POSITIONS] -= (layout.ox, layout.oy)
        return pts / layout.s, scores

    def found(self, runner: Runner, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
        """The runner's faces over the score threshold: points (N, 8, 2) in its input's
        pixels, and their scores."""
        logits, raw = runner()
        return decode(logits, raw, width, height, self.spec.min_score)


def _cuts(starts: list[int], side: int) -> list[float]:
    """Each tile's share of the line: from the middle of its overlap with the one before
    to the middle of its overlap with the one after."""
    mids = [(b + a + side) / 2 for a, b in zip(starts, starts[1:], strict=False)]
    return [-math.inf, *mids, math.inf]


class TiledNet(Net):
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
                pass_input(runner.input()[0], image[y:y + th, x:x + tw], 0, 0)
                pts, scores = self.found(runner, tw, th)
                pts[:, POSITIONS] += (x, y)
                cx, cy = pts[:, 0, 0], pts[:, 0, 1]
                mine = ((xcuts[i] <= cx) & (cx < xcuts[i + 1])
                        & (ycuts[j] <= cy) & (cy < ycuts[j + 1]))
                all_pts.append(pts[mine])
                all_scores.append(scores[mine])
        return np.concatenate(all_pts), np.concatenate(all_scores)
