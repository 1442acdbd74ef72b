"""Face detector set-ups: the size frames are searched at, and the Haar cascade file.

    python -m benchmarks.detector [--model PATH] [--runs 30]

Per set-up: faces found in the benchmark frame (one is right), p50 of that whole frame
(decode, detect, classify) and of detection alone at 2 threads, and which face sizes it
still finds: the astronaut pasted into a 640x480 frame with a face from 24 to 160 px wide.
Not a test: figures for the README.
"""

from __future__ import annotations

import argparse

import cv2
import torch
from PIL import Image

from benchmarks.common import median_ms, webcam_frame
from function.detect import CASCADE, Box, FaceDetector

CASCADES = (CASCADE, "haarcascade_frontalface_alt2.xml")
SIDES = (320, 480, 640)
FACE_WIDTHS = (24, 32, 40, 48, 64, 96, 160)


def astronaut_face() -> tuple[Image.Image, Box]:
    """The astronaut and her face box, found at full resolution."""
    from skimage import data

    im = Image.fromarray(data.astronaut())
    box = FaceDetector(CASCADE, max_side=max(im.size)).detect(im)[0]
    return im, box


def frame_with_face(width: int) -> tuple[Image.Image, Box]:
    """A 640x480 frame holding the astronaut with a face ``width`` px wide, and that box."""
    im, face = astronaut_face()
    s = width / face.width
    scaled = im.resize((round(im.size[0] * s), round(im.size[1] * s)))
    frame = Image.new("RGB", (640, 480), (90, 100, 110))
    fx, fy = round(face.x * s), round(face.y * s)
    at = (320 - fx - width // 2, 200 - fy - width // 2)
    frame.paste(scaled, at)
    return frame, Box(at[0] + fx, at[1] + fy, width, round(face.height * s))


def hit(found: list[Box], truth: Box) -> bool:
    cx, cy = truth.x + truth.width / 2, truth.y + truth.height / 2
    return len(found) == 1 and all(
        abs(b.x + b.width / 2 - cx) < truth.width / 2
        and abs(b.y + b.height / 2 - cy) < truth.height / 2 for b in found)


def main(args: argparse.Namespace) -> None:
    import os

    from function.images import decode_image
    from function.model import default_model_path, load_model
    from function.service import analyse

    torch.set_num_threads(2)
    cv2.setNumThreads(2)
    model = load_model(args.model or os.environ.get("MODEL_PATH") or default_model_path())
    jpeg = webcam_frame()
    image = decode_image(jpeg).image
    probes = [(w, *frame_with_face(w)) for w in FACE_WIDTHS]
    print("| cascade | search side px | faces in the frame | frame p50 ms | detect p50 ms | "
          "face widths found |")
    print("|---|---|---|---|---|---|")
    for cascade in CASCADES:
        for side in SIDES:
            det = FaceDetector(cascade, side)
            frame = median_ms(lambda d=det: analyse(jpeg, True, model, d), args.runs)
            detect = median_ms(lambda d=det: d.detect(image), args.runs)
            found = [str(w) for w, im, truth in probes if hit(det.detect(im), truth)]
            # A frame whose face is missed skips classification: its time is no win.
            print(f"| {cascade.removeprefix('haarcascade_frontalface_')} | {side} | "
                  f"{len(det.detect(image))} | {frame:.1f} | {detect:.1f} | "
                  f"{', '.join(found) or 'none'} |")


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None, help="model file (default: the one in models/)")
    p.add_argument("--runs", type=int, default=30)
    return p


if __name__ == "__main__":
    main(get_args_parser().parse_args())
