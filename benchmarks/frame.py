"""Warm latency of one 640x480 JPEG webcam frame with one face: decode / detect / classify.

    python -m benchmarks.frame [--threads 2] [--runs 200] [--model PATH]
                               [--precision auto|fp32|bf16]

Not a test: it prints figures for docs/performance.md (machines are noisy).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import function  # noqa: F401 - first: it sets torch's OpenMP spin-wait before torch loads
from benchmarks.common import machine, percentile, webcam_frame


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=200)
    p.add_argument("--model", default=None)
    p.add_argument("--precision", default=None, help="MODEL_PRECISION for the classifier")
    args = p.parse_args()
    if args.precision:
        os.environ["MODEL_PRECISION"] = args.precision
    os.environ["TORCH_THREADS"] = str(args.threads)
    if args.model:
        os.environ["MODEL_PATH"] = args.model
    import cv2

    # torch's threads are TORCH_THREADS, set where it runs (function/inference.py).
    from function.handler import INFERENCE, get_detector, get_model
    from function.service import analyse

    cv2.setNumThreads(args.threads)
    model, detector = get_model(), get_detector()
    jpeg = webcam_frame()
    for _ in range(20):
        INFERENCE.run(analyse, jpeg, True, model, detector)
    parts: dict[str, list[float]] = {"decode": [], "detect": [], "classify": [], "total": []}
    for _ in range(args.runs):
        t0 = time.perf_counter()
        # Where the API runs it (function/inference.py): torch's own thread.
        result = INFERENCE.run(analyse, jpeg, True, model, detector)
        parts["total"].append((time.perf_counter() - t0) * 1e3)
        for k, v in result.timings_ms.items():
            parts[k].append(v)
    assert result.faces == 1, "the benchmark frame must show one face"
    print(f"model {model.info.id} in {model.precision}, detector {detector.name}, "
          f"GOMP_SPINCOUNT {os.environ.get('GOMP_SPINCOUNT')}, {args.threads} threads, "
          f"{args.runs} runs, {len(jpeg) // 1024} KiB JPEG 640x480\n{machine()}")
    for k, v in parts.items():
        print(f"{k:>9}: p50 {statistics.median(v):6.1f} ms   p99 {percentile(v, 99):6.1f} ms")


if __name__ == "__main__":
    main()
