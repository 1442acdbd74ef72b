"""The face detector on its own: faces found where they are, with their eyes, and nothing
found where there is no face."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from function import detect
from function.detect import LANDMARKS, FaceDetector, blazeface, policy, runtime

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


@pytest.mark.parametrize("size", [(640, 480), (1920, 1080)])
def test_face_free_pictures_give_at_most_one_box_between_them(detector, size):
    from skimage import data

    names = ("coffee", "chelsea", "rocket", "hubble_deep_field", "coins", "page",
             "immunohistochemistry", "colorwheel")
    pictures = [Image.fromarray(getattr(data, n)()).convert("RGB").resize(size)
                for n in names]
    assert sum(len(detector.detect(p)) for p in pictures) <= 1


@pytest.mark.parametrize("size", [(1, 1), (1, 2000), (2000, 1), (17, 33), (3000, 2000),
                                  (6000, 4000), (12000, 2000), (2, 12000), (1088, 1920),
                                  (20000, 1000)])
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
    monkeypatch.setattr(runtime.importlib.util, "find_spec", lambda _: None)
    with pytest.raises(FileNotFoundError, match="requirements-weights.txt"):
        FaceDetector()


@pytest.mark.parametrize("size", [(128, 96), (320, 240), (100, 75), (640, 480)])
def test_shrinking_through_halvings_is_close_to_one_step(astronaut, size):
    import cv2

    rgb = np.asarray(astronaut.resize((640, 480), Image.BICUBIC))
    got = blazeface.Pyramid(rgb).resized(*size).astype(int)
    want = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA).astype(int)
    assert got.shape == want.shape
    if size in ((320, 240), (640, 480)):       # exact halvings: the same pixels
        assert np.array_equal(got, want)
    assert np.abs(got - want).mean() < 3.5


# --- larger pictures: tiles over a copy scaled to the smallest face -----------------------

def test_the_smallest_face_is_40_px_up_to_4_8_mp_and_grows_beyond_as_documented():
    assert detect.smallest_face(640, 480) == detect.smallest_face(1920, 1080) == 40
    assert detect.smallest_face(2530, 1897) == pytest.approx(40, abs=0.1)
    assert detect.smallest_face(4000, 3000) <= 64
    assert 85 < detect.smallest_face(6000, 4000) <= 90
    sizes = [(640, 480), (1280, 720), (1920, 1080), (3000, 2000), (4000, 3000), (6000, 4000)]
    faces = [detect.smallest_face(*s) for s in sizes]
    assert faces == sorted(faces)


@pytest.mark.parametrize("length", [1, 200, 544, 545, 960, 961, 1265, 1342, 3000])
@pytest.mark.parametrize("side", [544, 960])
def test_tiles_cover_the_line_sharing_the_overlap(length, side):
    starts = policy.tile_starts(length, side, 128)
    assert starts[0] == 0 and starts == sorted(starts)
    assert starts[-1] + side >= length             # reaches the end
    assert all(a + side - b >= 128 for a, b in zip(starts, starts[1:], strict=False))
    if length <= side:
        assert starts == [0]
    else:
        assert starts[-1] + side == length           # no tile hangs over the end


def test_a_tile_is_laid_either_way_up_whichever_needs_fewer():
    # A 1920x1080 picture's copy is one landscape tile; a 4000x3000 one's three portrait.
    assert detect.TILES.layout(960, 540)[:2] == (960, 544)
    assert len(detect.TILES.layout(960, 540)[2]) == 1
    tw, th, xs, ys = detect.TILES.layout(1265, 949)
    assert (tw, th) == (544, 960) and len(xs) * len(ys) == 3
    assert detect.TILES.layout(540, 960)[:2] == (544, 960)


@pytest.fixture(scope="module")
def face_box(detector, astronaut):
    """Where the detector puts the astronaut's face in her own 512 px picture."""
    [face] = detector.detect(astronaut)
    return face.box


def paste_face(canvas, astronaut, face_box, width: int, centre, mirror: bool = False):
    """The astronaut's head scaled so her face is ``width`` px, its centre at ``centre``
    of the canvas; the face's box there."""
    s = width / face_box.width
    head = face_box.expanded(0.6, *astronaut.size)
    im = astronaut.crop((head.x, head.y, head.x + head.width, head.y + head.height))
    if mirror:
        im = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    im = im.resize((round(im.width * s), round(im.height * s)), Image.BICUBIC)
    fx = (face_box.x + face_box.width / 2 - head.x) * s
    if mirror:
        fx = im.width - fx
    fy = (face_box.y + face_box.height / 2 - head.y) * s
    canvas.paste(im, (round(centre[0] - fx), round(centre[1] - fy)))
    h = face_box.height * s
    return detect.Box(round(centre[0] - width / 2), round(centre[1] - h / 2), width, round(h))


def face_free(size):
    from skimage import data

    return Image.fromarray(data.coffee()).resize(size, Image.BICUBIC)


def group(astronaut, face_box, size, widths, seed=0):
    """A face-free picture with one pasted face per width, on a jittered grid."""
    import random

    rng = random.Random(seed)
    canvas = face_free(size)
    cols = math.ceil(math.sqrt(len(widths) * size[0] / size[1]))
    rows = math.ceil(len(widths) / cols)
    cw, ch = size[0] / cols, size[1] / rows
    truths = []
    for i, w in enumerate(widths):
        cx = (i % cols + 0.5) * cw + rng.uniform(-0.2, 0.2) * cw
        cy = (i // cols + 0.5) * ch + rng.uniform(-0.2, 0.2) * ch
        truths.append(paste_face(canvas, astronaut, face_box, w, (cx, cy), mirror=i % 2 == 1))
    return canvas, truths


def matches(found: detect.Box, truth: detect.Box) -> bool:
    """As benchmarks.detector scores a box: centre within half a face width, width 0.5-2x."""
    dx = found.x + found.width / 2 - truth.x - truth.width / 2
    dy = found.y + found.height / 2 - truth.y - truth.height / 2
    return math.hypot(dx, dy) < truth.width / 2 and 0.5 <= found.width / truth.width <= 2


def assert_found_exactly(found, truths) -> None:
    for t in truths:
        assert sum(matches(f.box, t) for f in found) == 1, (t, [f.box for f in found])
    assert len(found) == len(truths), [f.box for f in found]


@pytest.mark.parametrize("size", [(1920, 1080), (1080, 1920)])
def test_a_group_in_hd_with_faces_of_40_to_60_px_is_all_found(detector, astronaut, face_box,
                                                              size):
    widths = [40, 42, 44, 46, 48, 50, 52, 54, 56, 58, 60, 45]
    picture, truths = group(astronaut, face_box, size, widths)
    found = detector.detect(picture)
    assert_found_exactly(found, truths)
    assert all(set(f.landmarks) == set(LANDMARKS) for f in found)


def test_a_face_on_the_line_between_two_tiles_is_found_once(detector, astronaut, face_box):
    size = (4000, 3000)
    s = detect.TILES.face / detect.smallest_face(*size)
    tw, _, xs, _ = detect.TILES.layout(round(size[0] * s), round(size[1] * s))
    cut = (xs[0] + tw + xs[1]) / 2 / s          # in the picture's pixels
    picture = face_free(size)
    truths = [paste_face(picture, astronaut, face_box, 100, (cut, 1500)),
              paste_face(picture, astronaut, face_box, 300, (cut + 1, 600)),
              paste_face(picture, astronaut, face_box, 70, (cut - 60, 2500))]
    assert_found_exactly(detector.detect(picture), truths)


def test_a_picture_decoded_reduced_is_searched_for_the_faces_of_the_picture_sent(
        detector, astronaut, face_box):
    """With scale 2 (a JPEG decoded at half size), the smallest face is that of the picture
    as sent: a 2000x1500 image of a 4000x3000 photo is searched down to its ~32 px faces."""
    picture = face_free((2000, 1500))
    truths = [paste_face(picture, astronaut, face_box, 34, (500, 500)),
              paste_face(picture, astronaut, face_box, 120, (1500, 1000))]
    assert_found_exactly(detector.detect(picture, scale=2.0), truths)
    # As the image's own size, 2000x1500 is searched down to 40 px: the 34 px face is not.
    assert detect.smallest_face(2000, 1500) == 40


def test_a_long_strip_is_searched_in_at_most_four_tiles_along_it():
    for size in [(12000, 2000), (20000, 1000), (65535, 366)]:
        s = detect.TILES.face / detect.smallest_face(*size)
        _, _, xs, ys = detect.TILES.layout(round(size[0] * s), max(1, round(size[1] * s)))
        assert len(xs) <= 4 and len(ys) == 1


def test_pictures_of_many_shapes_keep_a_bounded_number_of_interpreters():
    detector = FaceDetector()
    for i in range(12):
        detector.detect(Image.new("RGB", (1000 + 97 * i, 700)))      # one aspect ratio each
    nets = [*detector._nets, *detector._bridges.values()]
    assert max(len(n._runners) for n in nets) <= detect.MAX_SHAPES
