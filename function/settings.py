"""Run-time settings from the environment, as one cached dependency (tests override it)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Settings:
    service: str = "emotion-api"
    # Origins allowed to call the API from a browser; empty: no CORS headers (same origin,
    # or API Gateway answers CORS itself, as the SAM template sets up).
    cors_origins: tuple[str, ...] = ()


@lru_cache
def get_settings() -> Settings:
    origins = tuple(o.strip() for o in os.environ.get("CORS_ORIGINS", "").split(",") if o.strip())
    return Settings(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "emotion-api"),
                    cors_origins=origins)
