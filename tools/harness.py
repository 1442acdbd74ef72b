"""The product served locally and Debian's Chromium with a fake camera: shared by the
browser tests (tests/site/conftest.py), the screenshot maker (tests/site/screenshot.py) and
the benchmarks that drive the page (benchmarks.page, page_crops, analyse)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# A name that resolves to this machine but is not localhost: pages served from it are not
# a secure context, which is how the HTTPS message is tested without a certificate.
INSECURE_HOST = "insecure.test"


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def chromium_args(video: Path) -> list[str]:
    return [
        "--no-sandbox",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-dev-shm-usage",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
        f"--host-resolver-rules=MAP {INSECURE_HOST} 127.0.0.1",
        # No --use-fake-ui-for-media-stream: camera access is granted per browser context
        # (permissions=["camera"]), so a test can also leave it denied.
    ]


def launch(playwright, video: Path):
    path = chromium_path()
    if path is None:
        raise RuntimeError("Debian's chromium is not installed (apt-get install -y chromium)")
    return playwright.chromium.launch(executable_path=path, headless=True,
                                      args=chromium_args(video))


@contextmanager
def live_page(model: Path, video: Path, height: int = 860) -> Iterator:
    """The product served with `model`, and its page open in a fresh Chromium whose camera
    (allowed) plays `video`, once a face is boxed: for the scripts (screenshot, benchmark)."""
    from playwright.sync_api import sync_playwright

    build_site()
    with serve(model) as base, sync_playwright() as playwright:
        browser = launch(playwright, video)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": height})
            context.grant_permissions(["camera"])
            page = context.new_page()
            page.goto(base + "/")
            page.wait_for_selector("[data-testid=face-box]", timeout=60_000)
            yield page
        finally:
            browser.close()


# The page's face detector (site/detector.js and its worker) on a picture (a URL, e.g.
# data:), in an open page: its boxes and eyes, largest face first. Used by
# tests/site/test_blazeface.py.
PAGE_DETECT = """async (frame) => {
    const { loadDetector } = await import('/detector.js');
    const image = new Image();
    image.src = frame;
    await image.decode();
    window.pageDetector ??= await loadDetector();
    return window.pageDetector.detect(await createImageBitmap(image));
}"""


# The page's own path from a frame to the crop it sends, run in an open page: the frame (a
# URL, e.g. data:) searched by the page's detector, the face cut and encoded as sent
# (crop.js, requests.js). With `face` ({box, eyes}) given, that
# detection is cut instead, lossless (PNG) and full size. With `before` (a URL), that frame is
# detected first, and `frame` then as the next frame of its video: searched around the faces
# found there (the page's tracker following a camera). Used by tests/site/test_crops.py and
# benchmarks/page_crops.py.
PAGE_CROP = """async ({ frame, face, before }) => {
    const { Tracker } = await import('/tracking.js');
    const { loadDetector } = await import('/detector.js');
    const { cropFace, loadFraming } = await import('/crop.js');
    const { cropJpeg } = await import('/requests.js');
    const drawn = async (url) => {
        const image = new Image();
        image.src = url;
        await image.decode();
        const canvas = document.createElement('canvas');
        canvas.width = image.width;
        canvas.height = image.height;
        canvas.getContext('2d', { willReadFrequently: true }).drawImage(image, 0, 0);
        return canvas;
    };
    const canvas = await drawn(frame);
    const framing = await loadFraming();
    if (face) {
        const target = document.createElement('canvas');
        cropFace(canvas, face, framing, target, 1000);
        return { png: target.toDataURL('image/png') };
    }
    window.cropDetector ??= await loadDetector();
    const tracker = new Tracker();
    if (before) await tracker.detect(window.cropDetector, await drawn(before), 0);
    await tracker.detect(window.cropDetector, canvas, 0);
    const windowed = window.cropDetector.searched !== null;
    const track = tracker.main();
    if (!track) return { faces: 0, windowed };
    const jpeg = new Uint8Array(await cropJpeg(canvas, track, framing));
    let text = '';
    for (const byte of jpeg) text += String.fromCharCode(byte);
    return { jpeg: btoa(text), box: track.box, eyes: track.eyes, faces: tracker.tracks.length,
             windowed };
}"""


def poll_until(predicate: str) -> str:
    """A JavaScript async function of {arg, ms} that polls `predicate` (a JavaScript function
    of `arg`) every 100 ms until it returns something truthy, which it returns; it throws
    after `ms`. For the browser drivers without a wait of their own (tools/firefox.py,
    tools/webkit.py)."""
    return f"""async ({{ arg, ms }}) => {{
        const predicate = ({predicate});
        const end = performance.now() + ms;
        for (;;) {{
            const value = await predicate(arg);
            if (value) return value;
            if (performance.now() > end) throw new Error(`not true within ${{ms}} ms`);
            await new Promise((resolve) => setTimeout(resolve, 100));
        }}
    }}"""


def stop(proc: subprocess.Popen, timeout: float = 10) -> None:
    """Ends `proc`: terminated, then killed if it has not gone within `timeout` s."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_site() -> None:
    """site/vendor/ (the in-browser face detector), as `make run` and `make test` build it."""
    subprocess.run(["bash", str(REPO / "site" / "build.sh")], check=True, timeout=300)


@contextmanager
def serve(model: Path, timeout: float = 90, port: int | None = None) -> Iterator[str]:
    """`python -m function.serve` on `port` (else a free one); yields its
    http://127.0.0.1:PORT. The API also accepts calls from http://localhost:PORT, a second
    origin for CORS tests."""
    port = port or free_port()
    env = dict(os.environ, PORT=str(port), HOST="127.0.0.1", MODEL_PATH=str(model),
               CORS_ORIGINS=f"http://localhost:{port}")
    proc = subprocess.Popen([sys.executable, "-m", "function.serve"], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited ({proc.returncode}): {proc.stderr.read()}")
            try:
                with urllib.request.urlopen(base + "/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer /health within {timeout:.0f} s")
            time.sleep(0.2)
        yield base
    finally:
        stop(proc)
