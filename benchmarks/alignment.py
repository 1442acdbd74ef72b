"""What aligning faces buys the classifier, and how the detector's box relates to FER+'s
framing: FER2013Valid faces (majority protocol) upscaled 4x to 192 px and padded to
384x384 in grey, upright and turned by up to +-30 degrees (seeded), through the API's own
detector and crop_faces, classified by the shipped model.

    python -m benchmarks.alignment [--data ../shared/data/ferplus] [--model PATH] [--limit N]
                                   [--conditions upright turned] [--no-framing]

Prints: the framing medians (the constants of function/service.py), then accuracy on the
faces found, with and without alignment. Not a test: figures for docs/face-detection-history.md.
"""

from __future__ import annotations

import argparse
import math
import random
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from function.detect import FaceDetector
from function.model import default_model_path, load_model
from function.service import crop_faces
from training.ferplus import majority_labels, read_split

UPSCALE, PAD, MAX_TILT = 4, 96, 30


def canvas(face48: np.ndarray, angle: float) -> Image.Image:
    side = 48 * UPSCALE
    face = Image.fromarray(face48).resize((side, side), Image.BICUBIC)
    out = Image.new("L", (side + 2 * PAD, side + 2 * PAD), 128)
    out.paste(face, (PAD, PAD))
    return out.rotate(angle, Image.BICUBIC, fillcolor=128).convert("RGB")


def framing(detector: FaceDetector, images: np.ndarray) -> None:
    """The FER crop (the 192 px face) against BlazeFace's box and eyes, upright faces."""
    rows = []
    side = 48 * UPSCALE
    centre = PAD + side / 2
    for face48 in images:
        found = detector.detect(canvas(face48, 0))
        if not found:
            continue
        d = found[0]
        (rx, ry), (lx, ly) = d.landmarks["right_eye"], d.landmarks["left_eye"]
        eyes = math.hypot(lx - rx, ly - ry)
        rows.append((side / d.box.width, side / eyes, (centre - (ry + ly) / 2) / side,
                     (centre - (d.box.y + d.box.height / 2)) / d.box.width))
    r = np.array(rows)
    q = np.percentile(r, [25, 50, 75], axis=0)
    print(f"framing over {len(r)} of {len(images)} upright faces found (median, quartiles):")
    for i, what in enumerate(("FER side / box width", "FER side / eye distance",
                              "FER centre below the eyes / FER side",
                              "FER centre below the box centre / box width")):
        print(f"  {what}: {q[1, i]:.3f} ({q[0, i]:.3f}-{q[2, i]:.3f})")


def main(args: argparse.Namespace) -> None:
    torch.set_num_threads(1)      # accuracy, not speed: one thread never waits on another
    model = load_model(args.model or default_model_path())
    detector = FaceDetector()
    split = read_split(Path(args.data) / "FER2013Valid", ".cache/ferplus")
    labels = majority_labels(split.votes)
    keep = np.flatnonzero(labels >= 0)
    if args.limit:
        keep = keep[np.linspace(0, len(keep) - 1, args.limit).astype(int)]
    images, labels = split.images[keep], labels[keep]
    names = list(model.info.labels)
    if not args.no_framing:
        framing(detector, images)

    def top(crops: list[Image.Image]) -> list[int]:
        return [names.index(next(iter(p))) for p in model.predict(crops)]

    whole = np.array(top([Image.fromarray(a) for a in images])) == labels
    print(f"\n{model.info.id}, {len(images)} FER2013Valid faces; the 48x48 crops as they "
          f"are: {100 * whole.mean():.2f}%")
    print("| faces | found | accuracy on the faces found: aligned | not aligned | "
          "the 48x48 crops of the same faces |")
    print("|---|---|---|---|---|")
    conditions = {"upright": 0, "turned": MAX_TILT}
    for name, tilt in ((n, conditions[n]) for n in args.conditions):
        name = f"turned up to +-{tilt} degrees" if tilt else name
        rng = random.Random(0)      # each condition its own seeded angles
        aligned, plain, found = [], [], []
        for i, face48 in enumerate(images):
            im = canvas(face48, rng.uniform(-tilt, tilt))
            faces = crop_faces(im, detector)
            if not faces:
                continue
            found.append(i)
            aligned.append(faces[0].crop)
            plain.append(crop_faces(im, detector, align=False)[0].crop)
        y = labels[found]
        a = (np.array(top(aligned)) == y).mean()
        p = (np.array(top(plain)) == y).mean()
        print(f"| {name} | {len(found)} / {len(images)} | {100 * a:.2f}% | {100 * p:.2f}% | "
              f"{100 * whole[found].mean():.2f}% |", flush=True)


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="../shared/data/ferplus")
    p.add_argument("--model", default=None, help="model file (default: the one in models/)")
    p.add_argument("--limit", type=int, default=0, help="use N faces spread over the split")
    p.add_argument("--conditions", nargs="+", choices=("upright", "turned"),
                   default=["upright", "turned"])
    p.add_argument("--no-framing", action="store_true", help="skip the framing medians")
    return p


if __name__ == "__main__":
    main(get_args_parser().parse_args())
