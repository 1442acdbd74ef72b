"""The page's session record (site/session.js) for one input: one sample per face per
analysed frame, its CSV and JSON exports (the page's columns plus ``frame``) and its
summary, each face's share of time per emotion."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

from emotion.tracking import top_label
from function.model import LABELS

# A face unseen for longer than this between two answers was away: the gap is not counted
# as time in its last emotion.
MAX_GAP_S = 1.0
CSV_COLUMNS = ("started", "time_s", "face", *LABELS, "label", "frame")


def js_round(x: float, digits: int) -> float:
    """Math.round(x * 10^d) / 10^d: halves go up, as the page rounds (round() would go to
    the even neighbour)."""
    return math.floor(x * 10 ** digits + 0.5) / 10 ** digits


def iso_utc(timestamp: float) -> str:
    """As JavaScript's Date.toISOString(): UTC, milliseconds, a Z."""
    t = datetime.fromtimestamp(timestamp, UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


@dataclass
class Sample:
    t: float
    face: int
    probs: dict[str, float]
    label: str
    frame: int
    main: bool = False          # the face the page's timeline would show at this frame


@dataclass
class Record:
    source: str                 # the file's name, as the page's export names a file
    started: str                # when the recording was made (iso_utc)
    model: str = ""
    samples: list[Sample] = field(default_factory=list)

    def add(self, t: float, face: int, probs: dict[str, float], frame: int,
            main: bool = False) -> None:
        kept = {label: js_round(probs[label], 4) for label in LABELS}
        self.samples.append(Sample(js_round(t, 3), face, kept, top_label(probs), frame, main))

    def faces(self) -> list[int]:
        return sorted({s.face for s in self.samples})

    def summary(self) -> list[dict]:
        """Per face: answers, seconds followed and the share of that time per emotion."""
        by_face: dict[int, list[Sample]] = {}
        for s in self.samples:
            by_face.setdefault(s.face, []).append(s)
        out = []
        for face, samples in by_face.items():
            seconds = dict.fromkeys(LABELS, 0.0)
            for i, s in enumerate(samples):
                other = samples[i + 1] if i + 1 < len(samples) else (
                    samples[i - 1] if i > 0 else None)
                step = abs(other.t - s.t) if other else 0.0
                seconds[s.label] += min(MAX_GAP_S, step)
            total = sum(seconds[label] for label in LABELS)
            share = {label: js_round(seconds[label] / total if total else 0.0, 4)
                     for label in LABELS}
            out.append({"face": face, "answers": len(samples), "seconds": js_round(total, 3),
                        "share": share})
        return out

    def top_emotion(self) -> str:
        """The emotion the face followed longest spent most time in ('' with no face); a
        face seen once (a photo) gives its label."""
        summary = self.summary()
        if not summary:
            return ""
        lead = max(summary, key=lambda f: (f["seconds"], f["answers"], -f["face"]))
        if lead["seconds"] > 0:
            return top_label(lead["share"])
        return next(s.label for s in reversed(self.samples) if s.face == lead["face"])

    def csv(self) -> str:
        rows = [",".join(CSV_COLUMNS)]
        for s in self.samples:
            rows.append(",".join([self.started, f"{s.t:.3f}", str(s.face),
                                  *(f"{s.probs[label]:.4f}" for label in LABELS),
                                  s.label, str(s.frame)]))
        return "\n".join(rows) + "\n"

    def json(self, **extra: object) -> str:
        """The page's JSON export (source, started, model, labels, samples, summary), each
        sample with its frame, and ``extra`` (what this tool adds: status, duration...)."""
        return json.dumps({
            "source": self.source, "started": self.started, "model": self.model,
            "labels": list(LABELS),
            "samples": [{"t": s.t, "face": s.face, "probs": s.probs, "label": s.label,
                         "frame": s.frame} for s in self.samples],
            "summary": self.summary(), **extra}, indent=1) + "\n"
