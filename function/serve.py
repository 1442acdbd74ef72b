"""Local server: the API and the web page (site/) together on one port.

    python -m function.serve          # PORT (8000), HOST (127.0.0.1), WORKERS
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

SITE_DIR = Path(__file__).resolve().parent.parent / "site"


def main() -> int:
    from function.model import default_model_path

    try:
        path = default_model_path()
        if not path.is_file():
            raise FileNotFoundError(f"model file {path} does not exist")
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    import uvicorn
    from fastapi.staticfiles import StaticFiles

    from function.handler import app

    if SITE_DIR.is_dir():
        app.mount("/", StaticFiles(directory=SITE_DIR, html=True), name="site")
    port = int(os.environ.get("PORT", "8000"))
    host = os.environ.get("HOST", "127.0.0.1")
    print(f"serving {path.name} and {SITE_DIR.name}/ on http://{host}:{port}", flush=True)
    uvicorn.run(app, host=host, port=port, log_level=os.environ.get("LOG_LEVEL", "warning"),
                timeout_keep_alive=5, limit_concurrency=256)
    return 0


if __name__ == "__main__":
    sys.exit(main())
