"""The page finds faces where the server does: its detector (site/blazeface.js, run by
LiteRT.js in the page's worker) against the server's (function/detect/) on the same
pictures — camera frames with faces small and large, several faces, a tilted head, a small
portrait picture like the taiwanese heads, and none. Same faces, same order, boxes to the
pixel, eyes to a hundredth of a pixel."""

from __future__ import annotations

import base64
import io
import math

import pytest
from PIL import Image

from function.detect import PASSES, SHORT_RANGE, TILES, smallest_face, weights_path
from function.detect.blazeface import NUMBERS_FILE
from tools import scenes
from tools.harness import PAGE_DETECT, REPO


def png_url(image: Image.Image) -> str:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def frame_with(widths: list[int], size=(640, 480), tilt: float = 0) -> Image.Image:
    """The astronaut's head, her face this many px wide each time, side by side on a plain
    background."""
    x, y, w, h = scenes.ASTRONAUT_FACE
    from skimage import data

    head = Image.fromarray(data.astronaut()).crop((x - 45, y - 50, x + w + 45, y + h + 70))
    canvas = Image.new("RGB", size, (70, 78, 92))
    left = 4
    for width in widths:
        k = width / w
        f = head.resize((round(head.width * k), round(head.height * k)), Image.LANCZOS)
        if tilt:
            f = f.rotate(tilt, resample=Image.BICUBIC, fillcolor=(70, 78, 92))
        canvas.paste(f, (left, (size[1] - f.height) // 2))
        left += f.width + 8
    return canvas


PICTURES = {
    "one face": lambda: Image.fromarray(scenes.face_frames(scenes.astronaut(), frames=1)[0]),
    "small faces": lambda: frame_with([44, 60, 90]),
    "large face": lambda: frame_with([250]),
    "tilted": lambda: frame_with([160], tilt=25),
    "portrait head": lambda: frame_with([80], size=(154, 192)),
    "16:9 frame": lambda: frame_with([70, 140], size=(640, 360)),
    "no face": lambda: Image.new("RGB", (640, 480), (70, 78, 92)),
}


@pytest.mark.parametrize("name", PICTURES)
def test_the_page_finds_the_faces_the_server_finds(modules_page, face_detector, name):
    image = PICTURES[name]()
    server = face_detector.detect(image)
    found = modules_page.evaluate(PAGE_DETECT, png_url(image))
    assert len(found) == len(server), (found, server)
    if name != "no face":
        assert server, "the picture should hold a face"
    for mine, theirs in zip(found, server, strict=True):
        assert (mine["x"], mine["y"], mine["width"], mine["height"]) == (
            theirs.box.x, theirs.box.y, theirs.box.width, theirs.box.height)
        assert mine["score"] == pytest.approx(theirs.score, abs=1e-4)
        for eye in ("right", "left"):
            x, y = theirs.landmarks[f"{eye}_eye"]
            assert math.dist((mine["eyes"][eye]["x"], mine["eyes"][eye]["y"]), (x, y)) < 0.01


# The page's resizing (blazeface.js's Pyramid, on the frame's RGBA pixels as the worker reads
# them) to the RGB pixels it gives, as base64.
PAGE_RESIZED = """async ([frame, sizes]) => {
    const { Pyramid, pixelsOf } = await import('/blazeface.js');
    const image = new Image();
    image.src = frame;
    await image.decode();
    const canvas = new OffscreenCanvas(image.width, image.height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    ctx.drawImage(image, 0, 0);
    const rgba = ctx.getImageData(0, 0, image.width, image.height).data;
    const pyramid = new Pyramid(pixelsOf(rgba, image.width, image.height));
    return sizes.map(([width, height]) => {
        const im = pyramid.resized(width, height);
        const step = im.channels ?? 3;
        const rgb = new Uint8Array(width * height * 3);
        for (let i = 0; i < width * height; i++) {
            for (let c = 0; c < 3; c++) rgb[3 * i + c] = im.data[step * i + c];
        }
        let text = '';
        for (const byte of rgb) text += String.fromCharCode(byte);
        return btoa(text);
    });
}"""


EXACT = {(320, 240), (160, 120), (128, 96), (320, 180), (128, 72), (256, 320), (77, 96)}


@pytest.mark.parametrize(("picture", "sizes"), [
    ("one face", [(320, 240), (160, 120), (128, 96), (100, 75)]),
    ("portrait head", [(256, 320), (103, 128), (77, 96)]),
    ("16:9 frame", [(320, 180), (128, 72)]),
])
def test_the_page_resizes_the_frame_to_the_servers_pixels(modules_page, picture, sizes):
    """OpenCV's INTER_AREA through the server's halvings, from the frame's RGBA pixels:
    shrinking (2x and not) and enlarging."""
    import numpy as np

    from function.detect.blazeface import Pyramid

    image = PICTURES[picture]()
    pyramid = Pyramid(np.asarray(image))
    got = modules_page.evaluate(PAGE_RESIZED, [png_url(image), [list(s) for s in sizes]])
    for (width, height), data in zip(sizes, got, strict=True):
        want = pyramid.resized(width, height)
        mine = np.frombuffer(base64.b64decode(data), np.uint8).reshape(height, width, 3)
        apart = np.abs(mine.astype(int) - want)
        # A camera frame's sizes (exact halvings, then 1.25x) give the same pixels; other
        # ratios are a grey level off on a few pixels (466 of 7,500 at 100x75), as the port
        # has been since it was written.
        assert apart.max() <= (0 if (width, height) in EXACT else 1), (width, height)


def test_the_page_shrinks_a_large_frame_to_the_whole_picture_size(modules_page, face_detector):
    """A 1280x720 frame is searched in a 640x360 copy; the boxes come back in its pixels."""
    image = frame_with([120, 260], size=(1280, 720))
    small = face_detector.detect(image.resize((640, 360), Image.BILINEAR, reducing_gap=None))
    found = modules_page.evaluate(PAGE_DETECT, png_url(image))
    assert len(found) == len(small) == 2
    for mine, theirs in zip(found, small, strict=True):
        # The browser's own shrinking, not OpenCV's: within a few pixels of 1280 x 720.
        assert abs(mine["x"] - 2 * theirs.box.x) < 6
        assert abs(mine["width"] - 2 * theirs.box.width) < 8


def test_the_page_ships_the_servers_model_file():
    [page] = (REPO / "site" / "vendor").glob("detector-*/models/face_detection_short_range.tflite")
    assert page.read_bytes() == weights_path(SHORT_RANGE).read_bytes()


def test_the_page_reads_the_servers_numbers(modules_page):
    """blazeface.json, as build.sh vendors it: the same passes, and the whole-picture passes
    alone up to the size from which the server tiles a picture."""
    assert (REPO / "site" / "vendor" / "blazeface.json").read_bytes() == NUMBERS_FILE.read_bytes()
    page = modules_page.evaluate("""async () => {
        const { PASSES, LARGEST_PICTURE } = await import('/blazeface.js');
        return { passes: PASSES, largest: LARGEST_PICTURE };
    }""")
    assert page["passes"] == [{"side": p.side, "minScore": p.min_score} for p in PASSES]
    largest = max(p.side for p in PASSES)
    for width in (page["largest"], page["largest"] + 1):
        tiled = TILES.face / smallest_face(width, width * 3 // 4) * width > largest
        assert tiled == (width > page["largest"]), width


def test_the_model_file_is_rewritten_for_each_input_size(modules_page):
    """tflite-shape.js: sizes that are not multiples of 16 are refused, not run."""
    message = modules_page.evaluate("""async () => {
        const { withInputShape } = await import('/tflite-shape.js');
        try { withInputShape(new Uint8Array(8), 100, 128); } catch (e) { return e.message; }
        return null;
    }""")
    assert message and "multiples of 16" in message
