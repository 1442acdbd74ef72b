"""One input through an engine (in-process or the API), its faces followed and smoothed as
the page follows them, into the page's session record."""

from __future__ import annotations

from collections.abc import Callable

from emotion.decoding import SourceError, open_source
from emotion.engine import AnalysisError
from emotion.inputs import Input
from emotion.outputs import Result
from emotion.record import Record
from emotion.tracking import MAX_FACES, Tracker, apply_predictions

# The tracker's clock (ms) is the video's time plus this: the page's clock is never 0, and
# the page takes an answer time of 0 to mean "no answer yet".
CLOCK_START_MS = 1_000_000.0


def analyse_input(inp: Input, engine, fps: float | None, max_faces: int = MAX_FACES,
                  opened: Callable[[object], None] = lambda source: None,
                  progress: Callable[[], None] = lambda: None) -> Result:
    """``opened(source)`` once it is open (its estimated_frames known), ``progress()``
    after each analysed frame. KeyboardInterrupt passes through."""
    if inp.path is None:
        return Result(inp, "failed", "does not exist")
    if inp.path.is_dir():
        return Result(inp, "failed", "is a folder with no image or video in it")
    try:
        source = open_source(inp.path, fps)
    except SourceError as e:
        return Result(inp, "failed", str(e))
    opened(source)
    record = Record(inp.path.name, source.started, engine.model_id)
    tracker = Tracker(max_faces)
    frames, error = 0, ""
    try:
        for frame, faces in engine.answers(source.frames()):
            now = CLOCK_START_MS + frame.time * 1000
            seen = tracker.detect([f["box"] for f in faces], now)
            for track, face in zip(seen, faces, strict=False):
                apply_predictions(track, face["predictions"], now)
            tracker.expire(now)
            main = tracker.main()
            for track in seen:
                record.add(frame.time, track.id, track.probs, frame.index, track is main)
            frames += 1
            progress()
    except (SourceError, AnalysisError) as e:
        error = str(e) + (f"; the {frames} frames analysed before are kept" if frames else "")
    finally:
        source.close()
    duration = round(source.duration, 3) if source.duration else None
    return Result(inp, "failed" if error else "ok", error, duration, frames,
                  len(record.faces()), record.top_emotion(), record)
