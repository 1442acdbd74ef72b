"""The emotion API: the FastAPI app and Lambda entry point (handler.py) and what it runs."""

import os

# After a parallel region torch's OpenMP workers spin-wait for the next one before they
# sleep, on the cores the face detector's LiteRT threads need next. libgomp's default spin
# left a 640x480 frame's detection at 9.4 ms p50, 10,000 spins at 6.4 ms, its classification
# no slower: 17.5 -> 14.0 ms a frame (`python -m benchmarks.frame`, 4 interleaved rounds).
# libgomp reads it once, when torch loads: so here, before any module of the API imports torch.
os.environ.setdefault("GOMP_SPINCOUNT", "10000")
