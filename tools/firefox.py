"""Debian's firefox-esr, driven over WebDriver BiDi by puppeteer-core through a small Node
bridge (tools/firefox_bridge.mjs): for the Firefox browser tests (tests/site/test_firefox.py)
and anything else that needs the page in Firefox.

    with firefox.open_page(base + "/", downloads=tmp) as page:
        page.wait_for("() => document.title !== ''")
        page.evaluate("(n) => n + 1", 1)  # 2

Firefox's camera is its fake device (a generated pattern, no face), allowed without a
prompt; downloads land in `downloads` without a dialog; Firefox's own background traffic
(updates, telemetry, captive portal and connectivity checks, safe browsing) is off."""

from __future__ import annotations

import itertools
import json
import queue
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tools import harness

REPO = Path(__file__).resolve().parents[1]
BRIDGE = REPO / "tools" / "firefox_bridge.mjs"
FIREFOX = "/usr/bin/firefox-esr"
PUPPETEER = REPO / "site" / "node_modules" / "puppeteer-core" / "package.json"

PREFS: dict[str, Any] = {
    # The camera: Firefox's fake device, granted without asking.
    "media.navigator.streams.fake": True,
    "media.navigator.permission.disabled": True,
    # Downloads saved at once into browser.download.dir (set per launch).
    "browser.download.folderList": 2,
    "browser.download.useDownloadDir": True,
    "browser.download.always_ask_before_handling_new_types": False,
    "browser.download.start_downloads_in_tmp_dir": False,
    "browser.download.alwaysOpenPanel": False,
    "browser.download.manager.showWhenStarting": False,
    # Nothing but the page's own server: no background requests (puppeteer's profile
    # already turns off most; these are the rest).
    "app.update.enabled": False,
    "app.update.auto": False,
    "app.shield.optoutstudies.enabled": False,
    "app.normandy.enabled": False,
    "toolkit.telemetry.enabled": False,
    "toolkit.telemetry.unified": False,
    "toolkit.telemetry.archive.enabled": False,
    "toolkit.telemetry.server": "",
    "browser.ping-centre.telemetry": False,
    "browser.newtabpage.activity-stream.feeds.telemetry": False,
    "browser.newtabpage.activity-stream.telemetry": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "browser.safebrowsing.update.enabled": False,
    "browser.safebrowsing.downloads.remote.enabled": False,
    "browser.safebrowsing.provider.google4.updateURL": "",
    "browser.safebrowsing.provider.mozilla.updateURL": "",
    "extensions.blocklist.enabled": False,
    "browser.region.update.enabled": False,
    "browser.region.network.url": "",
    "messaging-system.rsexperimentloader.enabled": False,
    "identity.fxaccounts.enabled": False,
    "dom.push.connection.enabled": False,
    "media.gmp-gmpopenh264.enabled": False,
    "network.dns.disablePrefetch": True,
    "network.prefetch-next": False,
    "network.trr.mode": 5,
    # And should anything still try: a proxy on a closed port for every other host
    # (localhost and 127.0.0.1 are never proxied), so it fails instead of going out.
    "network.proxy.type": 1,
    "network.proxy.http": "127.0.0.1",
    "network.proxy.http_port": 9,
    "network.proxy.ssl": "127.0.0.1",
    "network.proxy.ssl_port": 9,
    "network.proxy.allow_hijacking_localhost": False,
}


def missing() -> str | None:
    """What stops Firefox being driven here, with the command that fixes it; None when
    nothing does."""
    if not Path(FIREFOX).exists():
        return "Debian's firefox-esr is not installed (apt-get install -y firefox-esr)"
    if shutil.which("node") is None:
        return "node is not installed (apt-get install -y nodejs npm)"
    if not PUPPETEER.exists():
        return "puppeteer-core is not in site/node_modules (cd site && npm ci --ignore-scripts)"
    return None


class FirefoxError(RuntimeError):
    """The page or the bridge failed a call: the browser's own message."""


class Page:
    """One page in a fresh headless Firefox; `console_errors` and `page_errors` are what it
    logged as errors and threw, as they came."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self._ids = itertools.count(1)
        self._answers: queue.Queue[dict] = queue.Queue()
        self._proc = subprocess.Popen(["node", str(BRIDGE)], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True, cwd=REPO)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self._proc.stdout:
            message = json.loads(line)
            if message.get("event") == "console":
                self.console_errors.append(message["text"])
            elif message.get("event") == "pageerror":
                self.page_errors.append(message["text"])
            else:
                self._answers.put(message)
        self._answers.put({"error": f"the Firefox bridge exited ({self._proc.wait()})"})

    def _call(self, op: str, timeout: float | None = None, **args: Any) -> Any:
        call_id = next(self._ids)
        self._proc.stdin.write(json.dumps({"id": call_id, "op": op, **args}) + "\n")
        self._proc.stdin.flush()
        try:
            answer = self._answers.get(timeout=timeout or self.timeout)
        except queue.Empty:
            raise FirefoxError(f"{op} got no answer within {timeout or self.timeout:.0f} s") \
                from None
        if "error" in answer:
            raise FirefoxError(answer["error"])
        return answer["result"]

    def goto(self, url: str) -> None:
        self._call("goto", url=url)

    def evaluate(self, source: str, arg: Any = None, timeout: float | None = None) -> Any:
        """`source`, a JavaScript function (async or not), called in the page with `arg`
        (JSON): its result, through JSON."""
        return self._call("evaluate", timeout, source=source, arg=arg)

    def wait_for(self, predicate: str, arg: Any = None, timeout: float = 30) -> Any:
        """Polls `predicate` (a JavaScript function of `arg`) until it returns something
        truthy, which is returned; FirefoxError after `timeout` seconds."""
        poll = harness.poll_until(predicate)
        return self.evaluate(poll, {"arg": arg, "ms": timeout * 1000}, timeout=timeout + 10)

    def click(self, selector: str) -> None:
        """A real mouse click (BiDi input actions) on the element `selector`."""
        self._call("click", selector=selector)

    def upload(self, selector: str, path: Path) -> None:
        """Chooses `path` in the file input `selector`, as a person would."""
        self._call("upload", selector=selector, path=str(path))

    def close(self) -> None:
        if self._proc.poll() is None:
            try:
                self._call("close", timeout=30)
            except FirefoxError:
                pass
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc.stdin.close()


@contextmanager
def open_page(url: str | None = None, downloads: Path | None = None, init_script: str = "",
              viewport: tuple[int, int] = (1280, 860), timeout: float = 60) -> Iterator[Page]:
    """A page in a fresh headless firefox-esr, at `url` when given; downloads saved into
    `downloads`; `init_script` (JavaScript source) runs in every document before its own
    scripts."""
    reason = missing()
    if reason:
        raise RuntimeError(reason)
    prefs = dict(PREFS)
    if downloads is not None:
        prefs["browser.download.dir"] = str(downloads)
    page = Page(timeout)
    try:
        page._call("launch", executablePath=FIREFOX, prefs=prefs, initScript=init_script,
                   viewport={"width": viewport[0], "height": viewport[1]})
        if url:
            page.goto(url)
        yield page
    finally:
        page.close()
