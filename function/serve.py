"""Local server: the API and the web page (site/) together on one port.

    python -m function.serve    # PORT (8000), HOST (127.0.0.1), WORKERS, SLOTS, TORCH_THREADS,
                                # DETECTOR_THREADS

Default: one process where SLOTS = one request per CPU runs its image work (decode,
detect, classify) at a time, with TORCH_THREADS = 1 each. benchmarks/load.py measured it
against Starlette's 40-thread pool, one-at-a-time with every CPU per request, and
WORKERS = 2 processes: it answered the most face crops and frames per second under load,
with the lowest p99 (README). SLOTS=0 gives Starlette's pool back. WORKERS > 1 runs that
many uvicorn processes, each with its own model and TORCH_THREADS = CPUs / WORKERS.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from fastapi import FastAPI

SITE_DIR = Path(__file__).resolve().parent.parent / "site"
APP_FACTORY = "function.serve:create_local_app"


def create_local_app() -> FastAPI:
    """The API with the site mounted; with WORKERS > 1 each worker process calls this."""
    from contextlib import asynccontextmanager

    import anyio.to_thread
    import cv2
    from fastapi.staticfiles import StaticFiles

    from function.handler import DETECTOR_THREADS, app

    # One detection runs at a time per process (the detector's lock), so it gets the
    # process's whole share of the CPUs (DETECTOR_THREADS, set in main): LiteRT's threads,
    # and OpenCV's for the resizing and crops, even where torch runs one per request.
    cv2.setNumThreads(DETECTOR_THREADS)
    slots = int(os.environ.get("SLOTS", "0"))
    if slots > 0:
        @asynccontextmanager
        async def lifespan(_: FastAPI):
            # The limiter belongs to the running event loop: set it once the loop exists.
            anyio.to_thread.current_default_thread_limiter().total_tokens = slots
            yield

        app.router.lifespan_context = lifespan
    if SITE_DIR.is_dir() and not any(getattr(r, "name", "") == "site" for r in app.routes):
        app.mount("/", StaticFiles(directory=SITE_DIR, html=True), name="site")
    return app


def main() -> int:
    from function.model import available_cpus, default_model_path

    try:
        path = default_model_path()
        if not path.is_file():
            raise FileNotFoundError(f"model file {path} does not exist")
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    import uvicorn

    port = int(os.environ.get("PORT", "8000"))
    host = os.environ.get("HOST", "127.0.0.1")
    workers = max(1, int(os.environ.get("WORKERS", "1")))
    os.environ.setdefault("DETECTOR_THREADS", str(max(1, available_cpus() // workers)))
    if workers > 1:
        # Workers inherit the environment: split the CPUs rather than oversubscribe them.
        os.environ.setdefault("TORCH_THREADS", str(max(1, available_cpus() // workers)))
    else:
        # Read by create_local_app and by function.handler when it loads (below).
        os.environ.setdefault("SLOTS", str(available_cpus()))
        os.environ.setdefault("TORCH_THREADS", "1")
    print(f"serving {path.name} and {SITE_DIR.name}/ on http://{host}:{port}"
          + (f" ({workers} workers)" if workers > 1 else ""), flush=True)
    # Workers re-import the app by name; one process takes the object (no second import).
    target = APP_FACTORY if workers > 1 else create_local_app()
    uvicorn.run(target, factory=workers > 1, workers=workers if workers > 1 else None,
                host=host, port=port, log_level=os.environ.get("LOG_LEVEL", "warning"),
                timeout_keep_alive=5, limit_concurrency=256)
    return 0


if __name__ == "__main__":
    sys.exit(main())
