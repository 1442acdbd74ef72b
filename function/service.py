"""One image in, the answer out: decode, find faces, align and crop them, classify."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from function.detect import Box, Detection, FaceDetector, Point
from function.images import decode_image
from function.limits import MAX_FACES
from function.model import EmotionModel

# Crops should frame a face as FER+ does (what the model learnt). Measured on the 3,191
# FER2013Valid faces (upscaled 4x, padded; `python -m benchmarks.alignment`): the FER
# crop's side is a median 1.17 of BlazeFace's box width and 2.71 of the distance between
# the eyes, and its centre lies 0.104 of that side below the midpoint of the eyes. The side
# is the mean of the two estimates: the box narrows as a face turns in the picture (~10% at
# 30 degrees, on the taiwanese heads), the eye distance as it turns away (yaw).
# Boxes without landmarks (detect=false is not cropped at all) are grown as the Haar
# boxes were: on FER2013Test faces the Haar box is a median 0.95 of the FER crop's width,
# so 2.5% on each side.
# The figures live in framing.json, which the web page reads too (site/build.sh copies it
# into site/vendor/): the page crops each face as this module does, from one definition.
FRAMING_FILE = Path(__file__).with_name("framing.json")
_FRAMING = json.loads(FRAMING_FILE.read_text())
SIDE_PER_BOX_WIDTH: float = _FRAMING["side_per_box_width"]
SIDE_PER_EYE_DISTANCE: float = _FRAMING["side_per_eye_distance"]
CENTRE_BELOW_EYES: float = _FRAMING["centre_below_eyes"]
CROP_MARGIN: float = _FRAMING["crop_margin"]


def crop_framing() -> tuple[float, ...]:
    """The constants that decide how a detected face is framed (for caches of crops)."""
    return SIDE_PER_BOX_WIDTH, SIDE_PER_EYE_DISTANCE, CENTRE_BELOW_EYES, CROP_MARGIN


@dataclass(frozen=True)
class Face:
    box: Box                       # the detector's box, in the image's pixels
    landmarks: dict[str, Point]    # name -> (x, y), in the image's pixels
    crop: Image.Image              # what the classifier sees: aligned, framed as FER+


@dataclass
class Analysis:
    answer: dict
    faces: int                      # in the answer (at most MAX_FACES)
    timings_ms: dict[str, float] = field(default_factory=dict)
    found: int = 0                  # found in all


def find_faces(image: Image.Image, detector: FaceDetector, align: bool = True,
               scale: float = 1.0) -> tuple[list[Face], int]:
    """The MAX_FACES largest faces the detector finds, each rotated so its eyes are level
    (``align``) and cropped as FER+ frames a face, and how many it found in all.
    ``scale``: pixels of the picture as sent per pixel of ``image`` (it sets the smallest
    face searched for)."""
    found = detector.detect(image, scale)
    image = image if image.mode == "RGB" else image.convert("RGB")
    return [Face(d.box, d.landmarks, _crop(image, d, align)) for d in found[:MAX_FACES]], \
        len(found)


def crop_faces(image: Image.Image, detector: FaceDetector, align: bool = True) -> list[Face]:
    """Every face the detector finds (at most MAX_FACES, largest first), each rotated so
    its eyes are level (``align``) and cropped as FER+ frames a face."""
    return find_faces(image, detector, align)[0]


def _crop(image: Image.Image, d: Detection, align: bool) -> Image.Image:
    if "right_eye" not in d.landmarks or "left_eye" not in d.landmarks:
        b = d.box.expanded(CROP_MARGIN, *image.size)
        return image.crop((b.x, b.y, b.x + b.width, b.y + b.height))
    (rx, ry), (lx, ly) = d.landmarks["right_eye"], d.landmarks["left_eye"]
    eyes = math.hypot(lx - rx, ly - ry)
    side = (SIDE_PER_BOX_WIDTH * d.box.width + SIDE_PER_EYE_DISTANCE * eyes) / 2
    # The person's right eye is on the picture's left: the angle of the line from it to
    # the left eye is how far the face is turned in the picture.
    angle = math.atan2(ly - ry, lx - rx) if align else 0.0
    cos, sin = math.cos(angle), math.sin(angle)
    # Centre: below the eyes' midpoint, along the face's own "down" (-sin, cos).
    cx = (rx + lx) / 2 - sin * CENTRE_BELOW_EYES * side
    cy = (ry + ly) / 2 + cos * CENTRE_BELOW_EYES * side
    out = max(1, round(side))
    # Only the pixels the turned square can reach (within side/sqrt(2) of its centre) are
    # read: a face in a 24 MP photo does not copy the photo.
    r = side * 0.75
    x0, y0 = max(0, math.floor(cx - r)), max(0, math.floor(cy - r))
    x1 = min(image.width, max(x0 + 1, math.ceil(cx + r)))
    y1 = min(image.height, max(y0 + 1, math.ceil(cy + r)))
    x0, y0 = min(x0, x1 - 1), min(y0, y1 - 1)
    region = np.asarray(image.crop((x0, y0, x1, y1)))
    cx, cy = cx - x0, cy - y0
    # Crop pixel (u, v) -> region point: rotate by the face's angle about the crop centre.
    k = side / out
    m = np.array([[cos * k, -sin * k, cx - k * (cos - sin) * out / 2],
                  [sin * k, cos * k, cy - k * (sin + cos) * out / 2]])
    crop = cv2.warpAffine(region, m, (out, out), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)
    return Image.fromarray(crop)


def analyse(data: bytes, detect: bool, model: EmotionModel, detector: FaceDetector) -> Analysis:
    t0 = time.perf_counter()
    decoded = decode_image(data)
    image = decoded.image
    t1 = time.perf_counter()
    if detect:
        faces, found = find_faces(image, detector, scale=decoded.scale)
    else:
        faces, found = [Face(Box(0, 0, image.size[0], image.size[1]), {}, image)], 1
    t2 = time.perf_counter()
    predictions = model.predict([f.crop for f in faces])
    t3 = time.perf_counter()
    s = decoded.scale
    answer_faces = []
    for face, preds in zip(faces, predictions, strict=True):
        box = face.box.scaled(s) if detect else Box(0, 0, decoded.width, decoded.height)
        top = next(iter(preds))
        answer_faces.append({
            "box": box.__dict__,
            "landmarks": [{"type": name, "x": round(x * s, 1), "y": round(y * s, 1)}
                          for name, (x, y) in face.landmarks.items()],
            "emotion": top, "confidence": round(preds[top], 4),
            "predictions": {k: round(v, 4) for k, v in preds.items()}})
    answer = {"predictions": answer_faces[0]["predictions"] if answer_faces else None,
              "faces": answer_faces, "faces_found": found, "truncated": found > len(faces),
              "model": model.info.id}
    ms = {"decode": (t1 - t0) * 1e3, "detect": (t2 - t1) * 1e3, "classify": (t3 - t2) * 1e3}
    return Analysis(answer, len(answer_faces), ms, found)
