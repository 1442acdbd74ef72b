"""Hostile and odd input, generated here: every request gets a 200 with a well-formed
answer or a 4xx with {"error": {"code", "message"}} -- never a 5xx, never a hang.

test_handler.py and test_images.py hold the basic bad-input cases; these are the rest.
"""

from __future__ import annotations

import base64
import io
import json
import random
import threading
import time
import zlib

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from function.handler import app
from function.limits import MAX_BODY_BYTES, MAX_PIXELS
from function.schemas import FaceResponse

client = TestClient(app)
REQUEST_LIMIT_S = 5.0   # per request; the whole file must stay well under a minute


def post(path: str = "/face", **kw):
    """POST through the TestClient on a thread, so a hang fails the test instead of the run."""
    out: dict = {}

    def go() -> None:
        try:
            out["r"] = client.post(path, **kw)
        except BaseException as exc:  # noqa: BLE001 - re-raised on the test's thread
            out["exc"] = exc

    t = threading.Thread(target=go, daemon=True)
    t0 = time.perf_counter()
    t.start()
    t.join(REQUEST_LIMIT_S)
    elapsed = time.perf_counter() - t0
    assert not t.is_alive(), f"no answer within {REQUEST_LIMIT_S} s"
    if "exc" in out:
        raise out["exc"]
    assert elapsed < REQUEST_LIMIT_S, f"took {elapsed:.1f} s"
    return out["r"]


def assert_sane(r) -> dict:
    """200 with the documented answer, or a 4xx in the error shape."""
    assert r.status_code < 500, r.text
    body = r.json()
    if r.status_code == 200:
        answer = FaceResponse.model_validate(body)
        for face in answer.faces:
            assert sum(face.predictions.values()) == pytest.approx(1.0, abs=2e-3)
            assert face.box.width > 0 and face.box.height > 0
            assert face.box.x >= 0 and face.box.y >= 0
        return body
    assert 400 <= r.status_code < 500, r.text
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body


def raw(data: bytes, ctype: str = "image/jpeg", detect: bool | None = None):
    path = "/face" if detect is None else f"/face?detect={str(detect).lower()}"
    return post(path, content=data, headers={"Content-Type": ctype})


def encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.fixture(scope="module")
def frame(astronaut) -> Image.Image:
    """Upright 640x480 webcam frame; the face sits at about x 255-365, y 75-190."""
    im = Image.new("RGB", (640, 480), (90, 100, 110))
    im.paste(astronaut.resize((400, 400)), (120, 40))
    return im


@pytest.fixture(scope="module")
def small(astronaut) -> dict[str, bytes]:
    """Small originals of each format for the damaged-file corpus (cheap to detect on)."""
    im = astronaut.resize((96, 96))
    return {"image/jpeg": encode(im, "JPEG", quality=80), "image/png": encode(im, "PNG"),
            "image/webp": encode(im, "WEBP", quality=80)}


# --- damaged files ------------------------------------------------------------------------

FORMATS = ("image/jpeg", "image/png", "image/webp")


@pytest.mark.parametrize("ctype", FORMATS)
def test_truncated_files(small, ctype):
    data = small[ctype]
    for cut in (1, 8, 16, 32, len(data) // 4, len(data) // 2, len(data) - 40, len(data) - 2):
        assert_sane(raw(data[:cut], ctype))


@pytest.mark.parametrize("ctype", FORMATS)
def test_bit_flips(small, ctype):
    rng = random.Random(ctype)
    data = small[ctype]
    for _ in range(16):
        b = bytearray(data)
        for _ in range(rng.choice((1, 4, 32))):
            pos = rng.randrange(4, len(b))      # past the magic number: reach the decoder
            b[pos] ^= 1 << rng.randrange(8)
        assert_sane(raw(bytes(b), ctype))


def jpeg_claiming(small_jpeg: bytes, width: int, height: int) -> bytes:
    """A real JPEG whose frame header (SOF0) claims another size."""
    sof = small_jpeg.index(b"\xff\xc0")
    size = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return small_jpeg[:sof + 5] + size + small_jpeg[sof + 9:]


def webp_claiming(width: int, height: int, payload: bytes) -> bytes:
    """An extended (VP8X) WebP whose canvas claims width x height (24-bit fields)."""
    vp8x = bytes(4) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    body = b"WEBP" + b"VP8X" + len(vp8x).to_bytes(4, "little") + vp8x + payload
    return b"RIFF" + len(body).to_bytes(4, "little") + body


def test_huge_dimensions_in_tiny_files(small):
    for w, h in ((60000, 60000), (65535, 1), (1, 65535), (5000, 5000)):
        r = raw(jpeg_claiming(small["image/jpeg"], w, h))
        assert_sane(r)
        if w * h > MAX_PIXELS:
            assert r.status_code == 413
    still = small["image/webp"][12:]   # the VP8 chunk of the small WebP
    for w, h in ((60000, 60000), (16383, 16383), (96, 96)):
        r = raw(webp_claiming(w, h, still), "image/webp")
        assert_sane(r)
        if w * h > MAX_PIXELS:
            assert r.status_code in (400, 413)


def test_image_just_under_the_pixel_limit_in_a_small_file():
    """24 MP of one colour compresses to ~30 KB: decoded in full, so it must still be quick."""
    side = int(MAX_PIXELS ** 0.5) - 1
    data = encode(Image.new("L", (side, side), 128), "PNG", compress_level=9)
    assert len(data) < MAX_BODY_BYTES
    body = assert_sane(raw(data, "image/png"))
    assert body["faces"] == []


# --- odd but valid pictures ---------------------------------------------------------------

def _apng(frame: Image.Image) -> bytes:
    frames = [frame.resize((160, 120)), Image.new("RGB", (160, 120), "blue")]
    return encode(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=100)


def _animated_webp(frame: Image.Image) -> bytes:
    frames = [frame.resize((160, 120)), Image.new("RGB", (160, 120), "red")]
    return encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100)


def _png16(frame: Image.Image) -> bytes:
    arr = np.asarray(frame.convert("L"), np.uint16) * 257
    return encode(Image.fromarray(arr), "PNG")


ODD = {
    "cmyk-jpeg": lambda f: (encode(f.convert("CMYK"), "JPEG"), "image/jpeg"),
    "gray-jpeg": lambda f: (encode(f.convert("L"), "JPEG"), "image/jpeg"),
    "16bit-png": lambda f: (_png16(f), "image/png"),
    "palette-png": lambda f: (encode(f.convert("P", palette=Image.ADAPTIVE), "PNG"), "image/png"),
    "alpha-png": lambda f: (encode(f.convert("RGBA"), "PNG"), "image/png"),
    "alpha-webp": lambda f: (encode(f.convert("RGBA"), "WEBP", lossless=True), "image/webp"),
    "gray-alpha-png": lambda f: (encode(f.convert("LA"), "PNG"), "image/png"),
    "bilevel-png": lambda f: (encode(f.convert("1"), "PNG"), "image/png"),
    "animated-png": lambda f: (_apng(f), "image/png"),
    "animated-webp": lambda f: (_animated_webp(f), "image/webp"),
}


@pytest.mark.parametrize("name", sorted(ODD))
def test_odd_but_valid_images_are_answered(frame, name):
    data, ctype = ODD[name](frame)
    crop = assert_sane(raw(data, ctype, detect=False))
    assert len(crop["faces"]) == 1
    found = assert_sane(raw(data, ctype, detect=True))
    # Shrunk (animations) or dithered to black and white, the face may be lost; not else.
    expected = (0, 1) if name.startswith(("animated", "bilevel")) else (1,)
    assert len(found["faces"]) in expected, found


@pytest.mark.parametrize("size", [(1, 1), (1, 2000), (2000, 1), (2, 2)])
def test_tiny_and_thin_images(size):
    for fmt, ctype in (("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")):
        data = encode(Image.new("RGB", size, (200, 150, 100)), fmt)
        for detect in (True, False):
            assert raw(data, ctype, detect).status_code == 200


def _exif_rotated(upright: Image.Image, orientation: int, fmt: str = "JPEG") -> bytes:
    """Pixels stored turned, with the EXIF orientation that shows them upright."""
    stored = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90,
              8: Image.Transpose.ROTATE_270, 2: Image.Transpose.FLIP_LEFT_RIGHT}[orientation]
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(upright.transpose(stored), fmt, exif=exif.tobytes())


@pytest.mark.parametrize("orientation,fmt", [(6, "JPEG"), (8, "JPEG"), (3, "JPEG"),
                                             (2, "JPEG"), (6, "WEBP"), (6, "PNG")])
def test_exif_rotation_is_honoured_in_the_boxes(frame, orientation, fmt):
    data = _exif_rotated(frame, orientation, fmt)
    body = assert_sane(raw(data, Image.MIME[fmt]))
    assert len(body["faces"]) == 1, body
    box = body["faces"][0]["box"]
    # Where the face is in the upright 640x480 picture, not in the stored pixels.
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    if orientation == 2:            # mirrored: the face's centre mirrors about x = 320
        cx = 640 - cx
    assert 270 < cx < 350 and 90 < cy < 180, box


def test_exif_rotation_of_a_large_jpeg_decoded_reduced(frame):
    """A 12 MP JPEG is decoded at half size (its smallest face still keeps enough pixels):
    boxes must still come back in the sent picture's pixels, turned."""
    big = frame.resize((4000, 3000))
    body = assert_sane(raw(_exif_rotated(big, 6)))
    box = body["faces"][0]["box"]
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    assert 1687 < cx < 2187 and 562 < cy < 1125, box


def test_corrupt_or_odd_exif(frame):
    im = frame.resize((160, 120))
    for orientation in (0, 9, 65535):
        exif = Image.Exif()
        exif[0x0112] = orientation
        assert raw(encode(im, "JPEG", exif=exif.tobytes())).status_code == 200
    good = encode(im, "JPEG", exif=Image.Exif().tobytes())
    app1 = good.index(b"Exif\x00\x00")
    broken = good[:app1 + 6] + b"II*\x00\xff\xff\xff\x7f" + good[app1 + 14:]  # IFD far away
    assert_sane(raw(broken))


# --- request bodies and headers -----------------------------------------------------------

def test_empty_bodies_in_every_shape():
    for ctype in ("application/json", "application/x-www-form-urlencoded", "image/webp",
                  "image/jpeg", "multipart/form-data; boundary=x"):
        r = raw(b"", ctype)
        assert_sane(r)
        assert r.status_code == 400


def test_wrong_or_broken_content_types(small):
    jpeg = small["image/jpeg"]
    assert raw(jpeg, "image/png").status_code == 200           # the bytes decide the format
    assert raw(jpeg, "IMAGE/JPEG; charset=utf-8").status_code == 200
    for ctype in ("multipart/form-data", "multipart/form-data; boundary=",
                  "application/x-www-form-urlencoded", "application/json", "///",
                  "application/octet-stream", "image/", "image/svg+xml", "text/html"):
        r = raw(jpeg, ctype)
        assert_sane(r)
        assert r.status_code != 200
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>'
    assert_sane(raw(svg, "image/png"))
    assert_sane(raw(b'{"image": "x"}', "application/json; charset=latin-1"))


def test_broken_content_length():
    for value in ("-1", "abc", "99999999999999999999999", str(MAX_BODY_BYTES + 1)):
        r = post(content=b"{}", headers={"Content-Type": "application/json",
                                          "Content-Length": value})
        assert_sane(r)


def test_non_utf8_form_fields(small):
    b64 = base64.b64encode(small["image/jpeg"])
    form = "application/x-www-form-urlencoded"
    for body in (b"imgBase64=\xff\xfe\xfd", b"imgBase64=%FF%FE%C3%28", b"\xff\xfe=" + b64,
                 b"imgBase64=" + b64 + b"&detect=%FF", b"imgBase64=" + b64 + b"\xff"):
        assert_sane(raw(body, form))
    boundary = b"XyZ"
    parts = [
        b'Content-Disposition: form-data; name="imgBase64"\r\n\r\n\xff\xfe\xc3\x28',
        b'Content-Disposition: form-data; name="\xff\xfe"\r\n\r\n' + b64,
        b'Content-Disposition: form-data; name="imgBase64"; filename="\xff.jpg"\r\n'
        b"Content-Type: image/jpeg\r\n\r\n" + small["image/jpeg"],
        b'Content-Disposition: form-data; name="detect"\r\n\r\n\xff',
    ]
    for part in parts:
        body = b"--" + boundary + b"\r\n" + part + b"\r\n--" + boundary + b"--\r\n"
        assert_sane(raw(body, "multipart/form-data; boundary=XyZ"))


def test_malformed_multipart():
    ctype = "multipart/form-data; boundary=XyZ"
    many = b"".join(b'--XyZ\r\nContent-Disposition: form-data; name="f%d"\r\n\r\nv\r\n' % i
                    for i in range(100)) + b"--XyZ--\r\n"
    for body in (b"--XyZ\r\n", b"--XyZ\r\ngarbage\r\n\r\n--XyZ--", b"no boundary at all",
                 b"--XyZ\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZ--\r\n", many):
        r = raw(body, ctype)
        assert_sane(r)
        assert r.status_code != 200


def _json_of_size(image_b64: str, size: int) -> bytes:
    """{"image": ..., "pad": "xxx..."} of exactly ``size`` bytes."""
    head = json.dumps({"image": image_b64, "pad": ""}).encode()
    return head[:-2] + b"x" * (size - len(head)) + head[-2:]


def test_json_just_under_and_over_the_body_limit(small):
    image = base64.b64encode(small["image/jpeg"]).decode()
    under = _json_of_size(image, MAX_BODY_BYTES)
    assert len(under) == MAX_BODY_BYTES
    assert assert_sane(post(content=under, headers={"Content-Type": "application/json"}))
    r = post(content=_json_of_size(image, MAX_BODY_BYTES + 1),
             headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and assert_sane(r)
    # The whole budget spent on base64 of junk: decoded, then refused as not an image.
    junk = base64.b64encode(random.Random(0).randbytes(MAX_BODY_BYTES * 3 // 4 - 64)).decode()
    r = post(json={"image": junk})
    assert r.status_code == 400 and assert_sane(r)


def test_huge_or_deep_json():
    hdr = {"Content-Type": "application/json"}
    bodies = [
        b'{"image": "aGk=", "pad": [' + b"0," * 1_500_000 + b"0]}",    # ~3 MB, flat
        b'{"a":' * 200_000 + b"1" + b"}" * 200_000,                     # deep objects
        b'{"image": ' + b'{"a":' * 50 + b"1" + b"}" * 50 + b"}",
        b'{"image": "aGk=", "detect": ' + b"1" * 5000 + b"}",            # huge integer
        b'{"image": "aGk=", "detect": NaN}',
        b'{"image": "aGk=", "detect": null}',
        b'{"image": "aGk=", "image": ["x"]}',                            # duplicate keys
        b'{"image": "\\ud800"}',                                         # lone surrogate
        b'"just a string"', b"null", b"1e999999",
        b'{"image": "' + b"\\u0041" * 200_000 + b'"}',
    ]
    for body in bodies:
        r = post(content=body, headers=hdr)
        assert_sane(r)
        assert r.status_code != 200


def test_base64_edge_cases(small):
    good = base64.b64encode(small["image/jpeg"]).decode()
    for image in ("data:,", "data:image/jpeg;base64,", "data:;base64," + good,
                  "=" * 1000, " \n\t" * 1000, good[:-3], good + "====", "\x00" * 64,
                  "data:image/jpeg;base64," + "\u00e9" * 100):
        assert_sane(post(json={"image": image}))


def test_compressed_png_chunks_are_bounded(small):
    """A PNG whose text chunk inflates to 50 MB (a zip bomb in metadata)."""
    data = small["image/png"]
    bomb = zlib.compress(b"\0" * 50_000_000, 9)
    ztxt = b"Comment\0\0" + bomb
    chunk = (len(ztxt).to_bytes(4, "big") + b"zTXt" + ztxt
             + zlib.crc32(b"zTXt" + ztxt).to_bytes(4, "big"))
    iend = data.rindex(b"IEND") - 4
    assert_sane(raw(data[:iend] + chunk + data[iend:], "image/png"))


# --- concurrency --------------------------------------------------------------------------

def test_concurrent_requests_get_their_own_faces(astronaut):
    """Requests run side by side in the server's thread pool and share one detector and one
    compiled model: each must still get the faces, and the ratings, of its own picture
    (benchmarks/load.py found they did not)."""
    from concurrent.futures import ThreadPoolExecutor

    frames = []
    for side, x in ((400, 120), (350, 260), (380, 0), (360, 200)):
        im = Image.new("RGB", (640, 480), (90, 100, 110))
        im.paste(astronaut.resize((side, side)), (x, 40))
        frames.append(encode(im, "JPEG"))

    def boxes(i: int) -> list:
        r = client.post("/face", content=frames[i % len(frames)],
                        headers={"Content-Type": "image/jpeg"})
        assert r.status_code == 200, r.text
        return [(f["box"], {k: round(v, 5) for k, v in f["predictions"].items()})
                for f in r.json()["faces"]]

    alone = [boxes(i) for i in range(len(frames))]
    assert len({json.dumps(b) for b in alone}) == len(frames)   # four different answers
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(boxes, range(8 * len(frames))))
    assert together == [alone[i % len(frames)] for i in range(len(together))]
