"""function/settings.py: every variable the README lists is read through Settings, a bad
value is refused with its name and what it may be, and `make run`'s derived defaults."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from function import settings as settings_module
from function.settings import FUNCTION_VARIABLES, SERVER_VARIABLES, Settings, SettingsError

ROOT = Path(__file__).resolve().parents[2]


def variables() -> set[str]:
    """The environment variable of each Settings field."""
    return {settings_module._variable(Settings, f) for f in Settings.model_fields}


def readme_variables() -> set[str]:
    """The variables of the README's table of what `make run` reads."""
    text = (ROOT / "README.md").read_text()
    table = text[text.index("reads these from the environment"):]
    table = table[:table.index("\n\n", table.index("| variable |"))]
    rows = [line.split("|")[1] for line in table.splitlines()[3:]]
    return {name for row in rows for name in re.findall(r"`([A-Z_]+)`", row)}


def test_every_variable_the_readme_lists_is_a_setting():
    listed = readme_variables()
    assert {"PORT", "HOST", "MODEL_PATH", "MODEL_PRECISION", "SLOTS", "TORCH_THREADS",
            "WORKERS", "DETECTOR_THREADS", "CORS_ORIGINS", "LOG_LEVEL"} <= listed
    assert listed <= variables()
    # Each is the function's (Lambda's too) or the local server's, once.
    assert sorted(FUNCTION_VARIABLES + SERVER_VARIABLES) == sorted(listed)


def test_the_local_lambda_passes_the_functions_variables_through(monkeypatch):
    from tools.lambda_local import lambda_env

    for name in FUNCTION_VARIABLES + SERVER_VARIABLES:
        monkeypatch.setenv(name, "1")
    env = lambda_env()
    assert {name for name in variables() if name in env} == {*FUNCTION_VARIABLES,
                                                             "POWERTOOLS_SERVICE_NAME"}


def test_defaults_are_the_readmes(settings_env):
    s = settings_env(**{name: None for name in variables()})
    assert (s.port, s.host, s.model_path, s.model_precision) == (8000, "127.0.0.1", None, "auto")
    assert (s.workers, s.cors_origins, s.log_level, s.service) == (1, (), "warning",
                                                                    "emotion-api")
    # Chosen by function/serve.py, or every CPU where nothing chooses (Lambda).
    assert s.slots is s.torch_threads is s.detector_threads is None


@pytest.mark.parametrize(("variable", "value", "field", "expected"), [
    ("PORT", "9000", "port", 9000),
    ("HOST", "0.0.0.0", "host", "0.0.0.0"),
    ("MODEL_PATH", "/models/other.pt", "model_path", Path("/models/other.pt")),
    ("MODEL_PATH", "", "model_path", None),
    ("MODEL_PRECISION", "int8", "model_precision", "int8"),
    ("MODEL_PRECISION", " BF16", "model_precision", "bf16"),
    ("SLOTS", "0", "slots", 0),
    ("SLOTS", "4", "slots", 4),
    ("TORCH_THREADS", "2", "torch_threads", 2),
    ("WORKERS", "3", "workers", 3),
    ("DETECTOR_THREADS", "1", "detector_threads", 1),
    ("CORS_ORIGINS", "https://a.example, https://b.example,", "cors_origins",
     ("https://a.example", "https://b.example")),
    ("CORS_ORIGINS", "", "cors_origins", ()),
    ("LOG_LEVEL", "INFO", "log_level", "info"),
    ("POWERTOOLS_SERVICE_NAME", "emotion-test", "service", "emotion-test"),
])
def test_each_variable_is_read_through_settings(settings_env, variable, value, field, expected):
    assert getattr(settings_env(**{variable: value}), field) == expected


@pytest.mark.parametrize(("variable", "value", "says"), [
    ("MODEL_PRECISION", "fp16", "must be one of auto, fp32, bf16, int8"),
    ("LOG_LEVEL", "loud", "must be one of critical, error, warning, info, debug, trace"),
    ("PORT", "eighty", "must be a whole number"),
    ("PORT", "70000", "must be less than or equal to 65535"),
    ("WORKERS", "0", "must be greater than or equal to 1"),
    ("SLOTS", "-1", "must be greater than or equal to 0"),
    ("TORCH_THREADS", "2.5", "must be a whole number"),
    ("DETECTOR_THREADS", "many", "must be a whole number"),
])
def test_a_bad_value_names_the_variable_and_what_it_may_be(settings_env, variable, value, says):
    with pytest.raises(SettingsError) as caught:
        settings_env(**{variable: value})
    assert str(caught.value) == f"bad environment variable: {variable}={value!r}: {says}"
    assert caught.value.__cause__ is None      # no pydantic traceback under it


def test_several_bad_values_are_said_together(settings_env):
    with pytest.raises(SettingsError, match=r"PORT='x': .*; WORKERS='-2': "):
        settings_env(PORT="x", WORKERS="-2")


@pytest.mark.parametrize(("env", "cpus", "expected"), [
    ({}, 4, {"SLOTS": "4", "TORCH_THREADS": "1", "DETECTOR_THREADS": "4"}),
    ({"WORKERS": "2"}, 4, {"TORCH_THREADS": "2", "DETECTOR_THREADS": "2"}),
    ({"WORKERS": "8"}, 4, {"TORCH_THREADS": "1", "DETECTOR_THREADS": "1"}),
    # What the environment sets is kept, 0 included.
    ({"SLOTS": "0", "TORCH_THREADS": "0"}, 4, {"DETECTOR_THREADS": "4"}),
    ({"WORKERS": "2", "DETECTOR_THREADS": "1"}, 4, {"TORCH_THREADS": "2"}),
])
def test_the_local_server_derives_what_is_unset_from_workers(settings_env, env, cpus, expected):
    unset = {"WORKERS": None, "SLOTS": None, "TORCH_THREADS": None, "DETECTOR_THREADS": None}
    assert settings_env(**{**unset, **env}).server_defaults(cpus) == expected


def test_settings_are_frozen_and_tests_can_build_their_own():
    s = Settings(cors_origins="https://a.example", model_precision="FP32", _env_file=None)
    assert (s.cors_origins, s.model_precision) == (("https://a.example",), "fp32")
    with pytest.raises(ValueError):
        s.port = 1


def test_a_bad_variable_stops_the_function_at_import_with_its_name():
    """On Lambda a bad value fails the cold start with the message, not a traceback deep
    inside torch or uvicorn."""
    run = subprocess.run([sys.executable, "-c", "import function.handler"], cwd=ROOT,
                         env=_env(TORCH_THREADS="-1"), capture_output=True, text=True,
                         timeout=120)
    assert run.returncode != 0
    last = run.stderr.strip().splitlines()[-1]
    assert last == ("function.settings.SettingsError: bad environment variable: "
                    "TORCH_THREADS='-1': must be greater than or equal to 0"), run.stderr


def _env(**variables: str) -> dict[str, str]:
    import os

    return {**os.environ, "POWERTOOLS_TRACE_DISABLED": "true", **variables}
