"""Latency and answer rate the live page shows, page + browser + server on this machine:
the served product driven in Debian's headless Chromium, its fake camera one face.

    python -m benchmarks.page [--seconds 30] [--face-width 100] [--fps 15] [--model PATH]
    python -m benchmarks.page --load-only     # the first-load figures alone
    python -m benchmarks.page --detector-only # the page's detector in each browser alone

First, the first visit and a repeat one: an empty cache, the network shaped as DevTools'
"Fast 4G" and "Fast 3G" (Slow 4G in newer DevTools) presets, with Chromium's own
emulation (CDP Network.emulateNetworkConditions), on the page and on its detector worker:
the bytes on the wire of everything the page and the worker fetched until the first
emotion, the time from navigation to the first emotion shown, and the same for a
second visit in the same browser (its cache warm). Then, for the running page, it samples
the page's "Latency" figure (what a person reads) every 200 ms after a warm-up
and counts the POST /face answers the page received. The page sends at most one crop per
camera frame, so the camera's frame rate caps the answer rate. Not a test: machines are noisy, so
it prints figures for docs/page-tracking.md; run it with nothing else on the machine.
"""

from __future__ import annotations

import argparse
import base64
import importlib
import io
import re
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PIL import Image

from benchmarks.common import machine, percentile
from function.model import LABELS
from tools import harness, scenes


def png_url(rgb) -> str:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def measure(page, seconds: float) -> dict:
    answers: list[float] = []

    def on_response(response) -> None:
        request = response.request
        if request.method == "POST" and request.url.split("?")[0].endswith("/face"):
            answers.append(time.monotonic())

    page.on("response", on_response)
    shown, server = [], []
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        text = page.locator("#latency").text_content() or ""
        match = re.match(r"(\d+) ms(?: \(server (\d+) ms\))?", text)
        if match:
            shown.append(float(match.group(1)))
            if match.group(2):
                server.append(float(match.group(2)))
        page.wait_for_timeout(200)
    elapsed = time.monotonic() - start
    inside = [t for t in answers if t >= start]
    return {"shown": shown, "server": server, "rate": len(inside) / elapsed,
            "boxes": page.locator("[data-testid=face-box]").count()}


# The page's detector alone (workers of its own, the camera stopped), on a video's frames in
# order, as the page hands them over: ms from handing a 640x480 frame to a worker to its
# boxes. One worker follows the video as the page does (most frames searched in a window
# around the last faces, the whole frame every so often), after one loop of the video to
# compile its networks; another searches every frame whole, as for unrelated pictures. The
# following one's boxes and eyes are compared with the whole search's, frame by frame.
DETECT_TIME = """async ([frames, loops]) => {
    const { loadDetector } = await import('/detector.js');
    const images = await Promise.all(frames.map(async (url) => {
        const image = new Image();
        image.src = url;
        await image.decode();
        return image;
    }));
    const following = await loadDetector();
    const whole = await loadDetector();
    const times = { follow: [], whole: [], first: 0 };
    const compare = { frames: 0, counts: 0, boxes: 0, off: 0, eyes: 0 };
    for (let loop = 0; loop <= loops; loop++) {
        for (const image of images) {
            const a = await createImageBitmap(image);
            const b = await createImageBitmap(image);
            let t = performance.now();
            const mine = await following.detect(a, { follow: true });
            const ms = performance.now() - t;
            t = performance.now();
            const theirs = await whole.detect(b);
            if (loop === 0) {  // the first loop compiles the windows' networks
                times.first = Math.max(times.first, ms);
                continue;
            }
            times.whole.push(performance.now() - t);
            times.follow.push(ms);
            if (!theirs.length) throw new Error('no face in the frame');
            compare.frames++;
            if (mine.length !== theirs.length) {
                compare.counts++;
                continue;
            }
            mine.forEach((m, i) => {
                const o = theirs[i];
                const off = Math.max(...['x', 'y', 'width', 'height'].map(
                    (k) => Math.abs(m[k] - o[k])));
                compare.boxes += off > 0;
                compare.off = Math.max(compare.off, off);
                const gap = (p, q) => Math.hypot(p.x - q.x, p.y - q.y);
                for (const eye of ['left', 'right']) {
                    const e = gap(m.eyes[eye], o.eyes[eye]) / gap(o.eyes.left, o.eyes.right);
                    compare.eyes = Math.max(compare.eyes, e);
                }
            });
        }
    }
    following.close();
    whole.close();
    const stats = (v) => {
        const sorted = [...v].sort((p, q) => p - q);
        return { mean: v.reduce((p, q) => p + q, 0) / v.length,
                 median: sorted[Math.floor(v.length / 2)],
                 p90: sorted[Math.floor(v.length * 0.9)], max: sorted[v.length - 1] };
    };
    return { follow: stats(times.follow), whole: stats(times.whole), frames: times.follow.length,
             first: times.first, compare };
}"""


# Stops the page's own camera loop once it runs, so the figure is the detector's alone: its
# frames, its crops and the server's answers would otherwise share the cores with it. The
# button reads "Stop camera" from the start but is disabled until the camera runs.
STOP_CAMERA = """async () => {
    const button = document.getElementById('camera-button');
    const stage = document.getElementById('stage');
    for (let i = 0; i < 200 && (button.disabled || stage.dataset.state !== 'running'); i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
    button.click();
    if (button.textContent !== 'Start camera') throw new Error('the camera did not stop');
}"""

# The page's own loop on the browser's camera, once its detector runs in the browser:
# detections per second (the page's "Face detection" rate) over `seconds`, after a warm-up.
TRACKING_RATE = """async ([warmup, seconds]) => {
    const inBrowser = () => document.getElementById('mode').textContent
        .startsWith('in your browser');
    for (let i = 0; i < 600 && !inBrowser(); i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (!inBrowser()) throw new Error('the detector did not start in the browser');
    const video = document.getElementById('video');
    await new Promise((resolve) => setTimeout(resolve, warmup * 1000));
    const stats = () => Number(document.getElementById('detect-rate').textContent
        .split(' ')[0]);
    const rates = [];
    const frames = video.getVideoPlaybackQuality?.().totalVideoFrames;
    const start = performance.now();
    while (performance.now() - start < seconds * 1000) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        if (Number.isFinite(stats())) rates.push(stats());
    }
    const camera = frames === undefined ? null : (video.getVideoPlaybackQuality()
        .totalVideoFrames - frames) / ((performance.now() - start) / 1000);
    rates.sort((a, b) => a - b);
    return { rate: rates[Math.floor(rates.length / 2)], camera };
}"""

BROWSERS = ("chromium", "firefox", "webkit")


@contextmanager
def page_in(browser: str, base: str, video: Path) -> Iterator:
    """The page open in `browser`, its camera the browser's own fake one (Chromium's plays
    `video`): an object with evaluate(source, arg, timeout=s)."""
    if browser != "chromium":
        with importlib.import_module(f"tools.{browser}").open_page(base + "/") as page:
            yield page
        return
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = harness.launch(playwright, video)
        try:
            context = chromium.new_context()
            context.grant_permissions(["camera"])
            page = context.new_page()
            page.goto(base + "/")

            class Page:
                @staticmethod
                def evaluate(source: str, arg=None, timeout: float = 300):
                    page.set_default_timeout(timeout * 1000)
                    return page.evaluate(source, arg)

            yield Page
        finally:
            chromium.close()


def detector_in(browser: str, base: str, video: Path, frames: list[str], loops: int) -> dict:
    """The page's detector in `browser` on `frames` (data: URLs), following them and
    searching each whole (DETECT_TIME)."""
    with page_in(browser, base, video) as page:
        page.evaluate(STOP_CAMERA, timeout=30)
        return page.evaluate(DETECT_TIME, [frames, loops], timeout=300)


def whole_every() -> int:
    """How often the page's detector searches a followed video's frame whole."""
    worker = (harness.REPO / "site" / "detector-worker.js").read_text()
    return int(re.search(r"^const WHOLE_EVERY = (\d+);", worker, re.M).group(1))


def tracking_in(browser: str, base: str, video: Path, seconds: float = 10) -> str:
    """The page's detection rate on `browser`'s fake camera, and that camera's own rate."""
    with page_in(browser, base, video) as page:
        result = page.evaluate(TRACKING_RATE, [4, seconds], timeout=120)
    camera = f" of {result['camera']:.1f}" if result["camera"] else ""
    return f"{result['rate']:.1f} fps{camera}"


# A bare page's cost of drawing one camera frame into a canvas (what the page does with
# each frame before anything else): median ms of 15, on a video of its own, shown.
DRAW_FRAME = """async () => {
    const stream = await navigator.mediaDevices.getUserMedia({ video: true });
    const video = document.createElement('video');
    video.muted = true;
    video.srcObject = stream;
    document.body.append(video);  // shown, as the page's is
    await video.play();
    const ctx = Object.assign(document.createElement('canvas'),
        { width: video.videoWidth, height: video.videoHeight })
        .getContext('2d', { willReadFrequently: true });
    const times = [];
    for (let i = 0; i < 15; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        const t = performance.now();
        ctx.drawImage(video, 0, 0);
        ctx.getImageData(0, 0, 1, 1);
        times.push(performance.now() - t);
    }
    stream.getTracks().forEach((track) => track.stop());
    video.remove();
    times.sort((a, b) => a - b);
    return times[7];
}"""


def webkit_frame_draw(base: str) -> str:
    """DRAW_FRAME in WebKitGTK on a page with nothing else in it (the API's /health), its
    DMA-BUF renderer on (its default) and off (tools/webkit.py's RENDERING)."""
    from tools import webkit

    figures = []
    for name, rendering in (("on", {}), ("off", None)):
        with webkit.open_page(base + "/health", rendering=rendering) as page:
            figures.append(f"{name} {page.evaluate(DRAW_FRAME, timeout=60):.0f} ms")
    return ", ".join(figures)


def measure_detectors(model: Path, video: Path, frames: list[str], loops: int = 3) -> None:
    harness.build_site()
    print(f"the page's detector alone, ms per 640x480 frame of a {len(frames)}-frame video of one "
          f"face swaying, {loops} loops in order ({loops * len(frames)} frames) after one to "
          "warm up: following the video as the page does (windows around the last faces; the "
          f"whole frame every {whole_every()} frames, and after a face is missed), against every "
          "frame searched whole")
    rates = []
    with harness.serve(model) as base:
        for browser in BROWSERS:
            # A browser missing here is said, not fatal.
            try:
                r = detector_in(browser, base, video, frames, loops)
            except Exception as error:  # noqa: BLE001
                print(f"  {browser}: not measured ({str(error).splitlines()[0][:120]})")
                r = None
            if r:
                f, w, c = r["follow"], r["whole"], r["compare"]
                print(f"  {browser}: following: mean {f['mean']:.1f} ms (median "
                      f"{f['median']:.1f}, p90 {f['p90']:.1f}, max {f['max']:.1f}; warm-up loop, "
                      f"compiling the windows' networks: max {r['first']:.0f}); every frame "
                      f"whole: mean {w['mean']:.1f} ms (median {w['median']:.1f}); following "
                      f"vs whole, {c['frames']} frames: {c['counts']} with another face count, "
                      f"{c['boxes']} boxes not to the pixel (at most {c['off']} px off), eyes at "
                      f"most {100 * c['eyes']:.2f}% of their distance apart")
            try:
                rates.append(f"{browser} {tracking_in(browser, base, video)}")
            except Exception as error:  # noqa: BLE001
                rates.append(f"{browser} not measured ({str(error).splitlines()[0][:120]})")
        try:
            draw = webkit_frame_draw(base)
        except Exception as error:  # noqa: BLE001
            draw = f"not measured ({str(error).splitlines()[0][:120]})"
    print(f"WebKitGTK on Xvfb, one camera frame drawn into a canvas on a bare page, its DMA-BUF "
          f"renderer {draw}")
    print("the page tracking each browser's fake camera (Chromium's: the face video; Firefox's "
          "and WebKit's: a pattern with no face), detections per second of camera frames: "
          + "; ".join(rates))


# DevTools' presets (its NetworkManager: the nominal figures scaled to what they feel like
# over a real link): bytes per second down and up, round-trip ms.
NETWORKS = {
    "Fast 4G": (9_000_000 * 0.9 / 8, 1_500_000 * 0.9 / 8, 60 * 2.75),
    "Fast 3G": (1_600_000 * 0.9 / 8, 750_000 * 0.9 / 8, 150 * 3.75),
}

# Resolves, once the page shows its first emotion, to ms since navigation, and where the
# faces were found then.
FIRST_EMOTION = """labels => {
    const shown = document.querySelector('[data-testid=emotion]')?.textContent;
    return labels.includes(shown) &&
        { ms: performance.now(), mode: document.getElementById('mode').textContent };
}"""


def shape(session, network: str) -> None:
    down, up, latency = NETWORKS[network]
    session.send("Network.enable")
    session.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": latency, "downloadThroughput": down,
        "uploadThroughput": up})


def visit(context, base: str, network: str, timeout_s: float = 120) -> dict:
    """One visit in `context`: ms to the first emotion, and the bytes every request of the
    page and its worker took on the wire (headers and encoded bodies) until then."""
    requests = []

    def finished(request) -> None:
        requests.append(request)

    context.on("requestfinished", finished)
    page = context.new_page()
    # Shaped before anything loads; the worker is a target of its own, shaped when it
    # attaches (below), so its wasm download is shaped too.
    shape(context.new_cdp_session(page), network)
    page.goto(base + "/", wait_until="commit")
    first = page.wait_for_function(FIRST_EMOTION, arg=sorted(LABELS), polling=50,
                                   timeout=timeout_s * 1000).json_value()
    ready = page.wait_for_function(
        "() => document.getElementById('mode').textContent.startsWith('in your browser')"
        " && performance.now()", polling=50, timeout=timeout_s * 1000).json_value()
    wire = 0
    for request in list(requests):
        try:
            sizes = request.sizes()
        except Exception:  # noqa: BLE001 - a request whose page is gone
            continue
        wire += sizes["responseBodySize"] + sizes["responseHeadersSize"]
    context.remove_listener("requestfinished", finished)
    urls = [r.url for r in requests]
    page.close()
    return {"ms": first["ms"], "mode": first["mode"], "ready": ready, "bytes": wire,
            "requests": len(urls), "wasm": any(u.endswith(".wasm") for u in urls)}


def measure_load(model: Path, video: Path) -> None:
    from playwright.sync_api import sync_playwright

    harness.build_site()
    with harness.serve(model) as base, sync_playwright() as playwright:
        browser = harness.launch(playwright, video)
        try:
            for network in NETWORKS:
                down, up, latency = NETWORKS[network]
                context = browser.new_context(viewport={"width": 1280, "height": 860})
                context.grant_permissions(["camera"])
                cold = visit(context, base, network)
                warm = visit(context, base, network)
                context.close()
                print(f"{network} ({down * 8 / 1e6:.2f} Mbit/s down, {up * 8 / 1e6:.2f} up, "
                      f"{latency:.0f} ms): first visit {cold['ms'] / 1000:.2f} s to the first "
                      f"emotion (faces found {cold['mode']}), {cold['bytes'] / 1e6:.2f} MB on "
                      f"the wire in {cold['requests']} requests"
                      f"{'' if cold['wasm'] else ' (the wasm not yet in)'}, detector ready "
                      f"{cold['ready'] / 1000:.2f} s; repeat visit "
                      f"{warm['ms'] / 1000:.2f} s, {warm['bytes'] / 1e3:.0f} kB")
        finally:
            browser.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=30)
    p.add_argument("--warmup", type=float, default=8)
    p.add_argument("--face-width", type=int, default=100)
    p.add_argument("--fps", type=int, default=15, help="the fake camera's frame rate")
    p.add_argument("--model", type=Path, default=None)
    p.add_argument("--load-only", action="store_true", help="the first-load figures alone")
    p.add_argument("--detector-only", action="store_true",
                   help="the page's detector in each browser alone")
    args = p.parse_args()
    model = args.model or sorted((harness.REPO / "models").glob("*.pt"))[-1]

    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        frames = scenes.face_at_width(args.face_width, frames=2 * args.fps)
        video = scenes.write_y4m(Path(tmp) / "face.y4m", frames, fps=args.fps)
        if not args.detector_only:
            measure_load(model, video)
        if not args.load_only:
            measure_detectors(model, video, [png_url(f) for f in frames])
        if args.load_only or args.detector_only:
            return
        with harness.live_page(model, video) as page:
            page.wait_for_timeout(args.warmup * 1000)
            result = measure(page, args.seconds)
    shown, server = result["shown"], result["server"]
    if not shown:
        raise SystemExit("the page showed no latency: no face answered")
    print(f"one face {args.face_width} px wide, camera {args.fps} fps, {args.seconds:.0f} s, "
          f"model {model.name}")
    print(f"latency shown: p50 {statistics.median(shown):.0f} ms, "
          f"p90 {percentile(shown, 90):.0f} ms ({len(shown)} samples); "
          f"server time shown p50 {statistics.median(server) if server else float('nan'):.0f} ms")
    print(f"answers: {result['rate']:.1f} per second")


if __name__ == "__main__":
    main()
