"""Local server: the API and the web page (site/) together on one port, with the API's
docs at /docs (Swagger UI from site/vendor/, not a CDN).

    python -m function.serve    # PORT (8000), HOST (127.0.0.1), WORKERS, SLOTS, TORCH_THREADS,
                                # DETECTOR_THREADS

HOST is the address to listen on: 127.0.0.1 (the default) lets only this machine in;
HOST=0.0.0.0 lets other machines of the network open the page (but browsers give the
camera only to https pages and to localhost).

Default: one process where SLOTS = one request per CPU runs its image work (decode,
detect, classify) at a time, with TORCH_THREADS = 1 each. benchmarks/load.py measured it
against Starlette's 40-thread pool, one-at-a-time with every CPU per request, and
WORKERS = 2 processes: it answered the most face crops and frames per second under load,
with the lowest p99 (docs/performance.md). SLOTS=0 gives Starlette's pool back.
WORKERS > 1 runs that many uvicorn processes, each with its own model and
TORCH_THREADS = CPUs / WORKERS.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SITE_DIR = Path(__file__).resolve().parent.parent / "site"
SWAGGER_DIR = "vendor/swagger-ui"       # under SITE_DIR, put there by site/build.sh
APP_FACTORY = "function.serve:create_local_app"

# Where the page may connect, besides its own origin, when served here: an API on this
# machine (another port) or a deployed one, for a page whose config.js names it. The page
# narrows this to the one API config.js names (site/policy.js).
LOCAL_API_SOURCES = ("http://localhost:*", "http://127.0.0.1:*", "https://*.amazonaws.com")


def site_csp(api_sources: Sequence[str]) -> str:
    """The page's Content-Security-Policy, here and on CloudFront (infra/template.yaml, whose
    test compares the two): every file from the page's own origin, nothing inline, and
    connections to that origin and ``api_sources`` only, so no library can send anything
    elsewhere. wasm-unsafe-eval lets the face detector compile its WebAssembly; blob: media
    plays a chosen video file from memory; data: images are the inline favicon."""
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", "'wasm-unsafe-eval'"],
        "worker-src": ["'self'"],
        "connect-src": ["'self'", *api_sources],
        "img-src": ["'self'", "data:"],
        "media-src": ["'self'", "blob:"],
        "style-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'none'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


# The headers CloudFront's response policy adds as well (infra/template.yaml).
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def docs_page() -> tuple[bytes, str]:
    """Swagger UI for the API, from this site's copy, and the CSP it needs: FastAPI's page
    starts Swagger UI with one inline script, allowed by its hash and nothing else."""
    from fastapi.openapi.docs import get_swagger_ui_html

    html = get_swagger_ui_html(
        openapi_url="/openapi.json", title="Emotion evaluator API",
        swagger_js_url=f"/{SWAGGER_DIR}/swagger-ui-bundle.js",
        swagger_css_url=f"/{SWAGGER_DIR}/swagger-ui.css",
        swagger_favicon_url=f"/{SWAGGER_DIR}/favicon-32x32.png").body
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"
        for script in re.findall(rb"<script>(.*?)</script>", html, re.S))
    csp = ("default-src 'self'; script-src 'self' " + hashes + "; style-src 'self' "
           "'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; "
           "base-uri 'none'; frame-ancestors 'none'")
    return html, csp


class SecurityHeaders:
    """Adds the page's CSP (the docs' own on /docs) and SECURITY_HEADERS to every answer."""

    def __init__(self, app: ASGIApp, site: str, docs: str) -> None:
        self.app, self.site, self.docs = app, site.encode(), docs.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = self.docs if scope["path"] == "/docs" else self.site

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() != b"content-security-policy"]
                headers.append((b"content-security-policy", csp))
                headers += [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


# Compressed copies site/build.sh writes beside vendor/'s files, best first.
PRECOMPRESSED = (("br", ".br"), ("gzip", ".gz"))
# The detector's files carry their content's hash in their path (site/build.sh): a new
# version is a new URL, so a browser may keep these for good. Everything else is
# revalidated on each visit (a 304 when unchanged), so a new page never runs old code.
IMMUTABLE = re.compile(r"^vendor/detector-[0-9a-f]{16}/")
CACHE_FOREVER = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def accepted_encodings(header: str) -> set[str]:
    """The codings an Accept-Encoding header allows (q=0 refuses one)."""
    accepted = set()
    for part in header.split(","):
        coding, _, params = part.strip().partition(";")
        q = params.strip().removeprefix("q=").strip() if params.strip().startswith("q=") else "1"
        try:
            allowed = float(q) > 0
        except ValueError:
            allowed = False
        if coding and allowed:
            accepted.add(coding.strip().lower())
    return accepted


def site_files(app: FastAPI):
    """The page's files behind the API's routes, answering as the API does: a path the API
    serves with other methods is a 405 (GET /face), any other method on a path that is no
    file a 404 (POST /nothing), both in the API's JSON error shape. A file with a
    compressed copy beside it (FILE.br, FILE.gz) is sent as that copy where the browser
    takes it (Content-Encoding, Vary); the rest is gzipped as it goes (site_app)."""
    import mimetypes
    import stat

    import anyio.to_thread
    from fastapi.staticfiles import StaticFiles
    from starlette.datastructures import Headers
    from starlette.routing import Match

    from function.errors import error_response

    api_routes = list(app.router.routes)

    class SiteFiles(StaticFiles):
        async def get_response(self, path: str, scope: Scope):
            accepted = accepted_encodings(Headers(scope=scope).get("accept-encoding", ""))
            for coding, suffix in PRECOMPRESSED:
                if coding not in accepted:
                    continue
                try:
                    full, found = await anyio.to_thread.run_sync(self.lookup_path, path + suffix)
                except (OSError, ValueError):
                    break
                if found is None or not stat.S_ISREG(found.st_mode):
                    continue
                response = self.file_response(full, found, scope)
                media_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
                if media_type.startswith("text/") or media_type.endswith(("javascript", "json")):
                    media_type += "; charset=utf-8"
                response.headers["content-type"] = media_type
                response.headers["content-encoding"] = coding
                return self.cached(response, path)
            return self.cached(await super().get_response(path, scope), path)

        @staticmethod
        def cached(response, path: str):
            response.headers.setdefault(
                "cache-control", CACHE_FOREVER if IMMUTABLE.match(path) else REVALIDATE)
            response.headers.add_vary_header("Accept-Encoding")
            return response

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            for route in api_routes:
                match, _ = route.matches(scope)
                if match == Match.PARTIAL:
                    methods = sorted(getattr(route, "methods", ()) or ())
                    response = error_response(
                        405, "method_not_allowed",
                        f"{scope['path']} answers {', '.join(methods)}, not {scope['method']}")
                    response.headers["Allow"] = ", ".join(methods)
                    await response(scope, receive, send)
                    return
            if scope["method"] not in ("GET", "HEAD"):
                try:
                    _, found = await anyio.to_thread.run_sync(self.lookup_path,
                                                              self.get_path(scope))
                except (OSError, ValueError):
                    found = None
                if found is None:
                    response = error_response(404, "not_found", f"no {scope['path']} here")
                else:
                    response = error_response(405, "method_not_allowed",
                                              f"{scope['path']} is a file: GET it")
                    response.headers["Allow"] = "GET, HEAD"
                await response(scope, receive, send)
                return
            await super().__call__(scope, receive, send)

    from starlette.middleware.gzip import GZipMiddleware

    # The page's own files (a few KB each) gzipped on the way; the API's answers never
    # pass here, nor does anything already compressed (GZipMiddleware leaves those alone).
    return GZipMiddleware(SiteFiles(directory=SITE_DIR, html=True), minimum_size=1024)


def create_local_app(api: FastAPI | None = None) -> FastAPI:
    """The API (function.handler's app, unless given another) with the site mounted and
    /docs; with WORKERS > 1 each worker process calls this."""
    from contextlib import asynccontextmanager

    import anyio.to_thread
    import cv2
    from fastapi.responses import HTMLResponse

    from function.handler import DETECTOR_THREADS
    from function.handler import app as default_app
    from function.settings import get_settings

    app = api or default_app

    # One detection runs at a time per process (the detector's lock), so it gets the
    # process's whole share of the CPUs (DETECTOR_THREADS, set in main): LiteRT's threads,
    # and OpenCV's for the resizing and crops, even where torch runs one per request.
    cv2.setNumThreads(DETECTOR_THREADS)
    slots = get_settings().slots
    if slots:
        @asynccontextmanager
        async def lifespan(_: FastAPI):
            # The limiter belongs to the running event loop: set it once the loop exists.
            anyio.to_thread.current_default_thread_limiter().total_tokens = slots
            yield

        app.router.lifespan_context = lifespan
    if SITE_DIR.is_dir() and not any(getattr(r, "name", "") == "site" for r in app.routes):
        html, docs_csp = docs_page()

        @app.get("/docs", include_in_schema=False)
        def docs() -> HTMLResponse:
            return HTMLResponse(html)

        app.add_middleware(SecurityHeaders, site=site_csp(LOCAL_API_SOURCES), docs=docs_csp)
        app.mount("/", site_files(app), name="site")
    return app


def port_in_use(host: str, port: int) -> bool:
    """Whether something already listens on host:port (so uvicorn would fail to bind)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        # As uvicorn binds: connections of a server just stopped (TIME_WAIT) are no
        # obstacle, a socket listening is.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def main() -> int:
    from function.model import available_cpus, default_model_path
    from function.settings import SettingsError, get_settings

    try:
        settings = get_settings()
        path = default_model_path()
        if not path.is_file():
            raise FileNotFoundError(f"model file {path} does not exist")
    except (SettingsError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    import uvicorn

    port, host = settings.port, settings.host
    # Said before "serving", and before the model loads: uvicorn would print its bind
    # error only after both.
    if port_in_use(host, port):
        print(f"error: port {port} on {host} is in use (another `make run`?): stop it, or "
              f"choose another port: make run PORT={port + 1}", file=sys.stderr)
        return 2
    # Through the environment, which worker processes inherit (they import the app anew),
    # and read back through Settings: by create_local_app and function.handler (below).
    for name, value in settings.server_defaults(available_cpus()).items():
        os.environ.setdefault(name, value)
    get_settings.cache_clear()
    workers = settings.workers
    print(f"serving {path.name} and {SITE_DIR.name}/ on http://{host}:{port}"
          + (f" ({workers} workers)" if workers > 1 else ""), flush=True)
    # Workers re-import the app by name; one process takes the object (no second import).
    target = APP_FACTORY if workers > 1 else create_local_app()
    uvicorn.run(target, factory=workers > 1, workers=workers if workers > 1 else None,
                host=host, port=port, log_level=settings.log_level,
                timeout_keep_alive=5, limit_concurrency=256)
    return 0


if __name__ == "__main__":
    sys.exit(main())
