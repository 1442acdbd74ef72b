"""The API as a client sees it, through FastAPI's TestClient."""

from __future__ import annotations

import base64
import io
import json
import zlib

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from function.handler import THREADS, app, get_model
from function.limits import MAX_BODY_BYTES, MAX_PIXELS
from function.model import LABELS

client = TestClient(app)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def encode(im: Image.Image, fmt: str = "JPEG", **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def assert_predictions(preds: dict) -> None:
    assert set(preds) == set(LABELS)
    values = list(preds.values())
    assert values == sorted(values, reverse=True)
    assert sum(values) == pytest.approx(1.0, abs=2e-3)


def assert_error(r, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"]["code"] == code
    assert body["error"]["message"]


def test_health_reports_the_loaded_model():
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["model"] == get_model().info.id
    assert body["labels"] == list(LABELS)
    assert body["input_size"] == get_model().info.input_size
    assert body["precision"] == get_model().precision in ("fp32", "bf16")
    assert body["threads"] == THREADS     # what torch was set to, wherever asked


def test_raw_jpeg_frame_finds_the_face_and_rates_it(astronaut_jpeg):
    r = client.post("/face", content=astronaut_jpeg, headers={"Content-Type": "image/jpeg"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["faces"]) == 1
    face = body["faces"][0]
    box = face["box"]
    # The astronaut's face sits at about x 255-365, y 75-190 of the 640x480 frame.
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    assert 270 < cx < 350 and 90 < cy < 180, box
    assert 60 < box["width"] < 200
    assert_predictions(face["predictions"])
    assert face["emotion"] == next(iter(face["predictions"]))
    assert face["confidence"] == face["predictions"][face["emotion"]]
    assert body["predictions"] == face["predictions"]
    assert body["model"] == get_model().info.id
    assert "classify;dur=" in r.headers["server-timing"]


def test_the_astronaut_at_300_px_in_a_frame_is_found_on_her_face(astronaut):
    """Her face is about 60 px wide, frontal, well lit: the case the Haar cascade missed."""
    frame = Image.new("RGB", (640, 480), (90, 100, 110))
    frame.paste(astronaut.resize((300, 300)), (170, 90))
    body = client.post("/face", content=encode(frame),
                       headers={"Content-Type": "image/jpeg"}).json()
    [face] = body["faces"]
    b = face["box"]
    # Her eyes, by eye in the 512 px picture (204, 101) and (247, 105), pasted at 300/512.
    for x, y in ((170 + 204 * 300 / 512, 90 + 101 * 300 / 512),
                 (170 + 247 * 300 / 512, 90 + 105 * 300 / 512)):
        assert b["x"] < x < b["x"] + b["width"] and b["y"] < y < b["y"] + b["height"], b
    assert 40 < b["width"] < 100
    marks = {m["type"]: (m["x"], m["y"]) for m in face["landmarks"]}
    assert {"right_eye", "left_eye", "nose", "mouth"} <= set(marks)
    assert marks["right_eye"][0] < marks["left_eye"][0]     # her right eye is on the left


def test_json_data_url_detects_by_default(astronaut_jpeg):
    url = "data:image/jpeg;base64," + b64(astronaut_jpeg)
    body = client.post("/face", json={"image": url}).json()
    assert len(body["faces"]) == 1 and body["faces"][0]["box"]["width"] < 640


def test_detect_false_classifies_the_whole_image_as_one_face(astronaut):
    crop = encode(astronaut.crop((150, 50, 330, 230)).resize((90, 90)))
    for r in (client.post("/face", json={"image": b64(crop), "detect": False}),
              client.post("/face?detect=false", content=crop,
                          headers={"Content-Type": "image/jpeg"})):
        body = r.json()
        assert r.status_code == 200
        assert body["faces"][0]["box"] == {"x": 0, "y": 0, "width": 90, "height": 90}
        assert_predictions(body["predictions"])


def test_prototype_form_request_means_a_face_crop(astronaut_jpeg):
    r = client.post("/face", data={"imgBase64": "data:image/jpeg;base64," + b64(astronaut_jpeg)})
    assert r.status_code == 200
    assert r.json()["faces"][0]["box"] == {"x": 0, "y": 0, "width": 640, "height": 480}
    detected = client.post("/face", data={"imgBase64": b64(astronaut_jpeg), "detect": "true"})
    assert detected.json()["faces"][0]["box"]["width"] < 640


def test_form_base64_whose_plus_signs_became_spaces_still_decodes(astronaut_jpeg):
    text = b64(astronaut_jpeg)
    assert "+" in text
    body = "imgBase64=" + text.replace("+", " ").replace("/", "%2F").replace("=", "%3D")
    r = client.post("/face", content=body,
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200, r.text


def test_multipart_form_field_and_file_part(astronaut_jpeg):
    r = client.post("/face", files={"imgBase64": (None, b64(astronaut_jpeg))})
    assert r.status_code == 200, r.text
    assert r.json()["faces"][0]["box"]["width"] == 640      # the prototype's crop field


def test_a_multipart_file_upload_is_a_photo_whose_faces_are_found(astronaut_jpeg):
    """curl -F image=@photo.jpg: detected by default, whatever the part is called."""
    for name in ("image", "imgBase64"):
        r = client.post("/face", files={name: ("photo.jpg", astronaut_jpeg, "image/jpeg")})
        assert r.status_code == 200, r.text
        [face] = r.json()["faces"]
        assert face["box"]["width"] < 640 and face["landmarks"]
    r = client.post("/face", files={"image": ("photo.jpg", astronaut_jpeg, "image/jpeg")},
                    data={"detect": "false"})
    assert r.json()["faces"][0]["box"]["width"] == 640


def test_detect_takes_true_false_1_and_0(astronaut_jpeg):
    whole = {"x": 0, "y": 0, "width": 640, "height": 480}
    hdr = {"Content-Type": "image/jpeg"}
    for value, crop in (("true", False), ("1", False), ("false", True), ("0", True)):
        for r in (client.post(f"/face?detect={value}", content=astronaut_jpeg, headers=hdr),
                  client.post("/face", data={"imgBase64": b64(astronaut_jpeg), "detect": value}),
                  client.post("/face", json={"image": b64(astronaut_jpeg), "detect": value})):
            assert r.status_code == 200, (value, r.text)
            assert (r.json()["faces"][0]["box"] == whole) is crop, value
    for value, crop in ((True, False), (1, False), (False, True), (0, True)):
        r = client.post("/face", json={"image": b64(astronaut_jpeg), "detect": value})
        assert (r.json()["faces"][0]["box"] == whole) is crop, value


def test_no_face_says_so_without_guessing():
    blank = encode(Image.new("RGB", (640, 480), (120, 130, 140)))
    body = client.post("/face", content=blank, headers={"Content-Type": "image/jpeg"}).json()
    assert body["faces"] == [] and body["predictions"] is None


def test_two_faces_largest_first(astronaut):
    frame = Image.new("RGB", (900, 450), (90, 100, 110))
    frame.paste(astronaut.resize((420, 420)), (10, 15))
    frame.paste(astronaut.resize((280, 280)), (560, 80))
    r = client.post("/face", content=encode(frame), headers={"Content-Type": "image/jpeg"})
    body = r.json()
    assert len(body["faces"]) == 2
    big, small = body["faces"]
    assert big["box"]["width"] > small["box"]["width"]
    assert big["box"]["x"] < 450 < small["box"]["x"]
    assert body["predictions"] == big["predictions"]


def test_openapi_schema_documents_every_request_shape():
    spec = client.get("/openapi.json").json()
    op = spec["paths"]["/face"]["post"]
    assert set(op["requestBody"]["content"]) == {
        "application/json", "application/x-www-form-urlencoded", "multipart/form-data",
        "image/jpeg", "image/png", "image/webp"}
    assert {"200", "400", "413", "415", "422"} <= set(op["responses"])
    assert "/health" in spec["paths"]
    [detect] = [p for p in op["parameters"] if p["name"] == "detect"]
    assert set(detect["schema"]["anyOf"][0]["enum"]) == {"true", "false", "1", "0"}
    face = spec["components"]["schemas"]["FaceOut"]
    assert "landmarks" in face["required"]
    multipart = op["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert multipart["properties"]["image"]["format"] == "binary"


# --- bad input: always a 4xx with {"error": {"code", "message"}} -------------------------

def test_missing_image_in_each_request_shape():
    assert_error(client.post("/face", json={}), 400, "missing_image")
    assert_error(client.post("/face", json={"image": ""}), 400, "missing_image")
    assert_error(client.post("/face", data={"other": "x"}), 400, "missing_image")
    assert_error(client.post("/face", content=b"", headers={"Content-Type": "image/png"}),
                 400, "missing_image")
    assert_error(client.post("/face"), 400, "missing_image")


def test_the_prototypes_field_sent_as_json_is_told_the_json_name():
    r = client.post("/face", json={"imgBase64": "aGVsbG8="})
    assert_error(r, 400, "missing_image")
    assert '"image"' in r.json()["error"]["message"] and "imgBase64" in r.json()["error"]["message"]


def test_not_base64():
    assert_error(client.post("/face", json={"image": "not base64 at all!"}), 400,
                 "invalid_base64")
    assert_error(client.post("/face", json={"image": "data:image/png,abc"}), 400,
                 "invalid_base64")
    assert_error(client.post("/face", json={"image": 42}), 400, "invalid_base64")


def test_not_an_image_or_unsupported_format():
    assert_error(client.post("/face", json={"image": b64(b"hello world, not an image")}),
                 400, "invalid_image")
    gif = encode(Image.new("RGB", (32, 32)), "GIF")
    assert_error(client.post("/face", json={"image": b64(gif)}), 415,
                 "unsupported_image_format")
    truncated = encode(Image.new("RGB", (200, 200), (200, 10, 10)))[:300]
    assert_error(client.post("/face", content=truncated, headers={"Content-Type": "image/jpeg"}),
                 400, "invalid_image")


def test_too_large_body_is_refused_before_it_is_read():
    big = b"\xff" * (MAX_BODY_BYTES + 1)
    assert_error(client.post("/face", content=big, headers={"Content-Type": "image/jpeg"}),
                 413, "payload_too_large")

    def chunks():   # no Content-Length: the limit holds while streaming
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b"\0" * 65536

    assert_error(client.post("/face", content=chunks(), headers={"Content-Type": "image/png"}),
                 413, "payload_too_large")


def png_claiming(width: int, height: int) -> bytes:
    """A tiny valid-looking PNG header that claims a huge size (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (len(data).to_bytes(4, "big") + kind + data
                + zlib.crc32(kind + data).to_bytes(4, "big"))
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))


def test_too_many_pixels():
    side = int(MAX_PIXELS ** 0.5) + 10
    r = client.post("/face", content=png_claiming(side, side),
                    headers={"Content-Type": "image/png"})
    assert_error(r, 413, "too_many_pixels")
    assert_error(client.post("/face", json={"image": b64(png_claiming(60000, 60000))}),
                 413, "too_many_pixels")


def test_wrong_content_type_names_the_valid_ones(astronaut_jpeg):
    r = client.post("/face", content=astronaut_jpeg, headers={"Content-Type": "image/gif"})
    assert_error(r, 415, "unsupported_media_type")
    assert "image/jpeg" in r.json()["error"]["message"]
    assert_error(client.post("/face", content=b"x", headers={"Content-Type": "text/plain"}),
                 415, "unsupported_media_type")


def test_image_bytes_without_an_image_content_type_say_what_to_send(astronaut_jpeg):
    """curl -d / --data-binary label a body as a form unless told otherwise; a body with no
    Content-Type at all is the same mistake. Both say it is an image and how to send it."""
    png = encode(Image.new("RGB", (8, 8)), "PNG")
    for body, kind, ctype in ((astronaut_jpeg, "JPEG", "image/jpeg"), (png, "PNG", "image/png")):
        r = client.post("/face", content=body,
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert_error(r, 415, "unsupported_media_type")
        message = r.json()["error"]["message"]
        assert f"a {kind} image" in message and f"Content-Type: {ctype}" in message
        assert "curl" in message
        r = client.post("/face", content=body)
        assert_error(r, 415, "unsupported_media_type")
        assert "no Content-Type" in r.json()["error"]["message"]
    # A form that is not one says what it expected.
    r = client.post("/face", content=b"--x\r\nnot a part",
                    headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert_error(r, 400, "invalid_form")
    assert "image/jpeg" in r.json()["error"]["message"]


def test_no_docs_page_loads_a_cdn():
    """The API alone has no docs page (FastAPI's loads Swagger UI from a CDN); the local
    server serves /docs from the site's copy (tests/function/test_serve.py)."""
    assert_error(client.get("/docs"), 404, "not_found")
    assert_error(client.get("/redoc"), 404, "not_found")
    assert client.get("/openapi.json").status_code == 200


def test_bad_json_and_deep_json():
    hdr = {"Content-Type": "application/json"}
    assert_error(client.post("/face", content=b"{not json", headers=hdr), 400, "invalid_json")
    assert_error(client.post("/face", content=b"[1, 2]", headers=hdr), 400, "invalid_json")
    assert_error(client.post("/face", content=b"\xff\xfe{}", headers=hdr), 400, "invalid_json")
    deep = b"[" * 100000 + b"]" * 100000
    assert_error(client.post("/face", content=b'{"image": ' + deep + b"}", headers=hdr),
                 400, "invalid_json")
    nested = json.dumps({"image": "x", "a": [[[[[[[[[[1]]]]]]]]]]})
    assert_error(client.post("/face", content=nested, headers=hdr), 400, "invalid_json")


def test_bad_detect_flag(astronaut_jpeg):
    """Only true/false/1/0: "yes", "on", "True", 2 and the like are the documented 422."""
    image = b64(astronaut_jpeg)
    for value in ("yes", "no", "on", "maybe", "True", "", " true"):
        assert_error(client.post(f"/face?detect={value}", json={"image": image}), 422,
                     "invalid_parameter")
        assert_error(client.post("/face", data={"imgBase64": image, "detect": value}), 422,
                     "invalid_parameter")
    for value in ("yes", "perhaps", 2, -1, 0.5, None, [], {}):
        assert_error(client.post("/face", json={"image": image, "detect": value}), 422,
                     "invalid_parameter")


def test_unknown_route_and_method_use_the_error_shape():
    assert_error(client.get("/nope"), 404, "not_found")
    assert_error(client.post("/nope"), 404, "not_found")
    assert_error(client.get("/face"), 405, "method_not_allowed")


def test_cors_headers_follow_the_settings():
    from function.handler import create_app
    from function.settings import Settings

    origin = "https://page.example"
    ask = {"Origin": origin, "Access-Control-Request-Method": "POST",
           "Access-Control-Request-Headers": "Content-Type"}
    allowed = TestClient(create_app(Settings(cors_origins=origin)))
    r = allowed.options("/face", headers=ask)
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == origin
    assert "access-control-allow-origin" not in allowed.options(
        "/face", headers={**ask, "Origin": "https://elsewhere.example"}).headers
    r = allowed.get("/health", headers={"Origin": origin})
    assert r.headers["access-control-allow-origin"] == origin
    assert "server-timing" in r.headers["access-control-expose-headers"].lower()
    # None set (the default): no CORS headers at all.
    plain = TestClient(create_app(Settings(cors_origins="")))
    assert "access-control-allow-origin" not in plain.get("/health",
                                                          headers={"Origin": origin}).headers
