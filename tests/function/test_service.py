"""crop_faces: what the classifier sees of each face (and what the training code crops
through): level eyes, framed as FER+ frames a face, largest face first."""

from __future__ import annotations

import math

import pytest
from PIL import Image

from function.detect import Box, Detection, FaceDetector
from function.service import (
    CENTRE_BELOW_EYES,
    CROP_MARGIN,
    SIDE_PER_EYE_DISTANCE,
    Face,
    crop_faces,
)
from tests.function.test_detect import pasted


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


def eyes_in(crop: Image.Image, detector: FaceDetector):
    """The eyes the detector finds in a crop, padded so the face is not at the border."""
    side = crop.width
    canvas = Image.new("RGB", (3 * side, 3 * side), (128, 128, 128))
    canvas.paste(crop, (side, side))
    [face] = detector.detect(canvas)
    (rx, ry), (lx, ly) = face.landmarks["right_eye"], face.landmarks["left_eye"]
    return (rx - side, ry - side), (lx - side, ly - side)


@pytest.mark.parametrize("angle", [0, 25, -25])
def test_the_crop_has_level_eyes_framed_as_fer_plus(detector, astronaut, angle):
    frame, _ = pasted(astronaut, 400, angle, at=(120, 40))
    [face] = crop_faces(frame, detector)
    assert isinstance(face, Face) and face.crop.width == face.crop.height
    (rx, ry), (lx, ly) = eyes_in(face.crop, detector)
    assert abs(math.degrees(math.atan2(ly - ry, lx - rx))) < 5
    side = face.crop.width
    # FER+ framing: eyes ~1/2.72 of the side apart, their midpoint centred across and
    # CENTRE_BELOW_EYES of the side above the centre.
    assert math.dist((rx, ry), (lx, ly)) == pytest.approx(side / SIDE_PER_EYE_DISTANCE, rel=0.2)
    assert (rx + lx) / 2 == pytest.approx(side / 2, abs=0.06 * side)
    assert (ry + ly) / 2 == pytest.approx(side * (0.5 - CENTRE_BELOW_EYES), abs=0.06 * side)


def test_without_alignment_the_face_stays_turned(detector, astronaut):
    frame, _ = pasted(astronaut, 400, 25, at=(120, 40))
    [face] = crop_faces(frame, detector, align=False)
    (rx, ry), (lx, ly) = eyes_in(face.crop, detector)
    assert math.degrees(math.atan2(ly - ry, lx - rx)) < -15


def test_two_faces_largest_first_with_box_landmarks_and_crop(detector, astronaut):
    frame = Image.new("RGB", (900, 450), (90, 100, 110))
    frame.paste(astronaut.resize((420, 420)), (10, 15))
    frame.paste(astronaut.resize((280, 280)), (560, 80))
    big, small = crop_faces(frame, detector)
    assert big.box.width > small.box.width and big.crop.width > small.crop.width
    assert big.box.x < 450 < small.box.x
    assert "left_eye" in big.landmarks and "right_eye" in small.landmarks


def test_a_whole_head_portrait_is_cropped_to_the_face(detector, astronaut):
    """What the training code does with whole-head pictures: the crop is the face, not
    the picture."""
    [face] = crop_faces(astronaut, detector)
    assert 0.15 * astronaut.width < face.crop.width < 0.5 * astronaut.width


def test_a_box_without_landmarks_is_cropped_as_the_haar_boxes_were(astronaut):
    class BoxOnly:
        def detect(self, image, scale=1.0):
            return [Detection(Box(180, 70, 100, 100), {})]

    [face] = crop_faces(astronaut, BoxOnly())
    grown = Box(180, 70, 100, 100).expanded(CROP_MARGIN, *astronaut.size)
    assert face.crop.size == (grown.width, grown.height) and grown.width > 100
    assert face.landmarks == {}


def test_a_face_at_the_edge_keeps_its_framing(detector, astronaut):
    frame = Image.new("RGB", (640, 480), (90, 100, 110))
    frame.paste(astronaut.resize((400, 400)), (-150, 100))
    faces = crop_faces(frame, detector)
    assert faces and faces[0].crop.width == faces[0].crop.height
