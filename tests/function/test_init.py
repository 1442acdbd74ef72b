"""Importing the API package tunes torch's OpenMP runtime before torch loads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def openmp_settings(code: str, **env: str) -> str:
    """What libgomp says it runs with (OMP_DISPLAY_ENV) in a fresh process running code."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GOMP_", "OMP_"))}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=120,
                         env={**clean, "OMP_DISPLAY_ENV": "VERBOSE", **env})
    assert out.returncode == 0, out.stderr
    return out.stderr


def test_the_api_shortens_openmps_spin_wait():
    assert "GOMP_SPINCOUNT = '10000'" in openmp_settings("import function, torch")
    assert "GOMP_SPINCOUNT = '10000'" not in openmp_settings("import torch")


def test_an_operator_setting_wins():
    assert "GOMP_SPINCOUNT = '50000'" in openmp_settings("import function, torch",
                                                         GOMP_SPINCOUNT="50000")
