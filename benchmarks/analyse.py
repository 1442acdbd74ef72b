"""How fast `emotion analyse` is: in-process and over the API, and beside `fer`.

    python -m benchmarks.analyse [--seconds 20] [--model PATH] [--fer-python PATH]

Videos of one face (scikit-image's astronaut) are made here with the FFmpeg in PyAV's
wheel. Each figure comes from the command's own count (its --json-log "done" line: frames
over the seconds spent on the inputs, model and detector loading left out), with --no-plots:

1. in-process, a 640x480 30 fps video, --fps all: frames analysed per second;
2. in-process, a 1920x1080 30 fps video at --fps 5: how many times real time;
3. --api against the local server (`make run`'s code and defaults), --workers 4: frames per
   second, per worker, and what an hour of video costs on Lambda at --fps 5 (the server's
   own time per frame, Server-Timing, priced with benchmarks.cost at 3008 MB);
4. fer (PyPI; needs TensorFlow, so it runs from a virtualenv of its own, --fer-python) on
   the 640x480 video: its fer.classes.Video.analyze frames per second and the share of
   frames where it found the face, beside ours. Without --fer-python it says it did not run.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from benchmarks.common import machine
from benchmarks.cost import lambda_cost_per_million
from tools import harness, scenes

REPO = Path(__file__).resolve().parent.parent
LAMBDA_MB = 3008            # the template's MemorySize

# fer's own video analysis, as its README runs it, from its virtualenv. Headless OpenCV (the
# only kind that runs here) has no cv2.waitKey, which Video.analyze calls on every frame
# even with display=False: it is made a no-op.
FER_SCRIPT = """
import json, sys, time
import cv2
cv2.waitKey = lambda *a: -1
cv2.destroyAllWindows = lambda *a: None
from fer.fer import FER
from fer.classes import Video
detector = FER(mtcnn=False)
video = Video(sys.argv[1], outdir=sys.argv[2])
t0 = time.perf_counter()
frames = video.analyze(detector, display=False, output="pandas", save_frames=False,
                       save_video=False, annotate_frames=False, zip_images=False)
seconds = time.perf_counter() - t0
total = int(cv2.VideoCapture(sys.argv[1]).get(cv2.CAP_PROP_FRAME_COUNT))
print(json.dumps({"seconds": seconds, "rows": len(frames), "frames": total}))
"""


def hd_frames(n: int) -> list[np.ndarray]:
    """1920x1080 frames: the 640x480 ones (face 120 px) scaled 2.25x, a face ~270 px."""
    return [np.asarray(Image.fromarray(f).resize((1920, 1440))
                       .crop((0, 180, 1920, 1260))) for f in scenes.face_at_width(120, frames=n)]


def run_command(video: Path, out: Path, *args: str, model: str | None = None) -> dict:
    env = dict(os.environ, **({"MODEL_PATH": model} if model else {}))
    done = subprocess.run([sys.executable, "-m", "emotion", "analyse", str(video), "--out",
                           str(out), "--json-log", "--no-plots", "--force", *args],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"emotion analyse failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def faced_share(out: Path, name: str, frames: int) -> float:
    lines = (out / f"{name}.csv").read_text().splitlines()[1:]
    return len({line.rsplit(",", 1)[1] for line in lines}) / frames


def server_ms(base: str, video_frame: bytes, runs: int = 40) -> float:
    """The server's own time for one 640x480 frame (Server-Timing: decode, detect,
    classify), the median of ``runs``: what Lambda bills, network left out."""
    times = []
    with httpx.Client(base_url=base) as client:
        for _ in range(runs):
            r = client.post("/face", content=video_frame, headers={"Content-Type": "image/jpeg"})
            r.raise_for_status()
            times.append(sum(float(p.split("dur=")[1]) for p in
                             r.headers["Server-Timing"].split(",")))
    return statistics.median(times[5:])


def main(args: argparse.Namespace) -> None:
    model = args.model or str(sorted((REPO / "models").glob("*.pt"))[-1])
    model = str(Path(model).resolve())
    print(f"measuring here: {machine()}")
    tmp = Path(tempfile.mkdtemp(prefix="bench-analyse-"))
    n = args.seconds * 30
    t0 = time.perf_counter()
    vga = scenes.write_mp4(tmp / "vga.mp4", scenes.face_at_width(120, frames=n), fps=30)
    hd = scenes.write_mp4(tmp / "hd.mp4", hd_frames(n), fps=30)
    print(f"videos: {args.seconds} s each at 30 fps, 640x480 and 1920x1080, one face "
          f"(made in {time.perf_counter() - t0:.0f} s)\n")

    done = run_command(vga, tmp / "out-vga", "--fps", "all", model=model)
    ours_fps = done["frames"] / done["seconds"]
    ours_found = faced_share(tmp / "out-vga", "vga", done["frames"])
    print(f"in-process, 640x480, --fps all: {ours_fps:.1f} frames/s "
          f"({done['frames']} frames in {done['seconds']:.1f} s; face found in "
          f"{100 * ours_found:.1f}% of frames)")
    done = run_command(hd, tmp / "out-hd", "--fps", "5", model=model)
    print(f"in-process, 1920x1080, --fps 5: {args.seconds / done['seconds']:.1f}x real time "
          f"({done['frames']} frames in {done['seconds']:.1f} s, "
          f"{done['frames'] / done['seconds']:.1f} frames/s)")

    with harness.serve(Path(model)) as base:
        done = run_command(vga, tmp / "out-api", "--fps", "all", "--api", base,
                           "--workers", str(args.workers))
        api_fps = done["frames"] / done["seconds"]
        first = Image.fromarray(scenes.face_at_width(120, frames=1)[0])
        buf = io.BytesIO()
        first.save(buf, "JPEG", quality=90)
        ms = server_ms(base, buf.getvalue())
    print(f"--api (local server), 640x480, --fps all, --workers {args.workers}: "
          f"{api_fps:.1f} frames/s, {api_fps / args.workers:.1f} per worker "
          f"({done['retried']} retries)")
    per_million = lambda_cost_per_million(LAMBDA_MB, ms)["total"]
    hour = 5 * 3600
    print(f"deployed defaults: the server's time per 640x480 frame here {ms:.1f} ms, so at "
          f"most {1000 / ms:.0f} frames/s per worker on Lambda before network time; at "
          f"--fps 5 an hour of video is {hour:,} requests, ${hour * per_million / 1e6:.3f} "
          f"at {LAMBDA_MB} MB (${per_million:.2f} per million, benchmarks.cost's prices); "
          f"the API's 25 requests/s throttle caps one run at {25 / 5:.0f}x real time")

    fer_python = args.fer_python or os.environ.get("FER_PYTHON")
    if not fer_python:
        print("\nfer: not run. It needs TensorFlow, which this project does not install; "
              "put it in a virtualenv of its own (pip install tensorflow-cpu "
              "opencv-contrib-python-headless pandas 'moviepy<2' ffmpeg-python tqdm requests "
              "matplotlib; pip install --no-deps fer) and pass --fer-python VENV/bin/python")
        return
    script = tmp / "fer_run.py"
    script.write_text(FER_SCRIPT)
    done = subprocess.run([fer_python, str(script), str(vga), str(tmp / "fer-out")],
                          capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        print(f"\nfer: failed ({done.returncode}): {done.stderr[-1500:]}")
        return
    fer = json.loads(done.stdout.splitlines()[-1])
    print(f"\nfer {args.fer_version} (its Video.analyze, OpenCV Haar faces, Keras model), "
          f"640x480, every frame: {fer['frames'] / fer['seconds']:.1f} frames/s, face found in "
          f"{100 * fer['rows'] / fer['frames']:.1f}% of frames; ours in-process: "
          f"{ours_fps:.1f} frames/s, {100 * ours_found:.1f}%")


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=int, default=20, help="length of each test video")
    p.add_argument("--model", default=None, help="model file (default: the one in models/)")
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--fer-python", default=None,
                   help="python of a virtualenv with fer and TensorFlow (or FER_PYTHON)")
    p.add_argument("--fer-version", default="25.10.3", help="fer's version, for the line")
    return p


if __name__ == "__main__":
    main(get_args_parser().parse_args())
