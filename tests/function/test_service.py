"""crop_faces: what the classifier sees of each face (and what the training code crops
through): level eyes, framed as FER+ frames a face, largest face first."""

from __future__ import annotations

import math

import pytest
from PIL import Image

from function.detect import Box, Detection, FaceDetector
from function.limits import MAX_FACES
from function.service import (
    CENTRE_BELOW_EYES,
    CROP_MARGIN,
    SIDE_PER_EYE_DISTANCE,
    Face,
    analyse,
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


# --- the answer: every face found, the largest MAX_FACES classified ------------------------

@pytest.fixture(scope="module")
def model(model_file):
    from function.model import load_model

    return load_model(model_file)


def jpeg(im: Image.Image, **kw) -> bytes:
    import io

    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90, **kw)
    return buf.getvalue()


def test_more_faces_than_the_limit_are_counted_and_the_largest_answered(detector, model,
                                                                        astronaut):
    from tests.function.test_detect import group

    [face] = detector.detect(astronaut)
    widths = [50] * 4 + [70 + 2 * i for i in range(MAX_FACES)]
    picture, truths = group(astronaut, face.box, (1920, 1080), widths, seed=3)
    answer = analyse(jpeg(picture), True, model, detector).answer
    assert answer["faces_found"] == len(widths) > MAX_FACES
    assert answer["truncated"] is True
    assert len(answer["faces"]) == MAX_FACES
    kept = [f["box"]["width"] for f in answer["faces"]]
    assert kept == sorted(kept, reverse=True)
    assert min(kept) > 55        # the four 50 px faces are the ones left out


def test_up_to_the_limit_nothing_is_left_out(detector, model, astronaut_jpeg, astronaut):
    answer = analyse(astronaut_jpeg, True, model, detector).answer
    assert (answer["faces_found"], answer["truncated"], len(answer["faces"])) == (1, False, 1)
    blank = analyse(jpeg(Image.new("RGB", (64, 64), (90, 100, 110))), True, model, detector)
    assert (blank.answer["faces_found"], blank.answer["truncated"]) == (0, False)
    whole = analyse(jpeg(astronaut.resize((96, 96))), False, model, detector).answer
    assert (whole["faces_found"], whole["truncated"], len(whole["faces"])) == (1, False, 1)


def assert_boxes_match(answer: dict, truths) -> None:
    from tests.function.test_detect import matches

    boxes = [Box(**f["box"]) for f in answer["faces"]]
    for t in truths:
        assert sum(matches(b, t) for b in boxes) == 1, (t, boxes)
    assert answer["faces_found"] == len(truths) == len(boxes), boxes


def test_a_24_mp_photo_is_answered_within_its_bound(detector, model, astronaut):
    """6000x4000, the most pixels the API takes: faces from its smallest face size up (90 px),
    some on the lines between tiles, each found once, boxes in the pixels sent; a bound
    that only a hang or a full-size search would break (the time is benchmarks.detector's)."""
    import time

    from function.detect import smallest_face
    from tests.function.test_detect import face_free, paste_face

    [face] = detector.detect(astronaut)
    size = (6000, 4000)
    least = math.ceil(smallest_face(*size))
    picture = face_free(size)
    places = [(1500, 1000), (3000, 2000), (4500, 3000), (2940, 800), (800, 3400), (5200, 900)]
    widths = [least, least + 10, 2 * least, 400, 120, 1200]
    truths = [paste_face(picture, astronaut, face.box, w, c) for w, c in zip(widths, places,
                                                                             strict=True)]
    data = jpeg(picture)
    t0 = time.perf_counter()
    result = analyse(data, True, model, detector)
    assert time.perf_counter() - t0 < 5.0
    assert_boxes_match(result.answer, truths)


def test_a_turned_12_mp_phone_photo_is_searched_reduced_with_boxes_as_seen(detector, model,
                                                                            astronaut):
    """Stored 4000x3000 with EXIF orientation 6 (shown 3000x4000), decoded at half size:
    boxes and landmarks are in the upright picture's pixels."""
    from tests.function.test_detect import face_free, paste_face

    [face] = detector.detect(astronaut)
    upright = face_free((3000, 4000))
    truths = [paste_face(upright, astronaut, face.box, w, c)
              for w, c in ((64, (700, 900)), (80, (2200, 1500)), (500, (1500, 3000)))]
    stored = upright.transpose(Image.Transpose.ROTATE_90)     # orientation 6 turns it back
    exif = Image.Exif()
    exif[0x0112] = 6
    answer = analyse(jpeg(stored, exif=exif.tobytes()), True, model, detector).answer
    assert_boxes_match(answer, truths)
    for f in answer["faces"]:
        b = f["box"]
        eyes = [(p["x"], p["y"]) for p in f["landmarks"] if p["type"].endswith("_eye")]
        assert all(b["x"] < x < b["x"] + b["width"] and b["y"] < y < b["y"] + b["height"]
                   for x, y in eyes)
