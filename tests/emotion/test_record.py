"""The exports are the page's (site/session.js): its CSV columns and numbers, plus frame,
and its summary, both computed by the page's own code under Node on the same samples."""

from __future__ import annotations

import random

from emotion.record import CSV_COLUMNS, Record, iso_utc, js_round
from function.model import LABELS
from tests.emotion import page


def test_csv_and_summary_are_the_pages(tmp_path):
    rng = random.Random(5)
    started_ms = 1_764_806_400_123
    record = Record("interview.mp4", iso_utc(started_ms / 1000), "m@1")
    samples, t = [], 0.0
    for frame in range(300):
        t += rng.choice([1 / 15, 1 / 15, 0.2, 1.7])     # with gaps over MAX_GAP_S
        for face in (1, 2) if frame % 7 else (1,):
            raw = [rng.random() ** 2 for _ in LABELS]
            probs = {k: v / sum(raw) for k, v in zip(LABELS, raw, strict=True)}
            record.add(t, face, probs, frame)
            samples.append({"t": t, "face": face, "probs": probs})
    theirs = page.session("interview.mp4", started_ms, samples, tmp_path)

    ours = record.csv().splitlines()
    assert ours[0].split(",") == list(CSV_COLUMNS) and CSV_COLUMNS[-1] == "frame"
    # Every column the page writes, as it writes it; then the frame.
    assert [line.rsplit(",", 1)[0] for line in ours] == theirs["csv"].splitlines()
    assert [line.rsplit(",", 1)[1] for line in ours[1:]] == [
        str(f) for f in range(300) for _ in ((1, 2) if f % 7 else (1,))]
    assert record.summary() == theirs["summary"]


def test_rounding_goes_half_up_as_javascript():
    assert js_round(0.00005, 4) == 0.0001 and round(0.125, 2) == 0.12
    assert js_round(0.125, 2) == 0.13


def test_top_emotion_is_the_longest_followed_face_s():
    record = Record("x", iso_utc(0))
    sad = dict.fromkeys(LABELS, 0.0) | {"Sadness": 1.0}
    happy = dict.fromkeys(LABELS, 0.0) | {"Happiness": 1.0}
    for i in range(10):
        record.add(i * 0.2, 1, sad, i)
    for i in range(30):
        record.add(i * 0.2, 2, happy, i)
    assert record.top_emotion() == "Happiness"
    assert Record("y", iso_utc(0)).top_emotion() == ""
