"""The Lambda entry point (Powertools around Mangum around the app) called as Lambda calls
it, with the stored API Gateway events of events/ and a Lambda context object.

The checks on a response live here too; test_lambda_runtime.py runs them on the same
events sent through the real runtime path (emulator + runtime client)."""

from __future__ import annotations

import base64
import copy
import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from function.handler import get_model, handler
from function.model import LABELS

EVENTS = Path(__file__).resolve().parents[2] / "events"
FACE_EVENTS = ["face-http-api.json", "face-json-http-api.json", "face-rest-api.json"]
HEALTH_EVENTS = ["health-http-api.json", "health-rest-api.json"]
ERROR_EVENTS = {"bad-content-type-http-api.json": (415, "unsupported_media_type"),
                "bad-json-http-api.json": (400, "missing_image")}
CROP_SIDE = 160   # tools/make_events.py: detect=false events carry a 160x160 face crop

# Powertools warns when an invocation (/health, a 4xx) adds no metric of its own.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics:UserWarning")


def load_event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


@dataclass
class FakeContext:
    """What Lambda passes as ``context``: the fields Powertools' logger reads."""
    function_name: str = "emotion-api"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 3008
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:emotion-api"
    aws_request_id: str = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    log_group_name: str = "/aws/lambda/emotion-api"
    log_stream_name: str = "2025/11/24/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 15_000


def body_json(response: dict) -> dict:
    """The response's JSON body, after checking the API Gateway proxy response shape."""
    assert set(response) >= {"statusCode", "headers", "body"}, response
    assert isinstance(response["statusCode"], int)
    headers = {k.lower(): v for k, v in response["headers"].items()}
    assert headers["content-type"].split(";")[0] == "application/json"
    assert response.get("isBase64Encoded", False) is False
    return json.loads(response["body"])


def check_face(response: dict, event: dict, model_id: str) -> dict:
    assert response["statusCode"] == 200, response["body"]
    body = body_json(response)
    assert body["model"] == model_id
    preds = body["predictions"]
    assert list(preds) and set(preds) == set(LABELS)
    assert sum(preds.values()) == pytest.approx(1.0, abs=2e-3)
    assert len(body["faces"]) >= 1
    face = body["faces"][0]
    assert face["predictions"] == preds and face["emotion"] == next(iter(preds))
    if (event.get("queryStringParameters") or {}).get("detect") == "false":
        # the whole picture is the face
        assert face["box"] == {"x": 0, "y": 0, "width": CROP_SIDE, "height": CROP_SIDE}
    else:
        box = face["box"]
        assert 0 <= box["x"] < box["x"] + box["width"] <= CROP_SIDE
        assert 0 <= box["y"] < box["y"] + box["height"] <= CROP_SIDE
    headers = {k.lower(): v for k, v in response["headers"].items()}
    assert "classify;dur=" in headers["server-timing"]
    return body


def check_health(response: dict, model_id: str) -> None:
    assert response["statusCode"] == 200, response["body"]
    body = body_json(response)
    assert body["status"] == "ok" and body["model"] == model_id
    assert body["labels"] == list(LABELS)


def check_error(response: dict, status: int, code: str) -> None:
    assert response["statusCode"] == status, response["body"]
    body = body_json(response)
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code and body["error"]["message"]


@pytest.fixture(scope="module")
def model_id() -> str:
    return get_model().info.id


@pytest.mark.parametrize("name", FACE_EVENTS)
def test_face_events(name, model_id):
    event = load_event(name)
    check_face(handler(event, FakeContext()), event, model_id)


@pytest.mark.parametrize("name", HEALTH_EVENTS)
def test_health_events(name, model_id):
    check_health(handler(load_event(name), FakeContext()), model_id)


@pytest.mark.parametrize("name", ERROR_EVENTS)
def test_error_events(name):
    check_error(handler(load_event(name), FakeContext()), *ERROR_EVENTS[name])


def test_unknown_route_is_a_404_in_the_error_shape():
    event = copy.deepcopy(load_event("health-http-api.json"))
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/nope"
    check_error(handler(event, FakeContext()), 404, "not_found")


def test_face_invocation_emits_latency_metrics(model_id, capsys):
    """Powertools writes CloudWatch metrics as EMF lines on stdout, per invocation."""
    capsys.readouterr()
    handler(load_event("face-http-api.json"), FakeContext())
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines()
             if line.startswith('{"_aws"')]
    names = {m["Name"] for b in blobs for d in b["_aws"]["CloudWatchMetrics"]
             for m in d["Metrics"]}
    assert {"Latency", "FacesFound"} <= names
    assert {d["Namespace"] for b in blobs for d in b["_aws"]["CloudWatchMetrics"]} == {
        "EmotionEvaluator"}


@pytest.mark.parametrize("path", sorted(EVENTS.glob("*.json")), ids=lambda p: p.name)
def test_stored_events_are_small_and_well_formed(path):
    assert path.stat().st_size < 100_000
    event = json.loads(path.read_text())
    assert event["requestContext"]["requestId"]
    if event.get("version") == "2.0":
        assert event["routeKey"] == f"{event['requestContext']['http']['method']} " \
                                    f"{event['rawPath']}"
    else:
        assert event["httpMethod"] and event["resource"] == event["path"]
    if event.get("isBase64Encoded"):
        image = Image.open(io.BytesIO(base64.b64decode(event["body"])))
        assert image.format == "JPEG" and image.size == (CROP_SIDE, CROP_SIDE)


def test_stored_events_are_what_the_generator_writes():
    """events/ is generated by tools/make_events.py: the same names, routes and headers
    (image bytes may differ between Pillow versions, so bodies are not compared)."""
    from tools.make_events import build_events

    built = build_events()
    assert sorted(built) == sorted(p.name for p in EVENTS.glob("*.json"))
    for name, event in built.items():
        stored = load_event(name)
        for key in ("routeKey", "rawPath", "path", "httpMethod", "queryStringParameters"):
            assert stored.get(key) == event.get(key), (name, key)
        assert (stored["headers"].keys() == event["headers"].keys()), name
