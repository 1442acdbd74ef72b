"""The same stored events through the real Lambda runtime path, over HTTP: the Runtime
Interface Emulator (from the aws-sam-cli wheel) and AWS's runtime client awslambdaric,
running function.handler.handler as the Lambda image does (tools/lambda_local.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from function.handler import get_model
from tests.function.test_lambda_handler import (
    ERROR_EVENTS,
    FACE_EVENTS,
    HEALTH_EVENTS,
    check_error,
    check_face,
    check_health,
    load_event,
)
from tools.lambda_local import LambdaError, LocalLambda, rie_path

pytestmark = pytest.mark.skipif(
    rie_path() is None, reason="no Lambda Runtime Interface Emulator: aws-sam-cli is not "
                               "installed (pip install -r requirements-dev.txt)")

# Generous: the first invoke pays the cold start (torch import, model load) on a busy CI box.
TIMEOUT_S = 90


@pytest.fixture(scope="module")
def fn():
    """One emulator for the module: one cold start, then warm invocations. INFO logs, as
    deployed (the test run may have turned them down)."""
    with LocalLambda(timeout_s=TIMEOUT_S, env={"POWERTOOLS_LOG_LEVEL": "INFO"}) as local:
        yield local


@pytest.fixture(scope="module")
def model_id(fn) -> str:
    body = fn.invoke(load_event("health-http-api.json"))
    return json.loads(body["body"])["model"]


def test_function_loads_the_model_model_path_names(model_id):
    """MODEL_PATH reaches the function: it serves the model this process loaded."""
    assert model_id == get_model().info.id


@pytest.mark.parametrize("name", FACE_EVENTS)
def test_face_events(fn, model_id, name):
    event = load_event(name)
    check_face(fn.invoke(event), event, model_id)


@pytest.mark.parametrize("name", HEALTH_EVENTS)
def test_health_events(fn, model_id, name):
    check_health(fn.invoke(load_event(name)), model_id)


@pytest.mark.parametrize("name", ERROR_EVENTS)
def test_error_events(fn, name):
    check_error(fn.invoke(load_event(name)), *ERROR_EVENTS[name])


def test_function_runs_with_lambda_settings(fn, model_id):
    """The runtime's logs: Powertools JSON lines with the Lambda context and the API
    Gateway request id as correlation id, and the emulator's REPORT line."""
    fn.invoke(load_event("face-http-api.json"))
    logs = fn.logs()
    request_id = load_event("face-http-api.json")["requestContext"]["requestId"]
    assert f'"correlation_id":"{request_id}"' in logs
    assert '"service":"emotion-api"' in logs and '"function_name":"emotion-api"' in logs
    assert "REPORT RequestId:" in logs


def test_init_failure_is_reported(tmp_path):
    """A function that cannot start (no model file) answers with Lambda's error payload."""
    missing = tmp_path / "missing.pt"
    with LocalLambda(timeout_s=TIMEOUT_S, env={"MODEL_PATH": str(missing)}) as local:
        with pytest.raises(LambdaError, match="does not exist") as info:
            local.invoke(load_event("health-http-api.json"))
    assert info.value.payload["errorType"] == "FileNotFoundError"


def test_close_leaves_no_process(fn, model_id):
    """Closing stops the emulator and the runtime it started (then the module's emulator
    is started again for any test after this one)."""
    pid = fn.pid
    processes = [pid, *_descendants(pid)]
    assert len(processes) >= 2, "the runtime should be running after an invocation"
    fn.close()
    for p in processes:
        assert not Path(f"/proc/{p}").exists() or _is_zombie(p), f"process {p} still runs"
    fn.start()


def _descendants(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        for child in (task / "children").read_text().split():
            found += [int(child), *_descendants(int(child))]
    return found


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True
