"""Writing the outputs: per input DIR/<name>.csv, .json and .png, then DIR/summary.csv
(and summary.png). Every file is written under a temporary name and renamed when whole,
the JSON last: an input whose JSON says ``ok`` is finished (what --resume skips)."""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

from emotion.inputs import Input
from emotion.record import Record, Sample

SUMMARY_COLUMNS = ("input", "status", "error", "duration_s", "frames", "faces", "top_emotion")
SUMMARY_CSV, SUMMARY_PNG = "summary.csv", "summary.png"


@dataclass
class Result:
    input: Input
    status: str                 # "ok" or "failed"
    error: str = ""
    duration_s: float | None = None
    frames: int = 0
    faces: int = 0
    top_emotion: str = ""
    record: Record | None = None

    def row(self) -> dict[str, str]:
        return {"input": self.input.given, "status": self.status, "error": self.error,
                "duration_s": "" if self.duration_s is None else f"{self.duration_s:.3f}",
                "frames": str(self.frames), "faces": str(self.faces),
                "top_emotion": self.top_emotion}


def paths(out: Path, name: str) -> dict[str, Path]:
    return {kind: out / f"{name}.{kind}" for kind in ("csv", "png", "json")}


def atomic_write(path: Path, data: str | bytes) -> None:
    """``data`` at ``path``, whole or not at all: written beside it under a hidden
    temporary name, then renamed over it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def existing(out: Path, inputs: list[Input]) -> list[Path]:
    """Outputs of these inputs (and the summary) already in ``out``."""
    found = [out / SUMMARY_CSV, out / SUMMARY_PNG]
    for inp in inputs:
        found += paths(out, inp.name).values()
    return [p for p in found if p.exists()]


def write_input(out: Path, result: Result, plot: bool) -> None:
    record = result.record
    if record is None:
        return
    p = paths(out, result.input.name)
    atomic_write(p["csv"], record.csv())
    if plot:
        from emotion.plots import input_figure

        atomic_write(p["png"], input_figure(record, result.input.given, result.duration_s))
    extra = {"input": result.input.given, "status": result.status, "error": result.error,
             "duration_s": result.duration_s, "frames": result.frames, "faces": result.faces,
             "top_emotion": result.top_emotion}
    atomic_write(p["json"], record.json(**extra))


def finished(out: Path, inp: Input, plot: bool) -> Result | None:
    """The result of an input analysed before, if all its outputs are there and it went
    through (a failed one is tried again)."""
    p = paths(out, inp.name)
    if not p["json"].exists() or not p["csv"].exists() or (plot and not p["png"].exists()):
        return None
    try:
        data = json.loads(p["json"].read_text())
        if data.get("status") != "ok" or data.get("input") != inp.given:
            return None
        record = Record(data["source"], data["started"], data["model"],
                        [Sample(s["t"], s["face"], s["probs"], s["label"], s["frame"])
                         for s in data["samples"]])
        return Result(inp, "ok", "", data["duration_s"], data["frames"], data["faces"],
                      data["top_emotion"], record)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_summary(out: Path, results: list[Result], plot: bool) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, SUMMARY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(r.row() for r in results)
    atomic_write(out / SUMMARY_CSV, buf.getvalue())
    if plot and len(results) > 1:
        from emotion.plots import summary_figure

        atomic_write(out / SUMMARY_PNG, summary_figure(results))
