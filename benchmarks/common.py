"""What every benchmark shares: the timing loop, the test frame, and the line that says
which machine the figures come from (they mean nothing without it)."""

from __future__ import annotations

import io
import os
import platform
import statistics
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from PIL import Image


def median_ms(fn: Callable[[], object], runs: int, warmup: int = 5) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def percentile(values: list[float], q: int) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def webcam_frame() -> bytes:
    """A 640x480 JPEG with one face, as a webcam sends: the astronaut, pasted at 400 px."""
    from skimage import data

    frame = Image.new("RGB", (640, 480), (90, 100, 110))
    frame.paste(Image.fromarray(data.astronaut()).resize((400, 400)), (120, 40))
    buf = io.BytesIO()
    frame.save(buf, "JPEG", quality=85)
    return buf.getvalue()


# The page's face crop (site/requests.js: CROP_SIDE, CROP_QUALITY), posted as it posts it:
# the JPEG itself, image/jpeg, to /face?detect=false (site/api.js postFace).
CROP_PATH = "/face?detect=false"
CROP_HEADERS = {"Content-Type": "image/jpeg"}


def face_crop_jpeg() -> bytes:
    """The page's crop request body: the astronaut's face, 160x160 px, JPEG quality 85."""
    from skimage import data

    face = Image.fromarray(data.astronaut()).crop((130, 30, 350, 250)).resize((160, 160))
    buf = io.BytesIO()
    face.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def machine() -> str:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{cpus} CPUs, {model}; load average {load} (other work on the machine inflates "
            f"every figure); Python {platform.python_version()}, torch {metadata.version('torch')}")
