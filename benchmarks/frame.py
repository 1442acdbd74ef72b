"""Warm latency of one 640x480 JPEG webcam frame with one face: decode / detect / classify.

    python -m benchmarks.frame [--threads 2] [--runs 200] [--model PATH]

Not a test: it prints figures for the README (machines are noisy).
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import time

import cv2
import torch
from PIL import Image


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def webcam_frame() -> bytes:
    from skimage import data

    frame = Image.new("RGB", (640, 480), (90, 100, 110))
    frame.paste(Image.fromarray(data.astronaut()).resize((400, 400)), (120, 40))
    buf = io.BytesIO()
    frame.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=200)
    p.add_argument("--model", default=None)
    args = p.parse_args()
    os.environ["TORCH_THREADS"] = str(args.threads)
    if args.model:
        os.environ["MODEL_PATH"] = args.model
    from function.handler import get_detector, get_model
    from function.service import analyse

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    model, detector = get_model(), get_detector()
    jpeg = webcam_frame()
    for _ in range(20):
        analyse(jpeg, True, model, detector)
    parts: dict[str, list[float]] = {"decode": [], "detect": [], "classify": [], "total": []}
    for _ in range(args.runs):
        t0 = time.perf_counter()
        result = analyse(jpeg, True, model, detector)
        parts["total"].append((time.perf_counter() - t0) * 1e3)
        for k, v in result.timings_ms.items():
            parts[k].append(v)
    assert result.faces == 1, "the benchmark frame must show one face"
    print(f"model {model.info.id}, {args.threads} threads, {args.runs} runs, "
          f"{len(jpeg) // 1024} KiB JPEG 640x480, {os.cpu_count()} CPUs: {cpu_name()}")
    for k, v in parts.items():
        print(f"{k:>9}: p50 {statistics.median(v):6.1f} ms   p99 {percentile(v, 99):6.1f} ms")


if __name__ == "__main__":
    main()
