"""What a million frames cost on Lambda, next to managed face-emotion APIs' list prices.

    python -m benchmarks.cost [--ms 40 [--ms-2threads 30]] [--model PATH] [--runs 30]

--ms is the time one request takes at 1 vCPU (1769 MB). Without it, a quick benchmark
measures it here, through the app (FastAPI included, network excluded), for a webcam frame
with detection and for a 160 px face crop (what the page sends), at 1 and 2 threads.
Lambda's CPU share grows with memory (1 vCPU at 1769 MB), so at more memory the duration
is assumed to move from the 1-thread to the 2-thread time as the share reaches 2 vCPUs.
Lambda's own CPU is not this machine's: treat the figures as estimates.
"""

from __future__ import annotations

import argparse
import math
import os

# --- list prices (USD), read November 2026; check before quoting ---------------------------
# AWS Lambda, x86, us-east-1 (aws.amazon.com/lambda/pricing): duration per GB-second of the
# first 6 billion GB-s a month, and per request. Free tier ignored.
LAMBDA_GB_SECOND = 0.0000166667
LAMBDA_PER_MILLION_REQUESTS = 0.20
LAMBDA_MB_PER_VCPU = 1769
# Amazon API Gateway HTTP API, us-east-1 (aws.amazon.com/api-gateway/pricing): first 300
# million requests a month.
HTTP_API_PER_MILLION = 1.00
# Amazon Rekognition Image, DetectFaces with Attributes=ALL (emotions included), us-east-1
# (aws.amazon.com/rekognition/pricing): $1.00 per 1000 images for the first 1 million a
# month (lower tiers beyond).
REKOGNITION_PER_1000 = 1.00
# Google Cloud Vision FACE_DETECTION (cloud.google.com/vision/pricing): first 1000 units a
# month free, then $1.50 per 1000 units (up to 5 million a month). Returns joy, sorrow,
# anger and surprise as likelihood buckets, not eight probabilities.
GOOGLE_VISION_PER_1000 = 1.50
GOOGLE_VISION_FREE_UNITS = 1000
# Azure AI Face: the emotion attribute was retired (announced 21 June 2022 with Microsoft's
# Responsible AI Standard; closed to new customers then, to existing ones in June 2023).
AZURE_EMOTION = "retired in 2022: no emotion attribute to buy"

MEMORY_SIZES_MB = (1769, 2048, 3008)


def duration_ms(mb: int, ms_1: float, ms_2: float | None) -> float:
    """Estimated duration at ``mb`` of memory, from the 1- and 2-thread times."""
    vcpus = mb / LAMBDA_MB_PER_VCPU
    if vcpus <= 1:
        return ms_1 / vcpus              # throttled below one full vCPU
    if ms_2 is None or ms_2 >= ms_1:     # no speed-up measured: more memory buys nothing
        return ms_1
    return ms_1 + (ms_2 - ms_1) * min(1.0, vcpus - 1)


def lambda_cost_per_million(mb: int, ms: float) -> dict[str, float]:
    billed_s = math.ceil(ms) / 1e3       # Lambda bills whole milliseconds
    compute = 1e6 * (mb / 1024) * billed_s * LAMBDA_GB_SECOND
    return {"compute": compute, "requests": LAMBDA_PER_MILLION_REQUESTS,
            "gateway": HTTP_API_PER_MILLION,
            "total": compute + LAMBDA_PER_MILLION_REQUESTS + HTTP_API_PER_MILLION}


def managed_per_million() -> dict[str, float | str]:
    return {"AWS Rekognition DetectFaces (emotions)": REKOGNITION_PER_1000 * 1000,
            "Google Cloud Vision face detection":
                GOOGLE_VISION_PER_1000 * (1e6 - GOOGLE_VISION_FREE_UNITS) / 1000,
            "Azure AI Face emotion": AZURE_EMOTION}


def _measure_here(runs: int) -> dict[str, float]:
    """p50 ms per request through the app in this process (TORCH_THREADS already set)."""

    import cv2
    from fastapi.testclient import TestClient

    from benchmarks.common import CROP_HEADERS, CROP_PATH, face_crop_jpeg, median_ms, webcam_frame
    from function.handler import app

    frame, crop = webcam_frame(), face_crop_jpeg()
    cv2.setNumThreads(int(os.environ["TORCH_THREADS"]))   # the detector, like torch
    out = {}
    # As a context manager the client keeps one event loop, so requests reuse the app's
    # pool threads as a server does (else each request starts new threads, cold).
    with TestClient(app) as client:
        calls = {"frame (640x480, detect)": lambda: client.post(
                     "/face", content=frame, headers={"Content-Type": "image/jpeg"}),
                 "face crop (160 px)": lambda: client.post(
                     CROP_PATH, content=crop, headers=CROP_HEADERS)}
        for name, call in calls.items():
            for _ in range(5):
                assert call().status_code == 200
            out[name] = median_ms(call, runs, warmup=0)
    return out


def measure(model: str | None, runs: int) -> dict[str, tuple[float, float]]:
    """p50 ms per request through the app, at 1 and 2 threads: frame and face crop.

    Each thread count gets a fresh process, as a Lambda instance would: torch fixes a
    worker thread's OpenMP thread count the first time that thread runs an operator, so
    changing it later in one process leaves the app's pool threads where they were."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    if model:
        os.environ["MODEL_PATH"] = model
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")   # no log line per request
    found = []
    for threads in (1, 2):
        os.environ["TORCH_THREADS"] = str(threads)   # read when function.handler loads
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            found.append(pool.submit(_measure_here, runs).result())
    return {name: (found[0][name], found[1][name]) for name in found[0]}


def print_costs(name: str, ms_1: float, ms_2: float | None) -> None:
    two = f", {ms_2:.1f} ms at 2 threads" if ms_2 is not None else ""
    print(f"\n{name}: {ms_1:.1f} ms at 1 thread{two}")
    print("| Lambda memory | vCPUs | est. duration ms | compute $ | requests $ | "
          "HTTP API $ | total $ per 1M |")
    print("|---|---|---|---|---|---|---|")
    for mb in MEMORY_SIZES_MB:
        ms = duration_ms(mb, ms_1, ms_2)
        c = lambda_cost_per_million(mb, ms)
        print(f"| {mb} MB | {mb / LAMBDA_MB_PER_VCPU:.2f} | {ms:.1f} | {c['compute']:.2f} | "
              f"{c['requests']:.2f} | {c['gateway']:.2f} | {c['total']:.2f} |")


def main(args: argparse.Namespace) -> None:
    if args.ms:
        workloads = {"given": (args.ms, args.ms_2threads)}
    else:
        from benchmarks.common import machine

        print(f"measuring here: {machine()}")
        workloads = measure(args.model, args.runs)
    for name, (ms_1, ms_2) in workloads.items():
        print_costs(name, ms_1, ms_2)
    print("\nManaged APIs, list price per 1M images (one month, first tier):")
    for name, price in managed_per_million().items():
        print(f"- {name}: " + (f"${price:,.2f}" if isinstance(price, float) else price))


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ms", type=float, default=None, help="ms per request at 1 vCPU")
    p.add_argument("--ms-2threads", type=float, default=None, help="ms at 2 vCPUs")
    p.add_argument("--model", default=None, help="model file (default: the one in models/)")
    p.add_argument("--runs", type=int, default=30)
    return p


if __name__ == "__main__":
    main(get_args_parser().parse_args())
