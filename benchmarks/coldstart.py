"""Lambda cold start, measured through the real runtime path without Docker: from spawning
the Runtime Interface Emulator (plus awslambdaric and function.handler) to the first answer
of a real POST /face event, repeated in fresh processes.

    .venv/bin/python -m benchmarks.coldstart [--runs 3] [--model PATH] [--threads 2]
                                             [--precision auto|fp32|bf16|int8]

The model: --model, else MODEL_PATH, else the one shipped in models/. What this does not
include, and Lambda's cold start does: pulling the image's layers onto a worker (Lambda
caches them; the first start after a deploy is the slowest) and starting the micro-VM.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

from benchmarks.common import machine
from tools.lambda_local import ROOT, LambdaError, LocalLambda

EVENT = ROOT / "events" / "face-http-api.json"


def find_model(arg: str | None) -> Path:
    from function.model import default_model_path

    try:
        path = Path(arg) if arg else default_model_path()
    except FileNotFoundError as exc:      # no model in models/: say how to get one
        sys.exit(str(exc))
    if not path.is_file():
        sys.exit(f"model file {path} does not exist")
    return path.resolve()


def report_duration(logs: str) -> float | None:
    """Duration of the first REPORT line: RIE counts init (imports, model load) in it."""
    m = re.search(r"REPORT RequestId: \S+.*?\tDuration: ([\d.]+) ms", logs)
    return float(m[1]) if m else None


def one_cold_start(model: Path, event: bytes, env: dict[str, str]) -> dict[str, float]:
    fn = LocalLambda(env={"MODEL_PATH": str(model), **env}, timeout_s=120)
    with fn:
        ready = time.perf_counter()
        first = fn.invoke(event)
        answered = time.perf_counter()
        if first.get("statusCode") != 200:
            raise SystemExit(f"POST /face answered {first.get('statusCode')}: {first.get('body')}")
        fn.invoke(event)
        warm = time.perf_counter() - answered
        logs = fn.logs()
    return {"total": answered - fn.started_at, "emulator_up": ready - fn.started_at,
            "first_invoke": answered - ready, "rie_duration": (report_duration(logs) or 0) / 1e3,
            "warm": warm}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=3)
    parser.add_argument("--model", help="TorchScript model file (default: MODEL_PATH, models/)")
    parser.add_argument("--event", type=Path, default=EVENT)
    parser.add_argument("--threads", type=int, default=2, help="TORCH_THREADS for the "
                        "function (default 2: Lambda above 1,769 MB has 2 vCPUs; 0: all CPUs)")
    parser.add_argument("--precision", help="MODEL_PRECISION for the function (default: "
                        "the caller's MODEL_PRECISION, else auto)")
    args = parser.parse_args(argv)
    model = find_model(args.model)
    event = args.event.read_bytes()
    precision = args.precision or os.environ.get("MODEL_PRECISION", "auto")
    env = {"TORCH_THREADS": str(args.threads), "MODEL_PRECISION": precision}
    print(f"machine: {machine()}")
    print(f"model:   {model} ({model.stat().st_size / 1e6:.1f} MB)")
    print(f"event:   {args.event}; TORCH_THREADS={args.threads}, "
          f"MODEL_PRECISION={precision}")
    print("run  cold start = emulator up + first invoke  (RIE's REPORT)  then warm")
    totals = []
    for i in range(1, args.runs + 1):
        try:
            r = one_cold_start(model, event, env)
        except LambdaError as exc:
            sys.exit(f"the function failed: {exc}")
        totals.append(r["total"])
        print(f"{i:>3}  {r['total']:8.2f} s = {r['emulator_up']:9.2f} s "
              f"+ {r['first_invoke']:9.2f} s  ({r['rie_duration']:.2f} s)  "
              f"{r['warm'] * 1e3:9.0f} ms", flush=True)
    print(f"median cold start: {statistics.median(totals):.2f} s over {len(totals)} runs "
          "(run 1 may include a cold disk cache)")
    print(json.dumps({"median_s": round(statistics.median(totals), 3),
                      "runs_s": [round(t, 3) for t in totals]}))


if __name__ == "__main__":
    main()
