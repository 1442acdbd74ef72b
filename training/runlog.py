"""A training run's figures per epoch, as a Markdown table for the model card, from the
``log.jsonl`` that training.train writes beside its checkpoints.

    python -m training.runlog runs/mix5               # every epoch
    python -m training.runlog runs/mix5 --recall       # and the chosen epoch's recall
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

SHORT = {"ferplus": "FER2013Valid", "affectnet_contempt": "contempt"}


def read_log(run: str | Path) -> list[dict]:
    path = Path(run) / "log.jsonl"
    if not path.is_file():
        raise SystemExit(f"{path} not found: expected a training.train output folder")
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    # A resumed run may repeat an epoch it had logged before stopping: the last one counts.
    return list({r["epoch"]: r for r in rows}.values())


def table(rows: list[dict]) -> str:
    sets = list(rows[0]["valid"]) if rows else []
    head = ["epoch", "weights", "mean UAR", *(f"{SHORT.get(s, s)} acc / UAR" for s in sets),
            "worst →Con"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        v = r["valid"]
        cells = [str(r["epoch"]), r["which"], f"{max(r['score'], r['score_ema']):.4f}"]
        cells += [f"{100 * v[s]['accuracy']:.1f}% / {100 * v[s]['uar']:.1f}" for s in sets]
        cells.append(f"{100 * max(v[s]['false_contempt'] for s in sets):.1f}%")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def recall_table(row: dict) -> str:
    lines = [f"Recall per class, epoch {row['epoch']} ({row['which']} weights):", ""]
    for s, v in row["valid"].items():
        per = ", ".join(f"{k[:3]} {100 * x:.0f}" for k, x in v["recall"].items())
        lines.append(f"- {SHORT.get(s, s)}: {per}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", help="a training.train --output-dir")
    p.add_argument("--recall", action="store_true", help="also the best epoch's recall")
    args = p.parse_args(argv)
    rows = read_log(args.run)
    print(table(rows))
    if args.recall and rows:
        print()
        print(recall_table(max(rows, key=lambda r: max(r["score"], r["score_ema"]))))


if __name__ == "__main__":
    main()
