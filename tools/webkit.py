"""WebKitGTK, Safari's engine from Debian's packages: MiniBrowser driven by WebKitWebDriver
(W3C WebDriver over HTTP, spoken here with urllib) on an X server of its own (Xvfb), for the
WebKit browser tests (tests/site/test_webkit.py) and anything else that needs the page in
WebKit.

    with webkit.open_page(base + "/", init_script=...) as page:
        page.wait_for("() => document.title !== ''")
        page.evaluate("(n) => n + 1", 1)  # 2

The camera is WebKit's mock capture device (a generated pattern, no face), allowed without
a prompt. WebKitWebDriver has no WebDriver BiDi and, under automation, passes none of the
page's console on, so what the page logs as errors and throws is caught in the page itself:
the page is served through a small proxy (`InjectingProxy`) that puts `init_script`, with
that capture, at the top of every HTML document, before the page's own scripts."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tools import harness

DRIVER = "/usr/bin/WebKitWebDriver"
MINIBROWSER = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser"
XVFB = "/usr/bin/Xvfb"
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C name of an element reference
INIT_PATH = "/__webkit-init.js"

# WebKitGTK's DMA-BUF renderer, on an X server with no GPU (Xvfb, software GL), makes every
# camera frame drawn into a canvas cost 60-100 ms in the page (on a bare page 16 ms against
# 2 ms without it: `python -m benchmarks.page --detector-only`), which caps the page at a
# few frames a second. WebKitGTK's own switch for machines without a GPU turns it off; a
# browser on real graphics has none of this.
RENDERING = {"WEBKIT_DISABLE_DMABUF_RENDERER": "1"}

# console.error calls, uncaught errors and unhandled rejections, kept in the page
# (window.__webkit) for `Page.console_errors` and `Page.page_errors` to read.
CAPTURE = """
(() => {
  const log = { console: [], page: [] };
  window.__webkit = log;
  // WebKit's stack has no message in it (and none at all for code run by the driver).
  const describe = (a) => (a instanceof Error ? `${a}${a.stack ? `\n${a.stack}` : ''}`
    : typeof a === 'string' ? a : (() => {
      try { return JSON.stringify(a); } catch { return String(a); }
    })());
  const error = console.error;
  console.error = function (...args) {
    log.console.push(args.map(describe).join(' '));
    return error.apply(this, args);
  };
  addEventListener('error', (e) => log.page.push(
    e.error ? describe(e.error) : `${e.message} (${e.filename}:${e.lineno})`));
  addEventListener('unhandledrejection', (e) => log.page.push(
    `unhandled rejection: ${describe(e.reason)}`));
})();
"""


def missing() -> str | None:
    """What stops WebKit being driven here, with the command that fixes it; None when
    nothing does."""
    for path, package in ((DRIVER, "webkit2gtk-driver"), (MINIBROWSER, "webkit2gtk-driver"),
                          (XVFB, "xvfb")):
        if not Path(path).exists():
            return f"{path} is missing (apt-get install -y {package})"
    return None


class WebKitError(RuntimeError):
    """The page or the driver failed a call: the driver's own message."""


class InjectingProxy:
    """http://127.0.0.1:PORT in front of `upstream`: every request passed on as it is, but
    HTML documents get `<script src=INIT_PATH>` at the top of their <head>, and INIT_PATH
    answers `script`. The proxy's origin is the page's, so the page's own CSP ('self')
    admits the script, and the page talks to the API through it as it would directly."""

    def __init__(self, upstream: str, script: str) -> None:
        target = urlsplit(upstream)
        body = script.encode()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                if self.path == INIT_PATH:
                    self._answer(200, [("Content-Type", "text/javascript")], body)
                    return
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "connection", "accept-encoding")}
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=120)
                try:
                    conn.request(self.command, self.path, body=data, headers=headers)
                    response = conn.getresponse()
                    payload = response.read()
                    out = [(k, v) for k, v in response.getheaders()
                           if k.lower() not in ("content-length", "transfer-encoding",
                                                "connection")]
                finally:
                    conn.close()
                if "text/html" in (response.getheader("Content-Type") or ""):
                    payload = payload.replace(
                        b"<head>", f'<head><script src="{INIT_PATH}"></script>'.encode(), 1)
                self._answer(response.status, out, payload)

            def _answer(self, status: int, headers: list[tuple[str, str]],
                        payload: bytes) -> None:
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_HEAD = do_OPTIONS = do_PUT = do_DELETE = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class Page:
    """One MiniBrowser window under WebKitWebDriver."""

    def __init__(self, driver: str, session: str, timeout: float) -> None:
        self._driver = driver
        self._session = session
        self.timeout = timeout

    def _call(self, method: str, path: str, body: Any = None,
              timeout: float | None = None) -> Any:
        url = f"{self._driver}/session/{self._session}{path}"
        return _request(method, url, body, timeout or self.timeout)

    def goto(self, url: str) -> None:
        self._call("POST", "/url", {"url": url})

    def evaluate(self, source: str, arg: Any = None, timeout: float | None = None) -> Any:
        """`source`, a JavaScript function (async or not), called in the page with `arg`
        (JSON): its result, through JSON."""
        script = f"""const done = arguments[arguments.length - 1];
            Promise.resolve().then(() => ({source})(arguments[0])).then(
                (value) => done({{ value: value === undefined ? null : value }}),
                (error) => done({{ error: `${{error}}${{error && error.stack
                    ? `\n${{error.stack}}` : ''}}` }}));"""
        limit = timeout or self.timeout
        self._call("POST", "/timeouts", {"script": int(limit * 1000)})
        answer = self._call("POST", "/execute/async", {"script": script, "args": [arg]},
                            timeout=limit + 10)
        if "error" in answer:
            raise WebKitError(answer["error"])
        return answer["value"]

    def wait_for(self, predicate: str, arg: Any = None, timeout: float = 30) -> Any:
        """Polls `predicate` (a JavaScript function of `arg`) until it returns something
        truthy, which is returned; WebKitError after `timeout` seconds."""
        poll = harness.poll_until(predicate)
        return self.evaluate(poll, {"arg": arg, "ms": timeout * 1000}, timeout=timeout + 10)

    def _element(self, selector: str) -> str:
        found = self._call("POST", "/element", {"using": "css selector", "value": selector})
        return found[ELEMENT]

    def click(self, selector: str) -> None:
        """A click (WebDriver's element click: scrolled into view, at its centre)."""
        self._call("POST", f"/element/{self._element(selector)}/click", {})

    def upload(self, selector: str, path: Path) -> None:
        """Chooses `path` in the file input `selector`, as a person would."""
        self._call("POST", f"/element/{self._element(selector)}/value",
                   {"text": str(path), "value": list(str(path))})

    @property
    def console_errors(self) -> list[str]:
        """What the page logged with console.error, as it came (since it loaded)."""
        return self._log("console")

    @property
    def page_errors(self) -> list[str]:
        """Uncaught errors and unhandled rejections in the page (since it loaded)."""
        return self._log("page")

    def _log(self, kind: str) -> list[str]:
        return self.evaluate(f"() => (window.__webkit || {{ {kind}: [] }}).{kind}")


def _request(method: str, url: str, body: Any, timeout: float) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.load(response)["value"]
    except urllib.error.HTTPError as error:
        try:
            value = json.load(error)["value"]
            message = f"{value.get('error')}: {value.get('message')}"
        except (ValueError, KeyError, AttributeError):
            message = str(error)
        raise WebKitError(message) from None
    except TimeoutError:
        raise WebKitError(f"{method} {urlsplit(url).path} got no answer within "
                          f"{timeout:.0f} s") from None


@contextmanager
def _xvfb() -> Iterator[str]:
    """An X server of its own; yields its DISPLAY."""
    read, write = os.pipe()
    proc = subprocess.Popen([XVFB, "-displayfd", str(write), "-screen", "0", "1400x1000x24",
                             "-nolisten", "tcp"], pass_fds=(write,),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    try:
        with os.fdopen(read) as f:
            number = f.readline().strip()
        if not number:
            raise RuntimeError(f"Xvfb did not start ({proc.wait()})")
        yield f":{number}"
    finally:
        harness.stop(proc)


@contextmanager
def open_page(url: str | None = None, init_script: str = "", timeout: float = 60,
              rendering: dict[str, str] | None = None) -> Iterator[Page]:
    """A page in a fresh MiniBrowser, at `url` when given (its origin served through an
    InjectingProxy); `init_script` (JavaScript source) runs in every HTML document of that
    origin before its own scripts, after the console capture. `rendering`: WebKitGTK's
    environment switches in place of RENDERING ({} for its defaults)."""
    reason = missing()
    if reason:
        raise RuntimeError(reason)
    # The X server ends first, taking MiniBrowser's processes with it, before their home
    # (a home of its own: cache and storage start empty and go with it) is removed.
    with tempfile.TemporaryDirectory(prefix="webkit-", ignore_cleanup_errors=True) as home, \
            _xvfb() as display:
        env = dict(os.environ, DISPLAY=display, HOME=home, XDG_CACHE_HOME=f"{home}/cache",
                   XDG_DATA_HOME=f"{home}/data", XDG_CONFIG_HOME=f"{home}/config",
                   GST_REGISTRY=f"{home}/gst-registry.bin",
                   **(RENDERING if rendering is None else rendering))
        port = harness.free_port()
        driver = subprocess.Popen([DRIVER, f"--port={port}", "--host=127.0.0.1"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        proxy = None
        base = f"http://127.0.0.1:{port}"
        session = None
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    _request("GET", base + "/status", None, 2)
                    break
                except (OSError, WebKitError):
                    if time.monotonic() > deadline or driver.poll() is not None:
                        raise RuntimeError("WebKitWebDriver did not start") from None
                    time.sleep(0.2)
            args = ["--automation", "--enable-mock-capture-devices=true"]
            caps = {"capabilities": {"alwaysMatch": {
                "webkitgtk:browserOptions": {"binary": MINIBROWSER, "args": args}}}}
            answer = _request("POST", base + "/session", caps, timeout)
            session = answer["sessionId"]
            page = Page(base, session, timeout)
            # MiniBrowser saves downloads into its home, without asking.
            page.downloads = Path(home)
            if url:
                parts = urlsplit(url)
                proxy = InjectingProxy(f"{parts.scheme}://{parts.netloc}",
                                       CAPTURE + "\n" + init_script)
                page.base = proxy.base
                page.goto(proxy.base + (parts.path or "/")
                          + (f"?{parts.query}" if parts.query else ""))
            yield page
        finally:
            if session:
                try:
                    _request("DELETE", f"{base}/session/{session}", None, 30)
                except (OSError, WebKitError):
                    pass
            harness.stop(driver)
            if proxy:
                proxy.close()

