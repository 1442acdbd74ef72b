"""Write the API Gateway test events in events/ (committed; rerun this to regenerate them).

    .venv/bin/python -m tools.make_events [--out events]

The face is scikit-image's astronaut (NASA, public domain). Shapes follow what API Gateway
sends a Lambda proxy integration: HTTP API payload 2.0 and REST API payload 1.0.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
from pathlib import Path

from PIL import Image

OUT = Path(__file__).resolve().parent.parent / "events"
ACCOUNT = "123456789012"
API_ID = "a1b2c3d4e5"
REGION = "us-east-1"
DOMAIN = f"{API_ID}.execute-api.{REGION}.amazonaws.com"
ORIGIN = "https://d111111abcdef8.cloudfront.net"   # the site, calling the API cross-origin
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
SOURCE_IP = "198.51.100.23"
TIME, EPOCH_MS = "24/Nov/2025:12:00:00 +0000", 1763985600000
# A 160x160 box around the astronaut's face in the 512x512 original: a tight face crop,
# what detect=false expects.
FACE_BOX = (144, 32, 304, 192)


def _jpeg(image: Image.Image, quality: int = 85) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def astronaut_images() -> tuple[bytes, bytes]:
    """(face crop, whole picture), both 160x160 JPEGs: small enough for a Lambda event."""
    from skimage import data

    full = Image.fromarray(data.astronaut())
    return _jpeg(full.crop(FACE_BOX)), _jpeg(full.resize((160, 160), Image.LANCZOS))


def http_api_event(method: str, path: str, request_id: str, *, query: dict[str, str] | None = None,
                   headers: dict[str, str] | None = None, body: bytes | str | None = None
                   ) -> dict:
    """Payload format 2.0. HTTP APIs lower-case header names and base64 any body that is not
    text, so binary images arrive with isBase64Encoded true."""
    query = query or {}
    all_headers = {"accept": "application/json", "host": DOMAIN, "origin": ORIGIN,
                   "user-agent": USER_AGENT, "x-forwarded-for": SOURCE_IP,
                   "x-forwarded-port": "443", "x-forwarded-proto": "https",
                   "x-amzn-trace-id": f"Root=1-6743f600-{request_id.replace('-', '')[:24]}",
                   **(headers or {})}
    text, is_b64 = _encode_body(body, all_headers, "content-length")
    event: dict = {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in query.items()),
        "headers": all_headers,
    }
    if query:
        event["queryStringParameters"] = query
    event["requestContext"] = {
        "accountId": ACCOUNT, "apiId": API_ID, "domainName": DOMAIN, "domainPrefix": API_ID,
        "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                 "sourceIp": SOURCE_IP, "userAgent": USER_AGENT},
        "requestId": request_id, "routeKey": f"{method} {path}", "stage": "$default",
        "time": TIME, "timeEpoch": EPOCH_MS,
    }
    if text is not None:
        event["body"] = text
    event["isBase64Encoded"] = is_b64
    return event


def rest_api_event(method: str, path: str, request_id: str, *, query: dict[str, str] | None = None,
                   headers: dict[str, str] | None = None, body: bytes | str | None = None,
                   stage: str = "Prod") -> dict:
    """Payload format 1.0 (REST API proxy integration): header names as the client sent
    them, plus the multi-value copies; a binary body is base64 when the API lists its type
    in binaryMediaTypes."""
    all_headers = {"Accept": "application/json", "Host": DOMAIN, "Origin": ORIGIN,
                   "User-Agent": USER_AGENT, "X-Forwarded-For": SOURCE_IP,
                   "X-Forwarded-Port": "443", "X-Forwarded-Proto": "https",
                   **(headers or {})}
    text, is_b64 = _encode_body(body, all_headers, "Content-Length")
    return {
        "resource": path, "path": path, "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": None, "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT, "apiId": API_ID, "domainName": DOMAIN,
            "domainPrefix": API_ID, "extendedRequestId": request_id[:16] + "=",
            "httpMethod": method, "path": f"/{stage}{path}", "protocol": "HTTP/1.1",
            "identity": {"sourceIp": SOURCE_IP, "userAgent": USER_AGENT, "accountId": None,
                         "caller": None, "user": None, "userArn": None},
            "requestId": request_id, "requestTime": TIME, "requestTimeEpoch": EPOCH_MS,
            "resourceId": "abc123", "resourcePath": path, "stage": stage,
        },
        "body": text, "isBase64Encoded": is_b64,
    }


def _encode_body(body: bytes | str | None, headers: dict[str, str],
                 length_header: str) -> tuple[str | None, bool]:
    """(event body, isBase64Encoded); sets Content-Length as API Gateway passes it on."""
    if body is None:
        return None, False
    headers[length_header] = str(len(body.encode() if isinstance(body, str) else body))
    if isinstance(body, str):
        return body, False
    return base64.b64encode(body).decode("ascii"), True


def build_events() -> dict[str, dict]:
    crop, whole = astronaut_images()
    jpeg = {"content-type": "image/jpeg"}
    as_json = json.dumps({"image": base64.b64encode(whole).decode("ascii"), "detect": True})
    return {
        "face-http-api.json": http_api_event(
            "POST", "/face", "5f0e0c9e-8b1a-4d5c-9c39-0d6f3e3b7a11", query={"detect": "false"},
            headers=jpeg, body=crop),
        "face-json-http-api.json": http_api_event(
            "POST", "/face", "8c2d4b7e-1f3a-4e6b-a5c8-2b9d0e1f4a22",
            headers={"content-type": "application/json"}, body=as_json),
        "face-rest-api.json": rest_api_event(
            "POST", "/face", "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", query={"detect": "false"},
            headers={"Content-Type": "image/jpeg"}, body=crop),
        "health-http-api.json": http_api_event(
            "GET", "/health", "1d3e5f70-2a4b-4c6d-8e0f-1a2b3c4d5e33"),
        "health-rest-api.json": rest_api_event(
            "GET", "/health", "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c44"),
        "bad-content-type-http-api.json": http_api_event(
            "POST", "/face", "2b4c6d8e-0f1a-4b3c-9d5e-7f8a9b0c1d55",
            headers={"content-type": "text/plain"}, body="this is not an image"),
        "bad-json-http-api.json": http_api_event(
            "POST", "/face", "3c5d7e9f-1a2b-4c4d-8e6f-8a9b0c1d2e66",
            headers={"content-type": "application/json"}, body='{"img": "no image key"}'),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    out = parser.parse_args(argv).out
    out.mkdir(parents=True, exist_ok=True)
    for name, event in build_events().items():
        (out / name).write_text(json.dumps(event, indent=2) + "\n")
        print(f"{out / name}: {(out / name).stat().st_size} bytes")


if __name__ == "__main__":
    main()
