"""Shared fixtures. The API loads its model at import, so MODEL_PATH must point at a
model file before any test imports function.handler: the tiny fixture model, unless the
run asks for another (MODEL_PATH already set)."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import pytest

from function.settings import Settings, get_settings
from tests import model_fixture

_TMP = Path(tempfile.mkdtemp(prefix="emotion-tests-"))
FIXTURE_MODEL = model_fixture.build(_TMP / "fixture.pt")
os.environ.setdefault("MODEL_PATH", str(FIXTURE_MODEL))
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "EmotionEvaluator")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")


@pytest.fixture(scope="session")
def model_file() -> Path:
    return FIXTURE_MODEL


@pytest.fixture
def settings_env(monkeypatch):
    """Sets environment variables for Settings (None unsets one) and returns the settings
    get_settings() now gives: settings_env(MODEL_PRECISION="bf16"). get_settings' cache is
    cleared on each call and after the test, so no other test sees them."""

    def set_env(**variables: str | None) -> Settings:
        for name, value in variables.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        return get_settings()

    yield set_env
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def astronaut():
    """A real smiling face (public domain, ships with scikit-image), as a PIL image."""
    from PIL import Image
    from skimage import data

    return Image.fromarray(data.astronaut())


@pytest.fixture(scope="session")
def astronaut_jpeg(astronaut) -> bytes:
    """640x480 JPEG with the astronaut's face, like a webcam frame."""
    from PIL import Image

    frame = Image.new("RGB", (640, 480), (90, 100, 110))
    frame.paste(astronaut.resize((400, 400)), (120, 40))
    buf = io.BytesIO()
    frame.save(buf, "JPEG", quality=90)
    return buf.getvalue()
