"""One image in, the answer out: decode, find faces, classify them in one batch."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from PIL import Image

from function.detect import Box, FaceDetector
from function.images import decode_image
from function.limits import MAX_FACES
from function.model import EmotionModel

# Crops should frame a face as FER+ does (what the model learnt). On FER2013Test faces the
# Haar box is a median 0.95 of the FER crop's width, so boxes grow by 2.5% on each side.
CROP_MARGIN = 0.025


@dataclass(frozen=True)
class Face:
    box: Box            # in the pixels of the image searched
    landmarks: dict | None
    crop: Image.Image   # what the classifier rates


def crop_faces(image: Image.Image, detector: FaceDetector) -> list[Face]:
    """Every face the API would classify in ``image``, largest first, cropped as the API
    crops it. Training crops whole-head pictures through this same function."""
    boxes = detector.detect(image)[:MAX_FACES]
    return [Face(b, None, image.crop(_corners(b.expanded(CROP_MARGIN, *image.size))))
            for b in boxes]


@dataclass
class Analysis:
    answer: dict
    faces: int
    timings_ms: dict[str, float] = field(default_factory=dict)


def analyse(data: bytes, detect: bool, model: EmotionModel, detector: FaceDetector) -> Analysis:
    t0 = time.perf_counter()
    decoded = decode_image(data)
    image = decoded.image
    t1 = time.perf_counter()
    if detect:
        found = crop_faces(image, detector)
        boxes, crops = [f.box for f in found], [f.crop for f in found]
    else:
        boxes = [Box(0, 0, image.size[0], image.size[1])]
        crops = [image]
    t2 = time.perf_counter()
    predictions = model.predict(crops)
    t3 = time.perf_counter()
    faces = []
    for box, preds in zip(boxes, predictions, strict=True):
        sent = box.scaled(decoded.scale) if detect else Box(0, 0, decoded.width, decoded.height)
        top = next(iter(preds))
        faces.append({"box": sent.__dict__, "emotion": top,
                      "confidence": round(preds[top], 4),
                      "predictions": {k: round(v, 4) for k, v in preds.items()}})
    answer = {"predictions": faces[0]["predictions"] if faces else None, "faces": faces,
              "model": model.info.id}
    ms = {"decode": (t1 - t0) * 1e3, "detect": (t2 - t1) * 1e3, "classify": (t3 - t2) * 1e3}
    return Analysis(answer, len(faces), ms)


def _corners(b: Box) -> tuple[int, int, int, int]:
    return b.x, b.y, b.x + b.width, b.y + b.height
