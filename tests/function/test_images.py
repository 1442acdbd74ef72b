"""Unusual but valid pictures get a correct answer; broken ones a clear 4xx."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from function.errors import APIError
from function.images import decode_base64, decode_image


def encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def test_exif_rotation_is_honoured(astronaut):
    portrait = astronaut.resize((300, 200))          # stored landscape...
    exif = Image.Exif()
    exif[0x0112] = 6                                   # ...shown turned 90 degrees
    d = decode_image(encode(portrait, "JPEG", exif=exif.tobytes()))
    assert (d.width, d.height) == (200, 300)
    assert d.image.size == (200, 300)


@pytest.mark.parametrize("mode", ["L", "CMYK", "P", "RGBA", "LA", "I;16"])
def test_modes_become_rgb(astronaut, mode):
    im = astronaut.resize((64, 64))
    if mode == "I;16":
        arr = (np.asarray(im.convert("L"), np.uint16) * 257)
        im = Image.fromarray(arr)   # uint16 -> mode I;16
    else:
        im = im.convert(mode)
    fmt = "JPEG" if mode in ("L", "CMYK") else "PNG"
    d = decode_image(encode(im, fmt))
    assert d.image.mode == "RGB" and d.image.size == (64, 64)
    # Content survives the conversion (not black or saturated white).
    assert 40 < np.asarray(d.image).mean() < 220


def test_transparent_pixels_become_white():
    im = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    assert np.asarray(decode_image(encode(im, "PNG")).image).min() == 255


def test_one_pixel_and_animated_images():
    assert decode_image(encode(Image.new("RGB", (1, 1), "red"), "PNG")).image.size == (1, 1)
    frames = [Image.new("RGB", (16, 16), c) for c in ("red", "blue")]
    buf = io.BytesIO()
    frames[0].save(buf, "WEBP", save_all=True, append_images=frames[1:], lossless=True)
    d = decode_image(buf.getvalue())
    assert d.image.getpixel((8, 8))[0] > 200   # the first frame


def test_large_jpeg_is_decoded_reduced_with_its_scale_kept(astronaut):
    big = encode(astronaut.resize((4000, 3000)), "JPEG")
    d = decode_image(big)
    assert (d.width, d.height) == (4000, 3000)
    assert max(d.image.size) <= 2000 and d.scale * d.image.size[0] == pytest.approx(4000)


@pytest.mark.parametrize("data", [b"", b"\x89PNG\r\n\x1a\n" + b"\0" * 40, b"RIFF0000WEBPVP8 ",
                                  b"\xff\xd8\xff\xe0" + b"\0" * 20])
def test_broken_data_is_a_client_error(data):
    with pytest.raises(APIError) as e:
        decode_image(data)
    assert 400 <= e.value.status < 500


def test_base64_variants():
    assert decode_base64("aGVsbG8=") == b"hello"
    assert decode_base64("aGVsbG8") == b"hello"                 # padding optional
    assert decode_base64("data:image/png;base64,aGVs\nbG8=") == b"hello"
    assert decode_base64("-_8=") == b"\xfb\xff"                  # URL-safe alphabet
    assert decode_base64("a+8=") == decode_base64("a 8=", plus_as_space=True)
    for bad in ("a", "@@@@", "data:text/plain,hello"):
        with pytest.raises(APIError):
            decode_base64(bad)


@pytest.mark.parametrize("size, k", [((640, 480), 1), ((1920, 1080), 1), ((3264, 2448), 1),
                                     ((4000, 3000), 2), ((4032, 3024), 2), ((6000, 4000), 2),
                                     ((12000, 2000), 2)])
def test_a_jpeg_is_decoded_reduced_as_far_as_its_smallest_face_allows(size, k):
    from function.detect import smallest_face
    from function.images import DECODE_FACE, reduction

    assert reduction(*size) == k
    assert smallest_face(*size) / k >= DECODE_FACE
    assert k == 8 or smallest_face(*size) / (2 * k) < DECODE_FACE     # and no further


def test_a_12_mp_jpeg_is_decoded_at_half_size_and_an_hd_one_whole():
    photo = decode_image(encode(Image.new("RGB", (4000, 3000), (90, 100, 110)), "JPEG"))
    assert photo.image.size == (2000, 1500) and photo.scale == 2.0
    assert (photo.width, photo.height) == (4000, 3000)
    frame = decode_image(encode(Image.new("RGB", (1920, 1080), (90, 100, 110)), "JPEG"))
    assert frame.image.size == (1920, 1080) and frame.scale == 1.0


def test_a_png_is_decoded_whole_whatever_its_size():
    d = decode_image(encode(Image.new("RGB", (4000, 3000), (90, 100, 110)), "PNG"))
    assert d.image.size == (4000, 3000) and d.scale == 1.0
