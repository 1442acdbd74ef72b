"""Run-time settings: every environment variable the README lists, read and checked in one
place (pydantic-settings), as a cached dependency that tests override.

What loads at import (the model, torch's and the detector's threads) reads them once, when
function.handler is imported: on Lambda, once per cold start. A bad value fails there, with
a message that names the variable and what it may be (``SettingsError``), not deep inside.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal, get_args

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# What MODEL_PRECISION may be (function/model.py says what each one runs).
Precision = Literal["auto", "fp32", "bf16", "int8"]
PRECISIONS: tuple[str, ...] = get_args(Precision)
# uvicorn's log levels.
LogLevel = Literal["critical", "error", "warning", "info", "debug", "trace"]

# The variables the function reads wherever it runs (Lambda too: tools/lambda_local.py
# passes these through); the rest are the local server's (function/serve.py).
FUNCTION_VARIABLES = ("MODEL_PATH", "MODEL_PRECISION", "TORCH_THREADS", "DETECTOR_THREADS",
                      "CORS_ORIGINS")
SERVER_VARIABLES = ("PORT", "HOST", "WORKERS", "SLOTS", "LOG_LEVEL")


class SettingsError(ValueError):
    """An environment variable with a value it may not have; the message says which and why."""


class Settings(BaseSettings):
    """One field per variable, named as the variable in lower case (case does not matter)."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", protected_namespaces=())

    # Powertools' service name, on the logs (infra/template.yaml sets it on Lambda).
    service: str = Field("emotion-api", validation_alias="POWERTOOLS_SERVICE_NAME")
    # The local server: port, and the address to bind (127.0.0.1: this machine only).
    port: int = Field(8000, ge=1, le=65535)
    host: str = Field("127.0.0.1", min_length=1)
    # Another model file; None: the one .pt file in models/ (function/model.py).
    model_path: Path | None = None
    model_precision: Precision = "auto"
    # None where unset: function/serve.py chooses them from WORKERS and the CPUs
    # (server_defaults); torch and the detector take every CPU where nothing does (Lambda).
    # 0 threads: every CPU; 0 slots: Starlette's thread pool.
    slots: int | None = Field(None, ge=0)
    torch_threads: int | None = Field(None, ge=0)
    workers: int = Field(1, ge=1)
    detector_threads: int | None = Field(None, ge=0)
    # Origins allowed to call the API from a browser, comma-separated; empty: no CORS headers
    # (same origin, or API Gateway answers CORS itself, as the SAM template sets up).
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()
    log_level: LogLevel = "warning"

    @field_validator("model_precision", "log_level", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("model_path", "slots", "torch_threads", "detector_threads", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(o.strip() for o in value.split(",") if o.strip())
        return value

    def server_defaults(self, cpus: int) -> dict[str, str]:
        """What `python -m function.serve` sets in its environment where these are unset, for
        itself and its worker processes (which import function.handler anew): one process
        runs a request per CPU at a time with one torch thread each (SLOTS); several split
        the CPUs between them rather than oversubscribe them. The detector runs one image at
        a time per process, so it takes the process's whole share."""
        share = str(max(1, cpus // self.workers))
        derived = {"DETECTOR_THREADS": (self.detector_threads, share)}
        if self.workers > 1:
            derived["TORCH_THREADS"] = (self.torch_threads, share)
        else:
            derived["SLOTS"] = (self.slots, str(cpus))
            derived["TORCH_THREADS"] = (self.torch_threads, "1")
        return {name: default for name, (value, default) in derived.items() if value is None}


def _variable(settings: type[BaseSettings], field: str) -> str:
    alias = settings.model_fields[field].validation_alias
    return alias if isinstance(alias, str) else field.upper()


def explain(error: ValidationError, settings: type[BaseSettings] = Settings) -> str:
    """One line per bad variable: its name, the value it has and what it may be."""
    lines = []
    for e in error.errors():
        field = str(e["loc"][0]) if e["loc"] else ""
        name = _variable(settings, field) if field in settings.model_fields else field.upper()
        if e["type"] == "literal_error":
            choices = get_args(settings.model_fields[field].annotation)
            why = f"must be one of {', '.join(choices)}"
        elif e["type"] in ("int_parsing", "int_from_float"):
            why = "must be a whole number"
        else:
            why = e["msg"].replace("Input should be", "must be")
        lines.append(f"{name}={e['input']!r}: {why}")
    return "; ".join(lines)


def load_settings() -> Settings:
    """Settings from the environment now, or a SettingsError that says what is wrong."""
    try:
        return Settings()
    except ValidationError as e:
        raise SettingsError(f"bad environment variable: {explain(e)}") from None


@lru_cache
def get_settings() -> Settings:
    """The settings, read once (tests clear the cache, or override the dependency)."""
    return load_settings()
