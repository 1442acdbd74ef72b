"""The port of the page's tracker and smoothing gives the page's face ids, main face and
smoothed probabilities: both run on the same detection sequences (the page's under Node)."""

from __future__ import annotations

import random

import pytest

from emotion.tracking import MAX_FACES, Tracker, apply_predictions, match_boxes
from function.model import LABELS
from tests.emotion import page


def random_steps(seed: int, n: int = 400) -> list[dict]:
    """Faces that drift, come and go, are missed for a frame or several, overlap, and
    sometimes outnumber MAX_FACES; frames 33 ms to 0.8 s apart."""
    rng = random.Random(seed)
    faces: list[dict] = []
    now, steps = 1000.0, []
    for _ in range(n):
        now += rng.choice([33.3, 33.4, 66.7, 200.0, rng.uniform(10, 800)])
        if rng.random() < 0.08 or not faces:
            faces.append({"x": rng.uniform(0, 560), "y": rng.uniform(0, 400),
                          "s": rng.uniform(30, 160)})
        if rng.random() < 0.05 and faces:
            faces.pop(rng.randrange(len(faces)))
        for f in faces:
            f["x"] += rng.gauss(0, 6 if rng.random() < 0.9 else 60)
            f["y"] += rng.gauss(0, 4)
            f["s"] = max(12, f["s"] * rng.uniform(0.95, 1.05))
        seen = [f for f in faces if rng.random() > 0.15]
        boxes = sorted(({"x": round(f["x"]), "y": round(f["y"]), "width": round(f["s"]),
                         "height": round(f["s"] * 1.05)} for f in seen),
                       key=lambda b: -b["width"] * b["height"])
        predictions = []
        for _ in boxes[:MAX_FACES]:
            raw = [rng.random() ** 3 for _ in LABELS]
            predictions.append({k: round(v / sum(raw), 4) for k, v in zip(LABELS, raw,
                                                                            strict=True)})
        steps.append({"now": now, "boxes": boxes, "predictions": predictions})
    return steps


def python_track(steps: list[dict]) -> list[dict]:
    tracker, out = Tracker(), []
    for step in steps:
        seen = tracker.detect(step["boxes"], step["now"])
        for track, raw in zip(seen, step["predictions"], strict=True):
            apply_predictions(track, raw, step["now"])
        tracker.expire(step["now"])
        main = tracker.main()
        out.append({"ids": [t.id for t in seen], "main": main.id if main else None,
                    "probs": [t.probs for t in seen]})
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_same_ids_main_face_and_smoothing_as_the_page(seed, tmp_path):
    steps = random_steps(seed)
    ours, theirs = python_track(steps), page.track(steps, tmp_path)
    assert len(ours) == len(theirs)
    # The sequence exercises what matters: new faces, lost faces, and the cap.
    assert max(max(s["ids"], default=0) for s in ours) > 10
    assert any(len(s["boxes"]) > MAX_FACES for s in steps)
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert a["ids"] == b["ids"], (i, a["ids"], b["ids"])
        assert a["main"] == b["main"], i
        for pa, pb in zip(a["probs"], b["probs"], strict=True):
            assert all(abs(pa[k] - pb[k]) < 1e-12 for k in LABELS), i


def test_a_face_is_matched_to_the_track_it_overlaps_most():
    tracks = Tracker()
    tracks.detect([{"x": 0, "y": 0, "width": 100, "height": 100},
                   {"x": 300, "y": 0, "width": 100, "height": 100}], 0)
    boxes = [{"x": 290, "y": 5, "width": 100, "height": 100},
             {"x": 500, "y": 0, "width": 50, "height": 50}]
    assert match_boxes(tracks.tracks, boxes) == [1, -1]
