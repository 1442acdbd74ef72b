"""The pictures: per input, the page's timeline (the main face's smoothed probabilities
stacked over time) and each face's share of time per emotion; for a run of several
inputs, each input's share of time per emotion side by side."""

from __future__ import annotations

import io
import json

import matplotlib

matplotlib.use("Agg")       # files only: no display, no GUI toolkit

from matplotlib import pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from emotion.record import Record  # noqa: E402
from function.model import LABELS, LABELS_FILE  # noqa: E402

# The page's colours, from the file the page reads them from.
COLORS: dict[str, str] = json.loads(LABELS_FILE.read_text(encoding="utf-8"))["colors"]
# As the page's timeline: a band is drawn only between answers this close.
MAX_STEP_S = 2.0
MAX_ROWS = 60           # inputs drawn in summary.png


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    # No timestamp in the file: the same analysis gives the same bytes.
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _runs(samples: list) -> list[list]:
    runs, current = [], []
    for s in samples:
        if current and s.t - current[-1].t > MAX_STEP_S:
            runs.append(current)
            current = []
        current.append(s)
    return [*runs, current] if current else runs


def _shares(ax, rows: list[tuple[str, dict[str, float]]]) -> None:
    for i, (_, share) in enumerate(rows):
        left = 0.0
        for label in LABELS:
            ax.barh(i, share[label], left=left, color=COLORS[label], height=0.6)
            left += share[label]
    ax.set_yticks(range(len(rows)), [name for name, _ in rows])
    ax.set_xlim(0, 1)
    ax.invert_yaxis()


def input_figure(record: Record, title: str, duration_s: float | None = None) -> bytes:
    summary = record.summary()
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(10, 4.5 + 0.35 * max(1, len(summary))),
        gridspec_kw={"height_ratios": [3, 1 + 0.3 * max(1, len(summary))]})
    fig.suptitle(title, fontsize=11)
    main = [s for s in record.samples if s.main] or [
        s for s in record.samples if s.face == min(record.faces(), default=0)]
    if main and any(s.t != main[0].t for s in main):
        for run in _runs(main):
            ts = [s.t for s in run] if len(run) > 1 else [run[0].t, run[0].t + 0.05]
            values = [[s.probs[label] for s in run] for label in LABELS]
            if len(run) == 1:
                values = [v * 2 for v in values]
            top.stackplot(ts, values, colors=[COLORS[label] for label in LABELS])
        top.set_xlabel("seconds")
        top.set_xlim(0, max(duration_s or 0, main[-1].t))
        top.set_ylim(0, 1)
        top.set_ylabel("main face")
    else:
        top.axis("off")
        top.text(0.5, 0.5, "no face found" if not record.samples else "one picture: "
                 "no timeline", ha="center", va="center", transform=top.transAxes)
    if summary:
        photo = all(f["seconds"] == 0 for f in summary)
        if photo:   # a photo: each face's probabilities, it has no time to share
            last = {s.face: s.probs for s in record.samples}
            rows = [(f"Face #{f['face']}", last[f["face"]]) for f in summary]
        else:
            rows = [(f"Face #{f['face']} ({f['seconds']:.1f} s)", f["share"]) for f in summary]
        _shares(bottom, rows)
        bottom.set_xlabel("probability" if photo else "share of time")
    else:
        bottom.axis("off")
    handles = [plt.Rectangle((0, 0), 1, 1, color=COLORS[label]) for label in LABELS]
    fig.legend(handles, LABELS, loc="lower center", ncol=8, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return _png(fig)


def summary_figure(results: list) -> bytes:
    """Each input's main face (followed longest): share of time per emotion."""
    rows = []
    for r in results:
        share = dict.fromkeys(LABELS, 0.0)
        if r.record is not None and r.record.samples:
            lead = max(r.record.summary(), key=lambda f: (f["seconds"], f["answers"]))
            share = lead["share"] if lead["seconds"] else {
                label: float(label == r.top_emotion) for label in LABELS}
        rows.append((f"{r.input.name} ({r.status})", share))
    if len(rows) > MAX_ROWS:    # a folder of photos: the picture stays readable
        rows = rows[:MAX_ROWS]
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.4 * len(rows)))
    if len(results) > MAX_ROWS:
        ax.set_title(f"the first {MAX_ROWS} of {len(results)} inputs (all in summary.csv)")
    _shares(ax, rows)
    ax.set_xlabel("share of time, the face followed longest")
    handles = [plt.Rectangle((0, 0), 1, 1, color=COLORS[label]) for label in LABELS]
    fig.legend(handles, LABELS, loc="lower center", ncol=8, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return _png(fig)
