"""The emotion API: the FastAPI app and Lambda entry point (handler.py) and what it runs."""

import os

# After each parallel region torch's OpenMP workers spin-wait for the next one (libgomp:
# 300,000 spins by default) on the cores the face detector's LiteRT threads need right
# after. A 640x480 frame's detection took 9.3-10.7 ms p50 that way, 5.8-6.8 ms with 10,000
# spins, its classification no slower (`python -m benchmarks.frame`, 3 interleaved rounds).
# libgomp reads it once, when torch loads: so here, before any module of the API imports it.
os.environ.setdefault("GOMP_SPINCOUNT", "10000")
