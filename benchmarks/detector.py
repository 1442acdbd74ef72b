"""The shipped face detector on pictures the benchmark makes itself: recall per face size,
false boxes, and ms per picture, decode included, at 640x480, 1920x1080 (either way up),
4000x3000 and 6000x4000.

    python -m benchmarks.detector [--data ../shared/data] [--per-size 60] [--runs 30]
                                  [--pictures 1920x1080 ...]

Faces: the heads of ``taiwanese/valid`` (studio portraits, 259) and scikit-image's
astronaut, pasted into face-free pictures (scikit-image's coffee, chelsea, rocket,
hubble_deep_field, coins, page, immunohistochemistry, colorwheel, resized to the picture
size) at a random place, in-plane rotation (within +-30 degrees) and lighting (gain
0.5-1.5, gamma 0.7-1.4), seeded, up to three faces a picture (heads apart), from under the
size's smallest face (function.detect.smallest_face) to a third of its height and more. The
true face box is OpenCV's Haar cascade's on the upright source picture at full size, moved
with the paste: a labeller independent of the detector measured. A detection finds a face
when its centre is within half a face width of the true centre and its width within 0.5-2x;
false boxes are every box on the face-free pictures alone, and boxes that match no face.

Each picture is sent as a JPEG (quality 90) and read as the API reads it
(function.images.decode_image: reduced where JPEG decoding allows, EXIF-upright), boxes
back in the sent pixels. Time: p50 of decode and detection together, per picture, at 2
threads (the classifier's time per face comes on top: benchmarks.frame). Not a test:
figures for the README and docs/detection.md. The comparison with other detectors that
chose this one is in docs/face-detection-history.md (its code: git tag experiments-2026-12).
"""
from __future__ import annotations

import argparse
import io
import math
import random
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter

from benchmarks.common import machine
from function.detect import Box, FaceDetector, smallest_face
from function.images import decode_image

FRAME = (640, 480)
FACE_WIDTHS = (32, 40, 48, 64, 96, 128, 192, 256, 320)
MAX_TILT = 30
BACKGROUNDS = ("coffee", "chelsea", "rocket", "hubble_deep_field", "coins", "page",
               "immunohistochemistry", "colorwheel")
# Face widths measured in each larger picture: from under its smallest face to the largest
# that fits turned in it.
PICTURES = {
    (640, 480): FACE_WIDTHS,
    (1920, 1080): (32, 40, 48, 64, 80, 96, 128, 192, 256, 384, 512),
    (1080, 1920): (32, 40, 48, 64, 80, 96, 128, 192, 256, 384, 512),
    (4000, 3000): (48, 64, 80, 96, 128, 192, 256, 384, 512, 768, 1024),
    (6000, 4000): (64, 90, 128, 192, 256, 384, 512, 768, 1024, 1536),
}
FACES_PER_PICTURE = 3
JPEG_QUALITY = 90


def backgrounds(size: tuple[int, int] = FRAME) -> list[Image.Image]:
    from skimage import data

    return [Image.fromarray(getattr(data, name)()).convert("RGB").resize(size, Image.BICUBIC)
            for name in BACKGROUNDS]


# OpenCV's Haar cascade (its weights ship in the 4.x opencv-python-headless wheel) labels the
# true boxes: the API's detector before BlazeFace, and independent of the one measured.
CASCADE = "haarcascade_frontalface_default.xml"


def haar_faces(im: Image.Image) -> list[Box]:
    cascade = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / CASCADE))
    if cascade.empty():
        raise RuntimeError(f"cannot load the face cascade {CASCADE}")
    gray = cv2.equalizeHist(np.asarray(im.convert("L")))
    found = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(26, 26))
    h, w = gray.shape
    return [Box(int(x), int(y), min(int(bw), w - int(x)), min(int(bh), h - int(y)))
            for x, y, bw, bh in found]


def sources(data_dir: Path) -> list[tuple[Image.Image, Box]]:
    """Pictures with exactly one face the cascade finds upright at full size, and its box."""
    from skimage import data

    pictures = [Image.fromarray(data.astronaut())]
    pictures += [Image.open(p).convert("RGB")
                 for p in sorted((data_dir / "taiwanese" / "valid").glob("*.jpg"))]
    out = []
    for im in pictures:
        big = im.resize((im.width * 2, im.height * 2), Image.BICUBIC) if im.width < 400 else im
        found = haar_faces(big)
        if len(found) == 1:
            out.append((im, found[0].scaled(im.width / big.width)))
    return out


def paste(bg: Image.Image, src: Image.Image, face: Box, width: int,
          rng: random.Random, into: Image.Image | None = None,
          avoid: list[Box] = ()) -> tuple[Image.Image, Box] | None:
    """``src`` pasted on a copy of ``bg`` (or on ``into``) with its face ``width`` px wide,
    and the true box; None when no place keeps its head off the faces in ``avoid``."""
    s = width / face.width
    im = src.resize((max(1, round(src.width * s)), max(1, round(src.height * s))),
                    Image.BICUBIC)
    gain, gamma = rng.uniform(0.5, 1.5), rng.uniform(0.7, 1.4)
    arr = 255 * (np.asarray(im, np.float32) / 255) ** gamma * gain
    im = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    fx, fy = (face.x + face.width / 2) * s, (face.y + face.height / 2) * s
    # A soft oval around the head, so no picture edge is pasted with it.
    mask = Image.new("L", im.size, 0)
    rx, ry = 1.0 * width, 1.35 * width
    ImageDraw.Draw(mask).ellipse((fx - rx, fy - ry * 0.8, fx + rx, fy + ry * 1.2), fill=255)
    mask = mask.filter(ImageFilter.GaussianBlur(width / 10))
    angle = rng.uniform(-MAX_TILT, MAX_TILT)
    im = im.rotate(angle, Image.BICUBIC, center=(fx, fy))
    mask = mask.rotate(angle, Image.BICUBIC, center=(fx, fy))
    fh = face.height * s
    # The rotated face's axis-aligned extent must lie in the frame.
    rad = math.radians(angle)
    ex = (width * abs(math.cos(rad)) + fh * abs(math.sin(rad))) / 2
    ey = (width * abs(math.sin(rad)) + fh * abs(math.cos(rad))) / 2
    for _ in range(50):
        cx = rng.uniform(ex, bg.width - ex)
        cy = rng.uniform(ey, bg.height - ey)
        # Heads (the oval reaches 1.6 face widths from the face's centre) kept apart.
        if all(math.dist((cx, cy), (b.x + b.width / 2, b.y + b.height / 2))
               > 1.7 * (width + b.width) for b in avoid):
            break
    else:
        return None
    frame = into if into is not None else bg.copy()
    frame.paste(im, (round(cx - fx), round(cy - fy)), mask)
    return frame, Box(round(cx - width / 2), round(cy - fh / 2), width, round(fh))


def matches(found: Box, truth: Box) -> bool:
    dx = (found.x + found.width / 2) - (truth.x + truth.width / 2)
    dy = (found.y + found.height / 2) - (truth.y + truth.height / 2)
    return (math.hypot(dx, dy) < truth.width / 2
            and 0.5 <= found.width / truth.width <= 2)


@dataclass
class Picture:
    jpeg: bytes
    truths: list[Box]
    width: int           # the bin its faces were made for


def jpeg(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=JPEG_QUALITY)
    return buf.getvalue()


def pictures(srcs: list[tuple[Image.Image, Box]], bgs: list[Image.Image],
             widths: tuple[int, ...], per_size: int, rng: random.Random) -> Iterator[Picture]:
    """``per_size`` faces of each width, up to FACES_PER_PICTURE a picture."""
    for width in widths:
        made = 0
        while made < per_size:
            frame = rng.choice(bgs).copy()
            truths: list[Box] = []
            while len(truths) < min(FACES_PER_PICTURE, per_size - made):
                src, face = rng.choice(srcs)
                got = paste(frame, src, face, width, rng, into=frame, avoid=truths)
                if got is None:
                    break
                truths.append(got[1])
            if not truths:
                raise ValueError(f"a {width} px face does not fit in {frame.size}")
            made += len(truths)
            yield Picture(jpeg(frame), truths, width)


def read_and_detect(detector: FaceDetector, data: bytes) -> list[Box]:
    """As the API does: decoded (reduced where the JPEG allows), searched, boxes in the
    pixels sent."""
    d = decode_image(data)
    return [f.box.scaled(d.scale) for f in detector.detect(d.image, d.scale)]


def evaluate_pictures(detector: FaceDetector, size: tuple[int, int], widths: tuple[int, ...],
                      srcs: list[tuple[Image.Image, Box]], per_size: int, runs: int,
                      seed: int = 0) -> dict:
    rng = random.Random(seed)
    bgs = backgrounds(size)
    hits = dict.fromkeys(widths, 0)
    totals = dict.fromkeys(widths, 0)
    extra, timed = 0, []
    for pic in pictures(srcs, bgs, widths, per_size, rng):
        found = read_and_detect(detector, pic.jpeg)
        for t in pic.truths:
            totals[pic.width] += 1
            hits[pic.width] += any(matches(b, t) for b in found)
        extra += sum(not any(matches(b, t) for t in pic.truths) for b in found)
        if totals[pic.width] <= FACES_PER_PICTURE:      # the first picture of each width
            timed.append(pic.jpeg)
    empty = [jpeg(bg) for bg in bgs]
    false_bg = sum(len(read_and_detect(detector, b)) for b in empty)
    detector.threads = 2
    cv2.setNumThreads(2)
    decode, total = [math.nan], [math.nan]       # --runs 0: recall only
    for i in range(runs + 5 if runs else 0):
        data = timed[i % len(timed)]
        t0 = time.perf_counter()
        d = decode_image(data)
        t1 = time.perf_counter()
        detector.detect(d.image, d.scale)
        t2 = time.perf_counter()
        if i == 5:
            decode, total = [], []
        if i >= 5:
            decode.append((t1 - t0) * 1e3)
            total.append((t2 - t0) * 1e3)
    least = smallest_face(*size)
    big = [w for w in widths if w >= least]
    return {"recall": {w: hits[w] / totals[w] for w in widths},
            "from_smallest": sum(hits[w] for w in big) / sum(totals[w] for w in big),
            "smallest": least, "faces": sum(totals.values()), "false_bg": false_bg,
            "extra": extra, "decode": statistics.median(decode),
            "total": statistics.median(total)}


def main(args: argparse.Namespace) -> None:
    torch.set_num_threads(1)
    if args.pictures:
        srcs = sources(Path(args.data))
        print(f"\nThe shipped detector on larger pictures, JPEG quality {JPEG_QUALITY}, up to "
              f"{FACES_PER_PICTURE} faces a picture, {args.per_size} faces a width; "
              f"{machine()}")
        detector = FaceDetector()
        for text in args.pictures:
            size = tuple(int(v) for v in text.lower().split("x"))
            widths = PICTURES.get(size) or FACE_WIDTHS
            r = evaluate_pictures(detector, size, widths, srcs, args.per_size, args.runs)
            head = " | ".join(f"{w} px" for w in widths)
            cells = " | ".join(f"{100 * r['recall'][w]:.0f}" for w in widths)
            print(f"\n| {size[0]}x{size[1]}, {r['faces']} faces | {head} | found from the "
                  f"smallest face ({r['smallest']:.0f} px) | false boxes: face-free pictures "
                  "/ beside the faces | ms per picture p50, 2 threads: decode / decode + "
                  f"detect |\n|---|{'---|' * len(widths)}---|---|---|\n| recall (%) | {cells} "
                  f"| {100 * r['from_smallest']:.1f}% | {r['false_bg']} / {r['extra']} | "
                  f"{r['decode']:.1f} / {r['total']:.1f} |", flush=True)


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="../shared/data", help="folder holding taiwanese/")
    p.add_argument("--per-size", type=int, default=60, help="pasted faces per face width")
    p.add_argument("--runs", type=int, default=60, help="timed detections per picture size "
                   "(0: recall only)")
    p.add_argument("--pictures", nargs="*", default=[f"{w}x{h}" for w, h in PICTURES],
                   help="picture sizes the shipped detector is measured on, WxH (none: skip)")
    return p


if __name__ == "__main__":
    main(get_args_parser().parse_args())
