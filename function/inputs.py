"""Reading one image (and the ``detect`` flag) from the three request shapes /face accepts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from function.errors import APIError, error_response
from function.images import decode_base64, parse_json
from function.limits import IMAGE_FORMATS, MAX_BODY_BYTES

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
ACCEPTED_TYPES = ("application/json", *FORM_TYPES, *IMAGE_FORMATS.values())
FORM_FIELD = "imgBase64"
# The values ``detect`` takes, wherever it is given (query, JSON, form); JSON may also use
# its booleans and the numbers 1 and 0. Anything else is a 422.
FLAG_VALUES = {"true": True, "1": True, "false": False, "0": False}
FlagText = Literal[tuple(FLAG_VALUES)]


@dataclass
class ImageRequest:
    data: bytes
    detect: bool


def _too_large() -> APIError:
    return APIError(413, "payload_too_large",
                    f"the request body is over the limit of {MAX_BODY_BYTES} bytes")


# The first bytes of each accepted image format, to say what a mislabelled body really is.
_SIGNATURES = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))


def sniff_image(body: bytes) -> str | None:
    """The accepted image type ``body`` starts like, or None."""
    for signature, ctype in _SIGNATURES:
        if body.startswith(signature):
            return ctype
    if body[:4] == b"RIFF" and body[8:12] == b"WEBP":
        return "image/webp"
    return None


def _mislabelled(body: bytes, ctype: str) -> APIError | None:
    """A clear 415 for image bytes sent under a form type or none: curl's -d and
    --data-binary label a body application/x-www-form-urlencoded unless told otherwise."""
    image = sniff_image(body)
    if image is None:
        return None
    said = f"its Content-Type is {ctype}" if ctype else "it has no Content-Type"
    hint = (" (what curl -d and --data-binary send unless told otherwise)"
            if ctype == FORM_TYPES[0] else "")
    return APIError(415, "unsupported_media_type",
                    f"the body is a {image.split('/')[1].upper()} image but {said}{hint}: "
                    f"send it with Content-Type: {image}")


def parse_flag(value: object, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value in FLAG_VALUES:
        return FLAG_VALUES[value]
    raise APIError(422, "invalid_parameter",
                   f"{where} must be one of true, false, 1, 0")


async def read_image_request(request: Request, detect: str | None) -> ImageRequest:
    """``detect`` from the query string wins over one in the body; when neither says, the
    prototype's ``imgBase64`` text field (tight crops) means false, everything else
    (JSON, image bodies, a multipart file) true."""
    flag = None if detect is None else parse_flag(detect, "the detect query parameter")
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json":
        data = parse_json(await request.body())
        image = data.get("image")
        if image is None or image == "":
            # The prototype's field name is a form field's; in JSON the image is "image".
            hint = (f' ("{FORM_FIELD}" is the form field\'s name; in JSON it is "image")'
                    if FORM_FIELD in data else "")
            raise APIError(400, "missing_image",
                           'the JSON body has no "image": send {"image": "<base64>"}' + hint)
        if not isinstance(image, str):
            raise APIError(400, "invalid_base64", '"image" must be a base64 string')
        if flag is None and "detect" in data:
            flag = parse_flag(data["detect"], '"detect"')
        return ImageRequest(decode_base64(image), True if flag is None else flag)
    if ctype in FORM_TYPES:
        if (mislabelled := _mislabelled(await request.body(), ctype)) is not None:
            raise mislabelled
        return await _read_form(request, ctype, flag)
    if ctype in IMAGE_FORMATS.values():
        body = await request.body()
        if not body:
            raise APIError(400, "missing_image", "the request body is empty")
        return ImageRequest(body, True if flag is None else flag)
    if not ctype and not await request.body():
        raise APIError(400, "missing_image", "no image was sent")
    if not ctype and (mislabelled := _mislabelled(await request.body(), ctype)) is not None:
        raise mislabelled
    raise APIError(415, "unsupported_media_type",
                   f"Content-Type {ctype or '(none)'} is not accepted; use one of: "
                   + ", ".join(ACCEPTED_TYPES))


async def _read_form(request: Request, ctype: str, flag: bool | None) -> ImageRequest:
    try:
        form = await request.form(max_files=1, max_fields=16, max_part_size=MAX_BODY_BYTES)
    except APIError:
        raise
    except Exception:  # noqa: BLE001 - malformed multipart or url-encoding
        raise APIError(400, "invalid_form",
                       f"the body is not a valid {ctype} form (to send an image file as the "
                       "body, label it image/jpeg, image/png or image/webp)") from None
    try:
        name = FORM_FIELD if form.get(FORM_FIELD) else "image"
        value = form.get(name)
        if flag is None and form.get("detect") is not None:
            flag = parse_flag(form.get("detect"), "form field detect")
        if value is None or value == "":
            raise APIError(400, "missing_image", f"the form has no {FORM_FIELD} field with a "
                           "base64 image and no image file")
        if isinstance(value, UploadFile):
            data = await value.read()   # a multipart file part carries raw image bytes
            crop = False                # a file is a photo, whatever its part is called
        else:
            data = decode_base64(value, plus_as_space=ctype == FORM_TYPES[0])
            crop = name == FORM_FIELD   # the prototype sent face crops in this field
    finally:
        await form.close()
    return ImageRequest(data, (not crop) if flag is None else flag)


class BodyLimitMiddleware:
    """Stops reading a request body past MAX_BODY_BYTES, whether or not it declared its
    length, so an oversized or endless upload is refused without being buffered."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared < 0:
                    await error_response(400, "invalid_content_length",
                                         "Content-Length is not a number")(scope, receive, send)
                    return
                if declared > self.limit:
                    exc = _too_large()
                    await error_response(exc.status, exc.code, exc.message)(scope, receive, send)
                    return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _too_large()
            return message

        await self.app(scope, limited, send)
