"""End-to-end: the page crops a face as the server does. The page's own code (its detector
worker, tracker and crop.js, in Chromium) and the server's (function/service.py) each find
and crop the face in the same frame, upright and with the head tilted: the two crops are
turned and framed alike, pixel for pixel what the model reads."""

from __future__ import annotations

import base64
import io
import json
import math

import numpy as np
import pytest
from PIL import Image

from function import service
from tools import scenes
from tools.harness import PAGE_CROP

FRAMING = json.loads(service.FRAMING_FILE.read_text())

def frame(tilt: float) -> Image.Image:
    upright = Image.fromarray(scenes.face_frames(scenes.astronaut(), frames=1)[0])
    return upright.rotate(tilt, resample=Image.BICUBIC, fillcolor=(70, 78, 92))


def data_url(image: Image.Image) -> str:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def as_model_reads(crop: Image.Image) -> np.ndarray:
    """What the classifier takes of a crop (function/model.py): grey, 96 px."""
    small = crop.convert("L").resize((96, 96), Image.BILINEAR, reducing_gap=2.0)
    return np.asarray(small, np.float64)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def eye_angle(right, left) -> float:
    return math.degrees(math.atan2(left[1] - right[1], left[0] - right[0]))


@pytest.mark.parametrize("tilt", [0, 22], ids=lambda t: f"tilt{t}")
def test_the_pages_crop_code_cuts_what_the_server_cuts(modules_page, face_detector, tilt):
    """Given the same detection, crop.js and the server's _crop agree pixel for pixel
    (rotation, framing, sampling and the repeated edge alike)."""
    image = frame(tilt)
    [face] = service.crop_faces(image, face_detector)
    marks = face.landmarks
    eyes = {"right": dict(zip("xy", marks["right_eye"], strict=True)),
            "left": dict(zip("xy", marks["left_eye"], strict=True))}
    out = modules_page.evaluate(PAGE_CROP, {"frame": data_url(image),
                                         "face": {"box": face.box.__dict__, "eyes": eyes}})
    page = Image.open(io.BytesIO(base64.b64decode(out["png"].split(",", 1)[1]))).convert("RGB")
    assert page.size == face.crop.size
    a, b = np.asarray(page, np.float64), np.asarray(face.crop, np.float64)
    assert np.abs(a - b).mean() < 1.0, np.abs(a - b).mean()
    assert correlation(a, b) > 0.999


def framing_of(box: dict, right: tuple, left: tuple) -> tuple[float, float, float, float]:
    """Centre, side and turn (degrees) of a crop, as both sides frame it (function/service.py)."""
    side = (FRAMING["side_per_box_width"] * box["width"]
            + FRAMING["side_per_eye_distance"] * math.dist(right, left)) / 2
    angle = math.atan2(left[1] - right[1], left[0] - right[0])
    below = FRAMING["centre_below_eyes"] * side
    cx = (right[0] + left[0]) / 2 - math.sin(angle) * below
    cy = (right[1] + left[1]) / 2 + math.cos(angle) * below
    return cx, cy, side, math.degrees(angle)


@pytest.mark.parametrize("tilt", [0, 22], ids=lambda t: f"tilt{t}")
def test_the_page_crops_a_face_as_the_server_does(modules_page, face_detector, tilt):
    """Each side with its own detector (the page's copy of the server's passes in its
    worker, the server's LiteRT passes): the crop the page sends is turned and framed as
    the server's own crop of the frame, and what the model reads of the two (grey, 96 px)
    correlates at 0.98 or more after the page's JPEG encoding."""
    image = frame(tilt)
    [face] = service.crop_faces(image, face_detector)
    out = modules_page.evaluate(PAGE_CROP, {"frame": data_url(image), "face": None})
    assert out["faces"] == 1
    sent = Image.open(io.BytesIO(base64.b64decode(out["jpeg"])))
    assert sent.format == "JPEG" and max(sent.size) <= 224

    marks = face.landmarks
    server = framing_of(face.box.__dict__, marks["right_eye"], marks["left_eye"])
    eyes = out["eyes"]
    page = framing_of(out["box"], (eyes["right"]["x"], eyes["right"]["y"]),
                      (eyes["left"]["x"], eyes["left"]["y"]))
    # PIL turns the picture anticlockwise, the eyes' line then rising to the right: a
    # crop left unturned would be off by that much.
    assert abs(server[3] + tilt) < 8, server
    assert abs(page[3] - server[3]) < 0.01, (page, server)
    side = server[2]
    assert abs(page[2] - side) < 0.001 * side, (page, server)
    assert math.dist(page[:2], server[:2]) < 0.001 * side, (page, server)
    r = correlation(as_model_reads(sent), as_model_reads(face.crop))
    print(f"tilt {tilt}: correlation {r:.4f}, page {page}, server {server}")
    assert r >= 0.98, r
