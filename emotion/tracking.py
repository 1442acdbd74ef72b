"""The page's face tracking and smoothing (site/tracking.js, site/emotions.js), ported so a
video analysed here gives the same face ids and the same smoothed probabilities as the page
on the same detections (tests/emotion/test_tracking.py runs both on one sequence).

Times are milliseconds, as the page's performance.now(): here, the frame's time in the
video."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from function.model import LABELS

TRACK_TTL_MS = 500          # a face the detector misses for this long has left
MAX_FACES = 6               # faces the page follows (the largest)
MIN_IOU = 0.2               # overlap that makes a box the same face as a track's
SMOOTHING_SECONDS = 0.6     # time constant of each face's moving average
MAX_STEP = 0.5              # one answer moves the average at most halfway
MAIN_MARGIN = 1.3           # another face leads only once this much larger


@dataclass
class Track:
    id: int
    box: dict
    seen_at: float = 0.0
    probs: dict[str, float] | None = None
    answered_at: float = 0.0
    frame: int = 0


def complete(probs: dict | None) -> dict[str, float]:
    return {label: float((probs or {}).get(label) or 0) for label in LABELS}


def smooth(previous: dict | None, raw: dict, dt_seconds: float,
           tau: float = SMOOTHING_SECONDS) -> dict[str, float]:
    """One step of the page's moving average: towards ``raw`` by 1 - exp(-dt / tau), at
    most MAX_STEP; a face's first answer is taken as it is."""
    target = complete(raw)
    if not previous:
        return target
    weight = min(MAX_STEP, 1 - math.exp(-max(0.0, dt_seconds) / tau))
    return {label: previous[label] + weight * (target[label] - previous[label])
            for label in LABELS}


def top_label(probs: dict[str, float]) -> str:
    """The most likely label; on a tie the first in LABELS order, as the page picks."""
    best = None
    for label in LABELS:
        if best is None or probs[label] > probs[best]:
            best = label
    return best


def iou(a: dict, b: dict) -> float:
    x0, y0 = max(a["x"], b["x"]), max(a["y"], b["y"])
    x1 = min(a["x"] + a["width"], b["x"] + b["width"])
    y1 = min(a["y"] + a["height"], b["y"] + b["height"])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    union = a["width"] * a["height"] + b["width"] * b["height"] - inter
    return inter / union if union > 0 else 0.0


def match_boxes(tracks: list[Track], boxes: list[dict], min_iou: float = MIN_IOU) -> list[int]:
    """Per box, the index of its track or -1: best overlap first, greedily."""
    pairs = [(iou(track.box, box), b, t) for b, box in enumerate(boxes)
             for t, track in enumerate(tracks)]
    # sorted() is stable, as the page's Array.sort: equal overlaps keep their order.
    pairs = sorted((p for p in pairs if p[0] >= min_iou), key=lambda p: -p[0])
    box_to_track = [-1] * len(boxes)
    taken: set[int] = set()
    for _, b, t in pairs:
        if box_to_track[b] != -1 or t in taken:
            continue
        box_to_track[b] = t
        taken.add(t)
    return box_to_track


@dataclass
class Tracker:
    max_faces: int = MAX_FACES
    next_id: int = 1
    tracks: list[Track] = field(default_factory=list)
    main_id: int | None = None
    frames: int = 0
    found: int = 0

    def detect(self, boxes: list[dict], now: float) -> list[Track]:
        """One frame's detections (largest first), as the page's Tracker.detect: the
        tracks seen in it, in the boxes' order."""
        self.frames += 1
        shown = boxes[:self.max_faces]
        match = match_boxes(self.tracks, shown)
        seen = [self._place(self.tracks[m] if m >= 0 else None, box, now)
                for box, m in zip(shown, match, strict=True)]
        self.found = len(boxes)
        return seen

    def _place(self, track: Track | None, box: dict, now: float) -> Track:
        if track is None:
            track = Track(self.next_id, box)
            self.next_id += 1
            self.tracks.append(track)
        track.box = {k: box[k] for k in ("x", "y", "width", "height")}
        track.seen_at = now
        track.frame = self.frames
        return track

    def expire(self, now: float) -> bool:
        """Drops faces unseen for TRACK_TTL_MS; true when the last one just went."""
        before = len(self.tracks)
        self.tracks = [t for t in self.tracks if now - t.seen_at <= TRACK_TTL_MS]
        return before > 0 and not self.tracks

    def main(self) -> Track | None:
        """The largest face leads; the current one keeps the lead unless another is
        MAIN_MARGIN times its size, so two similar faces do not swap back and forth."""
        def area(t: Track) -> float:
            return t.box["width"] * t.box["height"]

        best = None
        for track in self.tracks:
            if best is None or area(track) > area(best):
                best = track
        current = next((t for t in self.tracks if t.id == self.main_id), None)
        if current and best and area(best) < MAIN_MARGIN * area(current):
            best = current
        self.main_id = best.id if best else None
        return best


def apply_predictions(track: Track, raw: dict, now: float) -> None:
    dt = (now - track.answered_at) / 1000 if track.answered_at else 0.0
    track.probs = smooth(track.probs, raw, dt)
    track.answered_at = now
