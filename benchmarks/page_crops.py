"""How often the live page's crops get the label the API gives the whole picture: the
taiwanese valid heads, each cropped by the page's own code in Debian's headless Chromium
(its detector worker finds the face as the server would, blazeface.js; crop.js
turns and frames it as the server does; the JPEG it would send), sent with detect=false, and
the picture itself sent to the API to find and crop the face there.

    python -m benchmarks.page_crops [--model PATH] [--data ../shared/data/taiwanese]
    python -m benchmarks.page_crops --in-frame   # the page following a camera frame

Prints the share of heads where both label alike, and each one's accuracy against the set's
labels. To tell the crop code from the detectors apart, it also crops each head with the
page's code from the server's own detection (function.detect, lossless): what is left
between that and the API is the crop code's, the rest the two detectors' (the page's
BlazeFace in the browser, the server's LiteRT passes). Not a test (it needs the data and
the trained model): figures for docs/page-tracking.md.

With --in-frame, each head is pasted (its own size, or --scale times it; a seeded place)
into a 640x480 frame of the fake camera's background, twice, 4 px apart: the page crops the
second frame once searching it whole and once following on from the first (its 320 px
pass in a window around the face found there, as the live page searches most frames), and
the API gets the second frame, lossless. It prints both crops' agreement with the API:
what following costs.
"""

from __future__ import annotations

import argparse
import base64
import csv
import io
import json
import random
import urllib.request
from pathlib import Path

from PIL import Image

from tools import harness, scenes

DATA = harness.REPO.parent / "shared" / "data" / "taiwanese"


def post(base: str, body: bytes, detect: bool, ctype: str = "image/jpeg") -> dict:
    request = urllib.request.Request(f"{base}/face?detect={str(detect).lower()}", data=body,
                                     headers={"Content-Type": ctype})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def top(predictions: dict | None) -> str | None:
    return max(predictions, key=predictions.get) if predictions else None


def png_url(image: Image.Image) -> tuple[str, bytes]:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    data = buf.getvalue()
    return "data:image/png;base64," + base64.b64encode(data).decode(), data


def in_frame(rows: list[dict], data: Path, model: Path, seed: int = 0,
             scale: float = 1.0) -> None:
    """The heads in a camera frame (`scale` times their size), the page's crop of it
    searched whole and followed."""
    from playwright.sync_api import sync_playwright

    harness.build_site()
    rng = random.Random(seed)
    background = Image.fromarray(scenes.face_frames(None, frames=1)[0])
    agree = {"whole": 0, "follow": 0}
    both = {"whole": 0, "follow": 0}
    windowed = same = 0
    with harness.serve(model) as base, sync_playwright() as playwright:
        browser = harness.launch(playwright, Path("/dev/null"))
        try:
            page = browser.new_context().new_page()
            page.goto(base + "/")
            for row in rows:
                head = Image.open(data / row["path"]).convert("RGB")
                if scale != 1:
                    head = head.resize((round(head.width * scale), round(head.height * scale)),
                                       Image.LANCZOS)
                x = rng.randrange(0, background.width - head.width - 4)
                y = rng.randrange(0, background.height - head.height)
                frames = []
                for dx in (0, 4):
                    frame = background.copy()
                    frame.paste(head, (x + dx, y))
                    frames.append(png_url(frame))
                (first, _), (second, png) = frames
                api = top(post(base, png, True, "image/png")["predictions"])
                labels = {}
                for mode, before in (("whole", None), ("follow", first)):
                    out = page.evaluate(harness.PAGE_CROP,
                                        {"frame": second, "face": None, "before": before})
                    windowed += mode == "follow" and out["windowed"]
                    if not (out.get("faces") and api):
                        continue
                    crop = top(post(base, base64.b64decode(out["jpeg"]), False)["predictions"])
                    labels[mode] = crop
                    both[mode] += 1
                    agree[mode] += crop == api
                same += len(labels) == 2 and labels["whole"] == labels["follow"]
        finally:
            browser.close()
    print(f"{data.name}: {len(rows)} heads, each in a 640x480 frame"
          f"{f' at {scale:g} times its size' if scale != 1 else ''}, model {model.name}")
    for mode, what in (("whole", "searched whole"),
                       ("follow", f"following the frame before ({windowed} in a window)")):
        print(f"page crop ({what}) and API agree on {agree[mode]}/{both[mode]}: "
              f"{100 * agree[mode] / max(1, both[mode]):.1f}%")
    print(f"the two page crops agree with each other on {same}/{len(rows)}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=None)
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--split", default="valid")
    p.add_argument("--in-frame", action="store_true",
                   help="the heads in a camera frame, searched whole and followed")
    p.add_argument("--seed", type=int, default=0, help="--in-frame: where the heads go")
    p.add_argument("--scale", type=float, default=1.0,
                   help="--in-frame: the heads this many times their size (faces of about "
                        "100-130 px at 1)")
    args = p.parse_args()
    model = args.model or sorted((harness.REPO / "models").glob("emotion-*[!8].pt"))[-1]
    with open(args.data / "labels.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["path"].startswith(args.split + "/")]
    if args.in_frame:
        in_frame(rows, args.data, model, args.seed, args.scale)
        return

    from playwright.sync_api import sync_playwright

    from function.detect import FaceDetector

    detector = FaceDetector()
    harness.build_site()
    both = agree = page_right = api_right = page_missed = api_missed = 0
    code_both = code_agree = 0
    with harness.serve(model) as base, sync_playwright() as playwright:
        browser = harness.launch(playwright, Path("/dev/null"))
        try:
            page = browser.new_context().new_page()     # no camera: the page only lends its code
            page.goto(base + "/")
            for row in rows:
                data = (args.data / row["path"]).read_bytes()
                url = "data:image/jpeg;base64," + base64.b64encode(data).decode()
                out = page.evaluate(harness.PAGE_CROP, {"frame": url, "face": None})
                api = top(post(base, data, True)["predictions"])
                crop = top(post(base, base64.b64decode(out["jpeg"]), False)["predictions"]) \
                    if out.get("faces") else None
                page_missed += crop is None
                api_missed += api is None
                page_right += crop == row["label"]
                api_right += api == row["label"]
                if crop and api:
                    both += 1
                    agree += crop == api
                found = detector.detect(Image.open(io.BytesIO(data)).convert("RGB"))
                if found and api:
                    marks = found[0].landmarks
                    face = {"box": found[0].box.__dict__,
                            "eyes": {"right": dict(zip("xy", marks["right_eye"], strict=True)),
                                     "left": dict(zip("xy", marks["left_eye"], strict=True))}}
                    png = page.evaluate(harness.PAGE_CROP, {"frame": url, "face": face})["png"]
                    coded = post(base, base64.b64decode(png.split(",", 1)[1]), False,
                                 "image/png")["predictions"]
                    code_both += 1
                    code_agree += top(coded) == api
        finally:
            browser.close()
    n = len(rows)
    print(f"{args.data.name} {args.split}: {n} heads, model {model.name}")
    print(f"page crop and API agree on {agree}/{both} heads both found a face in: "
          f"{100 * agree / max(1, both):.1f}%")
    print(f"accuracy: page crops {100 * page_right / n:.1f}%, API {100 * api_right / n:.1f}% "
          f"(no face: page {page_missed}, API {api_missed})")
    print(f"the page's crop code on the server's detection agrees on {code_agree}/{code_both}: "
          f"{100 * code_agree / max(1, code_both):.1f}%")


if __name__ == "__main__":
    main()
