"""The local server (`make run`): the page and the API on one port, answering like the API
(JSON errors, 404 and 405 the right way round), the page's Content-Security-Policy on
every answer, /docs from the site's own copy of Swagger UI, and a busy port said at once."""

from __future__ import annotations

import re
import socket
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from function import serve
from tools import harness


@pytest.fixture(scope="module")
def client() -> TestClient:
    from function.handler import create_app

    harness.build_site()            # Swagger UI's files come from site/vendor/
    return TestClient(serve.create_local_app(create_app()))


def test_the_page_and_its_files_carry_the_pages_csp(client):
    for path in ("/", "/app.js", "/detector-worker.js", "/vendor/framing.json",
                 "/vendor/blazeface.json", "/vendor/labels.js"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-security-policy"] == serve.site_csp(
            serve.LOCAL_API_SOURCES), path
        for name, value in serve.SECURITY_HEADERS.items():
            assert response.headers[name] == value
    directives = dict(d.split(" ", 1) for d in serve.site_csp(serve.LOCAL_API_SOURCES).split("; "))
    assert directives["default-src"] == "'self'"
    assert "'unsafe-inline'" not in directives["script-src"]
    assert directives["connect-src"].split()[0] == "'self'"


def test_docs_are_served_from_the_site_not_a_cdn(client):
    page = client.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/vendor/swagger-ui/") for s in sources), sources
    for source in sources:
        assert client.get(source).status_code == 200, source
    # Its one inline script is allowed by its hash, nothing else inline.
    csp = page.headers["content-security-policy"]
    assert re.search(r"script-src 'self' 'sha256-[A-Za-z0-9+/=]+';", csp), csp
    assert client.get("/openapi.json").json()["info"]["title"] == "Emotion evaluator API"


@pytest.mark.parametrize(("method", "path", "status", "allow"), [
    ("GET", "/face", 405, "POST"),
    ("PUT", "/health", 405, "GET"),
    ("POST", "/nothing", 404, None),
    ("DELETE", "/no/such/file.js", 404, None),
    ("POST", "/index.html", 405, "GET, HEAD"),
    ("GET", "/nothing.js", 404, None),
])
def test_wrong_paths_and_methods_answer_like_the_api(client, method, path, status, allow):
    response = client.request(method, path)
    assert response.status_code == status
    assert response.headers.get("allow") == allow
    error = response.json()["error"]
    assert error["code"] == {404: "not_found", 405: "method_not_allowed"}[status]
    assert error["message"]


def test_a_busy_port_is_said_before_serving(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert serve.port_in_use("127.0.0.1", port)
        run = subprocess.run([sys.executable, "-m", "function.serve"], cwd=harness.REPO,
                             env={**harness.os.environ, "PORT": str(port), "HOST": "127.0.0.1"},
                             capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert "serving" not in run.stdout
    assert f"port {port} on 127.0.0.1 is in use" in run.stderr
    assert f"PORT={port + 1}" in run.stderr


def detector_dir() -> str:
    """vendor/detector-<hash>/, as site/vendor/detector-files.js names it."""
    text = (serve.SITE_DIR / "vendor" / "detector-files.js").read_text()
    return "/vendor/" + re.search(r"'(detector-[0-9a-f]{16}/)'", text).group(1)


def test_the_detectors_files_go_compressed_and_are_kept_for_good(client):
    wasm = detector_dir() + "litert/litert_wasm_internal.wasm"
    raw = (serve.SITE_DIR / wasm.lstrip("/")).read_bytes()
    for accept, coding in (("gzip, deflate, br, zstd", "br"), ("gzip", "gzip"),
                           ("br;q=0, gzip", "gzip")):
        response = client.get(wasm, headers={"Accept-Encoding": accept})
        assert response.status_code == 200
        assert response.headers["content-encoding"] == coding, accept
        # The wasm's own type, so the browser compiles it while it streams in.
        assert response.headers["content-type"] == "application/wasm"
        assert "accept-encoding" in response.headers["vary"].lower()
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert int(response.headers["content-length"]) < len(raw) / 3
        if coding == "gzip":    # the test client decodes gzip (not brotli): the same bytes
            assert response.content == raw
        else:
            assert response.content == (serve.SITE_DIR / (wasm.lstrip("/") + ".br")).read_bytes()
    plain = client.get(wasm, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == raw
    model = client.get(detector_dir() + "models/face_detection_short_range.tflite",
                       headers={"Accept-Encoding": "br"})
    assert model.headers["content-encoding"] == "br"
    # Asked again with its ETag: answered without the bytes.
    etag = client.get(wasm, headers={"Accept-Encoding": "br"}).headers["etag"]
    again = client.get(wasm, headers={"Accept-Encoding": "br", "If-None-Match": etag})
    assert again.status_code == 304


def test_the_pages_own_files_are_gzipped_and_revalidated(client):
    for path in ("/app.js", "/", "/vendor/detector-files.js"):
        response = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-cache", path
        assert "accept-encoding" in response.headers["vary"].lower(), path
    assert client.get("/app.js", headers={"Accept-Encoding": "gzip"}).headers[
        "content-encoding"] == "gzip"


def test_the_apis_answers_are_not_touched_by_the_sites_compression(client):
    response = client.get("/health", headers={"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200
    assert "content-encoding" not in response.headers
    assert "cache-control" not in response.headers or "immutable" not in response.headers[
        "cache-control"]


def test_a_bad_variable_is_said_before_serving():
    run = subprocess.run([sys.executable, "-m", "function.serve"], cwd=harness.REPO,
                         env={**harness.os.environ, "PORT": "0", "WORKERS": "two"},
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert "serving" not in run.stdout
    assert run.stderr.strip() == ("error: bad environment variable: PORT='0': must be greater "
                                  "than or equal to 1; WORKERS='two': must be a whole number")
