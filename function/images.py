"""Turning what a client sent into one RGB picture, or a clear 4xx saying why not."""

from __future__ import annotations

import base64
import binascii
import io
import json
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from function.detect import smallest_face
from function.errors import APIError
from function.limits import IMAGE_FORMATS, MAX_BODY_BYTES, MAX_JSON_DEPTH, MAX_PIXELS

# PIL's own bomb guard fires only at twice its limit; ours is checked before decoding.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

# A large JPEG is decoded reduced (PIL's draft mode: libjpeg scales by 1/2, 1/4 or 1/8 as it
# decodes; 4000x3000 at 1/2 in 21 instead of 35 ms), as far as the smallest face searched for
# in it (function.detect.smallest_face) keeps this width: the detector needs 20 px of it,
# the classifier gets more detail the more there is. A 12 MP photo is decoded at half size
# (its 64 px faces at 32 px), 6000x4000 too (90 px faces at 45); up to ~10 MP nothing is
# left out.
DECODE_FACE = 30

_MAGIC = {b"GIF8": "GIF", b"BM": "BMP", b"II*\x00": "TIFF", b"MM\x00*": "TIFF",
          b"\x00\x00\x01\x00": "ICO", b"%PDF": "PDF"}
FORMATS_TEXT = "JPEG, PNG or WebP"


@dataclass
class Decoded:
    image: Image.Image       # RGB, EXIF orientation applied, possibly reduced (see scale)
    width: int               # size of the picture as sent (after EXIF rotation)
    height: int
    scale: float             # sent pixels per decoded pixel (1.0 unless JPEG draft reduced it)


def decode_base64(text: str, *, plus_as_space: bool = False) -> bytes:
    """Base64 or a ``data:image/...;base64,`` URL to bytes; standard or URL-safe alphabet."""
    s = text.strip()
    if s.startswith("data:"):
        head, sep, s = s.partition(",")
        if not sep or not head.endswith(";base64"):
            raise APIError(400, "invalid_base64",
                           "a data URL must look like data:image/jpeg;base64,<data>")
    if plus_as_space:
        # Prototype clients posted base64 url-encoded without escaping '+', which
        # url-decoding turns into spaces.
        s = s.replace(" ", "+")
    s = "".join(s.split()).replace("-", "+").replace("_", "/")
    if not s:
        raise APIError(400, "missing_image", "the image field is empty")
    if len(s) % 4 == 1:
        raise APIError(400, "invalid_base64", "the image is not valid base64 (bad length)")
    try:
        return base64.b64decode(s + "=" * (-len(s) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise APIError(400, "invalid_base64",
                       "the image is not valid base64 (or a data: URL)") from None


def parse_json(body: bytes) -> dict:
    try:
        data = json.loads(body)
    except RecursionError:
        raise APIError(400, "invalid_json", "the JSON body is nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise APIError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise APIError(400, "invalid_json",
                       'the JSON body must be an object: {"image": "<base64>", "detect": true}')
    if _depth(data) > MAX_JSON_DEPTH:
        raise APIError(400, "invalid_json", "the JSON body is nested too deeply")
    return data


def _depth(value: object, level: int = 1) -> int:
    if level > MAX_JSON_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level)
    return level


def decode_image(data: bytes) -> Decoded:
    if not data:
        raise APIError(400, "missing_image", "no image was sent")
    if len(data) > MAX_BODY_BYTES:
        raise APIError(413, "payload_too_large",
                       f"the image is {len(data)} bytes; the limit is {MAX_BODY_BYTES}")
    try:
        im = Image.open(io.BytesIO(data), formats=list(IMAGE_FORMATS))
    except UnidentifiedImageError:
        raise _not_supported(data) from None
    except Image.DecompressionBombError:
        raise _too_many_pixels() from None
    except Exception:  # noqa: BLE001 - any parser failure on hostile bytes is the client's
        raise APIError(400, "invalid_image", f"the data is not a readable {FORMATS_TEXT} "
                       "image") from None
    w, h = im.size
    if w < 1 or h < 1 or w * h > MAX_PIXELS:
        raise _too_many_pixels(w, h)
    try:
        k = reduction(w, h) if im.format == "JPEG" else 1
        if k > 1:
            # max(1, ...): a 0 side (a 1 x 2000 strip) makes PIL's draft divide by zero.
            im.draft("RGB", (max(1, w // k), max(1, h // k)))
        im.load()
        scale = w / im.size[0]
        # EXIF orientations 5-8 turn the picture a quarter: the user sees it h x w.
        orientation = im.getexif().get(0x0112, 1)
        turned = orientation in (5, 6, 7, 8)
        # exif_transpose copies an upright picture too (0.04 ms a webcam frame): skipped.
        if orientation != 1:
            im = ImageOps.exif_transpose(im)
        sent_w, sent_h = (h, w) if turned else (w, h)
        rgb = to_rgb(im)
    except Image.DecompressionBombError:
        raise _too_many_pixels(w, h) from None
    except Exception:  # noqa: BLE001 - truncated or corrupt data
        raise APIError(400, "invalid_image",
                       f"the {im.format or 'image'} data is truncated or corrupt") from None
    return Decoded(rgb, sent_w, sent_h, scale)


def reduction(width: int, height: int) -> int:
    """How many times smaller (1, 2, 4 or 8) a JPEG of this size is decoded."""
    face = smallest_face(width, height)
    return next((k for k in (8, 4, 2) if face / k >= DECODE_FACE), 1)


def to_rgb(im: Image.Image) -> Image.Image:
    """Any PIL mode to 8-bit RGB: 16-bit and float scaled down, alpha composited on white."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        top = 65535.0 if im.mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        if im.mode == "F" and arr.max(initial=0) <= 1.0:
            top = 1.0
        return Image.fromarray(np.clip(arr * (255.0 / top), 0, 255).astype(np.uint8)).convert("RGB")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
            im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        white = Image.new("RGB", im.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    return im.convert("RGB") if im.mode != "RGB" else im


def _too_many_pixels(w: int = 0, h: int = 0) -> APIError:
    size = f"{w}x{h} pixels" if w else "too many pixels"
    return APIError(413, "too_many_pixels",
                    f"the image is {size}; the limit is {MAX_PIXELS:,} pixels")


def _not_supported(data: bytes) -> APIError:
    for magic, name in _MAGIC.items():
        if data.startswith(magic):
            return APIError(415, "unsupported_image_format",
                            f"{name} images are not supported; send {FORMATS_TEXT}")
    return APIError(400, "invalid_image", f"the data is not a {FORMATS_TEXT} image")
