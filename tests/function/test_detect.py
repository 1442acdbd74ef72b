"""The face detector on its own: faces found where they are, with their eyes, and nothing
found where there is no face."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from function import detect
from function.detect import LANDMARKS, FaceDetector

# The astronaut's pupils in scikit-image's 512x512 picture, placed by eye: her right eye
# (on the picture's left), then her left.
EYES = {"right_eye": (204, 101), "left_eye": (247, 105)}


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


def pasted(astronaut, side: int, angle: float = 0.0, at=(170, 90)):
    """The astronaut scaled to ``side`` px (turned ``angle`` degrees counter-clockwise about
    her picture's centre) in a plain 640x480 frame, and where her eyes are in that frame."""
    im = astronaut.resize((side, side), Image.BICUBIC)
    frame = Image.new("RGB", (640, 480), (90, 100, 110))
    frame.paste(im.rotate(angle, Image.BICUBIC), at, Image.new("L", im.size, 255).rotate(angle))
    s, t = side / 512, math.radians(angle)
    eyes = {}
    for name, (x, y) in EYES.items():
        dx, dy = x * s - side / 2, y * s - side / 2          # about the centre, y down
        rx = dx * math.cos(t) + dy * math.sin(t)
        ry = -dx * math.sin(t) + dy * math.cos(t)
        eyes[name] = (at[0] + side / 2 + rx, at[1] + side / 2 + ry)
    return frame, eyes


def assert_eyes(found, eyes) -> None:
    dist = math.dist(eyes["right_eye"], eyes["left_eye"])
    for name, where in eyes.items():
        assert math.dist(found.landmarks[name], where) < 0.25 * dist, (name, found.landmarks)


def test_the_astronaut_at_300_px_is_found_with_her_eyes(detector, astronaut):
    frame, eyes = pasted(astronaut, 300)
    [face] = detector.detect(frame)
    assert set(face.landmarks) == set(LANDMARKS)
    b = face.box
    for x, y in eyes.values():
        assert b.x < x < b.x + b.width and b.y < y < b.y + b.height
    assert 45 < b.width < 90        # her face is about 60 px wide
    assert_eyes(face, eyes)


@pytest.mark.parametrize("angle", [25, -25])
def test_a_face_turned_25_degrees_is_found_with_its_eyes_where_they_are(detector, astronaut,
                                                                         angle):
    frame, eyes = pasted(astronaut, 400, angle, at=(120, 40))
    [face] = detector.detect(frame)
    assert_eyes(face, eyes)


def test_faces_come_largest_first(detector, astronaut):
    frame = Image.new("RGB", (900, 450), (90, 100, 110))
    frame.paste(astronaut.resize((280, 280)), (560, 80))
    frame.paste(astronaut.resize((420, 420)), (10, 15))
    big, small = detector.detect(frame)
    assert big.box.width > small.box.width
    assert big.box.x < 450 < small.box.x


def test_face_free_pictures_give_at_most_one_box_between_them(detector):
    from skimage import data

    names = ("coffee", "chelsea", "rocket", "hubble_deep_field", "coins", "page",
             "immunohistochemistry", "colorwheel")
    pictures = [Image.fromarray(getattr(data, n)()).convert("RGB").resize((640, 480))
                for n in names]
    assert sum(len(detector.detect(p)) for p in pictures) <= 1


@pytest.mark.parametrize("size", [(1, 1), (1, 2000), (2000, 1), (17, 33), (3000, 2000)])
def test_any_image_size_is_searched_without_error(detector, size):
    assert detector.detect(Image.new("RGB", size, (128, 128, 128))) == []


def test_boxes_and_landmarks_are_in_the_images_pixels(detector, astronaut):
    """A larger copy of the same picture gives the same face, scaled."""
    small = detector.detect(astronaut)[0]
    large = detector.detect(astronaut.resize((1024, 1024), Image.BICUBIC))[0]
    assert large.box.width == pytest.approx(2 * small.box.width, rel=0.1)
    for name in LANDMARKS:
        assert np.allclose(large.landmarks[name], 2 * np.array(small.landmarks[name]),
                           atol=0.05 * large.box.width)


def test_the_weights_are_read_from_the_installed_wheel():
    path = detect.weights_path(detect.SHORT_RANGE)
    assert path.is_file() and path.parent.parent.name == detect.WEIGHTS_PACKAGE


def test_a_missing_weights_package_says_how_to_get_it(monkeypatch):
    monkeypatch.setattr(detect.importlib.util, "find_spec", lambda _: None)
    with pytest.raises(FileNotFoundError, match="requirements-weights.txt"):
        FaceDetector()


@pytest.mark.parametrize("size", [(128, 96), (320, 240), (100, 75), (640, 480)])
def test_shrinking_through_halvings_is_close_to_one_step(astronaut, size):
    import cv2

    rgb = np.asarray(astronaut.resize((640, 480), Image.BICUBIC))
    got = detect._Pyramid(rgb).resized(*size).astype(int)
    want = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA).astype(int)
    assert got.shape == want.shape
    if size in ((320, 240), (640, 480)):       # exact halvings: the same pixels
        assert np.array_equal(got, want)
    assert np.abs(got - want).mean() < 3.5
