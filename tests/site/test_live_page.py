"""End-to-end: the live page in headless Chromium against the locally served product, its
camera a fake device playing a video of a real face (see tools/scenes.py)."""

from __future__ import annotations

import io
import json
import re
import socket
import socketserver
import statistics
import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image
from playwright.sync_api import expect

from function.model import LABELS
from tests.site.conftest import PageLog, open_context
from tools.harness import INSECURE_HOST, launch
from tools.scenes import HEIGHT, WIDTH


class FaceTraffic:
    """Every POST /face the page makes: bodies sent, answers received, and how many were
    out at the same time."""

    def __init__(self, page) -> None:
        self.sent: list[dict] = []
        self.answers = []
        self.out = 0
        self.max_out = 0
        page.on("request", self._on_request)
        page.on("response", self._on_response)
        page.on("requestfinished", self._on_done)
        page.on("requestfailed", self._on_done)

    @staticmethod
    def _is_face(request) -> bool:
        return request.method == "POST" and request.url.split("?")[0].endswith("/face")

    def _on_request(self, request) -> None:
        if self._is_face(request):
            self.out += 1
            self.max_out = max(self.max_out, self.out)
            query = parse_qs(urlsplit(request.url).query)
            self.sent.append({"detect": query.get("detect") == ["true"],
                              "type": request.headers.get("content-type"),
                              "image": request.post_data_buffer})

    def _on_response(self, response) -> None:
        if self._is_face(response.request) and response.ok:
            self.answers.append(response)

    def _on_done(self, request) -> None:
        if self._is_face(request):
            self.out -= 1

    def crops(self) -> list[dict]:
        """What was sent from the first face crop on, checking that everything before it
        was a whole frame for the server to search (the page does that until its own
        detector is ready)."""
        first = next((i for i, body in enumerate(self.sent) if not body["detect"]), None)
        assert first is not None, f"no face crop among {len(self.sent)} requests"
        assert all(body["detect"] for body in self.sent[:first])
        return self.sent[first:]

    def top_labels(self) -> list[str]:
        tops = []
        for response in self.answers:
            predictions = response.json()["predictions"]
            if predictions:
                tops.append(max(predictions, key=predictions.get))
        return tops


def jpeg_size(data: bytes) -> tuple[int, int]:
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    return image.size


# The main face box in the frame's pixels (a frame [w, h]), undoing the mirrored display;
# null when no box is drawn. Shared with tests/site/test_firefox.py.
BOX_IN_FRAME = """([w, h]) => {
    const video = document.getElementById('video').getBoundingClientRect();
    const el = document.querySelector('[data-testid="face-box"].is-main')
        || document.querySelector('[data-testid="face-box"]');
    if (!el) return null;
    const r = el.getBoundingClientRect();
    const sx = w / video.width, sy = h / video.height;
    let x = (r.left - video.left) * sx;
    const width = r.width * sx;
    if (document.getElementById('mirror').checked) x = w - x - width;
    return {x, y: (r.top - video.top) * sy, width, height: r.height * sy};
}"""


def box_in_frame(page) -> dict:
    """The main face box in the camera frame's pixels, undoing the mirrored display."""
    box = page.evaluate(BOX_IN_FRAME, [WIDTH, HEIGHT])
    assert box is not None, "no face box is drawn"
    return box


def wait_for_emotion(page, timeout: float = 45_000) -> str:
    page.wait_for_function(
        "labels => labels.includes(document.querySelector('[data-testid=emotion]').textContent)",
        arg=sorted(LABELS), timeout=timeout)
    return page.get_by_test_id("emotion").text_content()


def wait_for_detector(page, timeout: float = 45_000) -> None:
    """Until the page finds faces in the browser (the server does until then)."""
    page.wait_for_function("() => document.querySelector('[data-testid=mode]').textContent"
                           ".startsWith('in your browser')", timeout=timeout)


def timeline_points(page) -> int:
    return int(page.get_by_test_id("timeline").get_attribute("data-points"))


def message(page, key: str):
    return page.get_by_test_id(f"message-{key}")


def test_live_page_boxes_face_shows_api_emotion_and_timeline(page, server):
    traffic = FaceTraffic(page)
    # The context sees the detector worker's requests too.
    urls: list[str] = []
    page.context.on("request", lambda request: urls.append(request.url))
    page.goto(server + "/")
    emotion = wait_for_emotion(page)
    # Nothing from a CDN: the detector, its wasm and its models come from this site.
    assert any(re.search(r"/vendor/detector-[0-9a-f]+/models/", url) for url in urls), urls
    assert all(url.startswith(server + "/") for url in urls), urls

    # Faces are found in the browser: one box, on the face, following it as it sways.
    wait_for_detector(page)
    assert page.get_by_test_id("face-box").count() == 1
    centers = []
    for _ in range(12):
        box = box_in_frame(page)
        # The video's face is ~130 px wide around (285 +- 24, 210): see scenes.face_frames.
        assert 70 < box["width"] < 220, box
        assert 200 < box["x"] + box["width"] / 2 < 370, box
        assert 150 < box["y"] + box["height"] / 2 < 270, box
        centers.append(box["x"] + box["width"] / 2)
        page.wait_for_timeout(150)
    assert max(centers) - min(centers) > 8, f"the box did not follow the face: {centers}"

    # Once the detector is ready, only small JPEG face crops go out; one request at a time.
    crops = traffic.crops()
    assert crops and all(body["detect"] is False for body in crops)
    assert all(body["type"] == "image/jpeg" for body in traffic.sent)
    width, height = jpeg_size(crops[-1]["image"])
    assert 64 <= max(width, height) <= 224
    assert traffic.max_out == 1

    # The label shown is what the API says of this face (smoothing only steadies it).
    tops = traffic.top_labels()
    assert tops, "no answer from the API"
    emotion = page.get_by_test_id("emotion").text_content()
    assert emotion in tops, (emotion, tops)
    assert emotion == statistics.mode(tops[-10:]), (emotion, tops)
    assert page.locator(".bar-row.is-top .bar-label").text_content().strip().endswith(emotion)

    # The timeline grows while the face stays in view.
    before = timeline_points(page)
    assert before >= 1
    page.wait_for_function(
        "n => document.querySelector('[data-testid=timeline]').dataset.points > n", arg=before)

    # Latency and rates are shown; "Show details" (by keyboard) reveals the raw JSON.
    page.wait_for_function("() => /\\d+ ms/.test(document.getElementById('latency').textContent)")
    assert "per second" in page.locator("#answer-rate").text_content()
    page.locator("details summary").focus()
    page.keyboard.press("Enter")
    expect(page.locator("details summary")).to_have_text("Hide details")
    raw = json.loads(page.get_by_test_id("raw-json").text_content())
    assert set(raw["predictions"]) == set(LABELS)
    assert raw["faces"][0]["box"]["x"] == 0  # a crop: the whole image is the face

    assert not page.log.page_errors
    assert page.locator("#messages").inner_text() == ""

    # Stopping the camera clears the state; starting it again resumes.
    page.get_by_role("button", name="Stop camera").click()
    expect(page.get_by_test_id("face-box")).to_have_count(0)
    expect(page.get_by_test_id("emotion")).to_have_text("")
    page.get_by_role("button", name="Start camera").click()
    wait_for_emotion(page)
    expect(page.get_by_test_id("face-box")).to_have_count(1)


def without_the_detector(page) -> None:
    """The vendored detector's files (and the framing it crops with) fail to load; the
    page's own labels (vendor/labels.js, function/labels.json's copy) still do."""
    page.route(re.compile(r"/vendor/(?!labels\.js)"), lambda route: route.abort())


def test_without_the_browser_detector_the_server_finds_faces(page, server):
    """Phone-sized, and the vendored detector cannot load: frames go to the API instead."""
    page.set_viewport_size({"width": 375, "height": 740})
    without_the_detector(page)
    traffic = FaceTraffic(page)
    page.goto(server + "/")
    emotion = wait_for_emotion(page)

    assert page.get_by_test_id("mode").text_content().startswith("on the server")
    assert "unavailable" in message(page, "detector").text_content()
    assert page.get_by_test_id("face-box").count() == 1
    box = box_in_frame(page)
    assert 200 < box["x"] + box["width"] / 2 < 370, box
    assert all(body["detect"] is True for body in traffic.sent)
    assert jpeg_size(traffic.sent[-1]["image"]) == (640, 480)
    assert emotion in traffic.top_labels()
    assert traffic.max_out == 1
    # Usable on a phone: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert not page.log.page_errors


def test_an_answer_that_comes_after_the_detector_took_over_still_counts(page, server):
    """The server's answer to a whole frame sent before the page's own detector was ready,
    arriving once it has taken over, gives the face it found its emotion: it is not lost."""
    held, crops = [], []

    def face(route):
        if "detect=true" in route.request.url:
            held.append((route, route.fetch()))  # the server's real answer, kept back
        else:
            crops.append(route)  # no crop is answered here: only the held answer can label

    page.route("**/face?*", face)
    page.goto(server + "/")
    wait_for_detector(page)
    page.wait_for_timeout(300)  # the detector's boxes on the face
    assert len(held) == 1  # one request out at a time: the held one
    assert page.get_by_test_id("face-box").count() == 1
    assert page.get_by_test_id("emotion").text_content() not in LABELS
    route, answer = held[0]
    faces = answer.json()["faces"]
    assert len(faces) == 1
    route.fulfill(response=answer)
    # The answer took the slot; the crops sent after it stay unanswered.
    expect(page.get_by_test_id("emotion")).to_have_text(faces[0]["emotion"], timeout=5_000)
    assert len(held) == 1
    for crop in crops:
        crop.abort()
    assert not page.log.page_errors


def test_camera_denied_explains_and_recovers(browser, server):
    context = open_context(browser, camera=False)
    try:
        page = context.new_page()
        log = PageLog(page)
        page.goto(server + "/")
        denied = message(page, "camera")
        denied.wait_for()
        assert "denied" in denied.text_content()
        assert page.get_by_test_id("emotion").text_content() == ""

        # The way forward: allow the camera, press Try again.
        context.grant_permissions(["camera"])
        denied.get_by_role("button", name="Try again").click()
        wait_for_emotion(page)
        assert page.get_by_test_id("face-box").count() == 1
        assert not log.page_errors
    finally:
        context.close()


@pytest.mark.parametrize(("error", "text"), [
    ("NotFoundError", "No camera was found"),
    ("NotReadableError", "in use by another app"),
])
def test_camera_errors_are_explained(page, server, error, text):
    page.add_init_script(f"""
        navigator.mediaDevices.getUserMedia = () =>
            Promise.reject(new DOMException('fake', '{error}'));
    """)
    page.goto(server + "/")
    shown = message(page, "camera")
    shown.wait_for()
    assert text in shown.text_content()
    assert shown.get_by_role("button", name="Try again").is_visible()


def test_api_down(page, server):
    # The deploy-time config points at an API that is not running.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    page.route("**/config.js", lambda route: route.fulfill(
        content_type="text/javascript", body=f"window.EMOTION_CONFIG = {{apiUrl: '{dead}'}};"))
    page.goto(server + "/")
    down = message(page, "api")
    down.wait_for()
    page.wait_for_function("() => document.querySelector('[data-testid=face-box]') !== null")
    assert "Can't reach the emotion API" in down.text_content()
    assert dead in down.text_content()
    # Boxes still follow the face; no emotion is invented.
    assert page.get_by_test_id("face-box").count() == 1
    assert page.get_by_test_id("emotion").text_content() == ""


def test_api_on_another_origin(context, server):
    """The API URL from config.js, cross-origin (as on CloudFront + API Gateway): CORS."""
    page = context.new_page()
    port = server.rsplit(":", 1)[1]
    page.route("**/config.js", lambda route: route.fulfill(
        content_type="text/javascript", body=f"window.EMOTION_CONFIG = {{apiUrl: '{server}/'}};"))
    traffic = FaceTraffic(page)
    page.goto(f"http://localhost:{port}/")
    wait_for_emotion(page)
    wait_for_detector(page)
    # Frames while the detector loaded, then crops: all answered by the other origin.
    with page.expect_response(lambda r: r.url == f"{server}/face?detect=false" and r.ok):
        pass
    assert {a.url for a in traffic.answers} <= {f"{server}/face?detect=true",
                                                 f"{server}/face?detect=false"}


def test_api_4xx_is_shown_with_a_way_forward(page, server):
    page.route("**/face?*", lambda route: route.fulfill(
        status=400, content_type="application/json",
        body='{"error": {"code": "invalid_image", "message": "the data is not an image"}}'))
    page.goto(server + "/")
    refused = message(page, "api")
    refused.wait_for()
    assert "HTTP 400, invalid_image" in refused.text_content()
    assert "the data is not an image" in refused.text_content()
    assert refused.get_by_role("button", name="Try again").is_visible()


class StallingAPI(socketserver.ThreadingTCPServer):
    """An API whose POST /face sends its headers and then never the body: the page must
    still give up after its timeout (a stuck answer must not freeze the loop)."""

    daemon_threads = True
    allow_reuse_address = True
    CORS = b"Access-Control-Allow-Origin: *\r\n"

    def __init__(self) -> None:
        self.release = threading.Event()
        super().__init__(("127.0.0.1", 0), self.Handler)

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            line = self.rfile.readline().decode()
            while self.rfile.readline() not in (b"\r\n", b""):
                pass                    # headers; the body, if any, is never needed
            cors = StallingAPI.CORS
            if line.startswith("OPTIONS"):
                self.wfile.write(b"HTTP/1.1 204 No Content\r\n" + cors
                                 + b"Access-Control-Allow-Methods: GET, POST\r\n"
                                 b"Access-Control-Allow-Headers: Content-Type\r\n"
                                 b"Content-Length: 0\r\n\r\n")
            elif line.startswith("GET /health"):
                body = json.dumps({"status": "ok", "model": "stalling@0"}).encode()
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 + cors + f"Content-Length: {len(body)}\r\n\r\n".encode()
                                 + body)
            else:
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 + cors + b"Content-Length: 1000\r\n\r\n{")
                self.wfile.flush()
                self.server.release.wait(60)


def test_an_answer_whose_body_stalls_times_out(page, server):
    api = StallingAPI()
    threading.Thread(target=api.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{api.server_address[1]}"
    try:
        page.route("**/config.js", lambda route: route.fulfill(
            content_type="text/javascript", body=f"window.EMOTION_CONFIG = {{apiUrl: '{url}'}};"))
        page.goto(server + "/")
        stuck = message(page, "api")
        stuck.wait_for(timeout=40_000)          # the page's own limit is 15 s
        assert "did not answer within 15 s" in stuck.text_content()
    finally:
        api.release.set()
        api.shutdown()
        api.server_close()


def test_slow_api_is_reported(page, server):
    def slow(route):
        time.sleep(3.5)
        route.continue_()

    page.route("**/face?*", slow)
    page.goto(server + "/")
    slow_note = message(page, "api-slow")
    slow_note.wait_for()
    assert "slow" in slow_note.text_content()


def test_no_face_in_view(playwright, empty_video, server):
    browser = launch(playwright, empty_video)
    try:
        page = open_context(browser).new_page()
        page.goto(server + "/")
        no_face = message(page, "face")
        no_face.wait_for()
        assert "No face in view" in no_face.text_content()
        assert page.get_by_test_id("face-box").count() == 0
        assert page.get_by_test_id("emotion").text_content() == ""
    finally:
        browser.close()


def test_page_not_served_over_https(page, server):
    port = server.rsplit(":", 1)[1]
    page.goto(f"http://{INSECURE_HOST}:{port}/")
    assert page.evaluate("window.isSecureContext") is False
    insecure = message(page, "camera")
    insecure.wait_for()
    assert "not served over HTTPS" in insecure.text_content()
    assert insecure.get_by_role("link").get_attribute("href").startswith("https://")


def test_a_status_check_that_keeps_failing_is_said_and_recovers(page, server):
    # The API fails until `healthy`: GET /health with a 500 in the API's error shape, then a
    # proxy's HTML page (POST /face with 503s, so no answer says otherwise). The page says
    # so in plain words, keeps checking, and clears the message once the check works, with
    # the model's name shown.
    checks = []
    healthy = False

    def face(route):
        if healthy:
            route.continue_()
        else:
            route.fulfill(status=503, json={"message": "Service Unavailable"})

    def health(route):
        checks.append(healthy)
        if healthy:
            route.continue_()
        elif len(checks) <= 3:
            route.fulfill(status=500, json={"error": {
                "code": "internal_error", "message": "the server failed; try again"}})
        else:
            route.fulfill(status=200, content_type="text/html", body="<h1>Welcome</h1>")

    page.route("**/health", health)
    page.route("**/face?*", face)
    model_info = page.locator("#model-info")
    page.goto(server + "/")
    failing = message(page, "health")
    failing.wait_for(timeout=20_000)
    assert 3 <= len(checks) <= 4          # said once it repeats, not on the first failure
    assert failing.get_attribute("role") == "alert"
    expect(failing).to_contain_text("The emotion API at " + server + " is not working: its "
                                    "status check keeps failing (HTTP 500, internal_error: "
                                    "the server failed; try again).")
    expect(failing).to_contain_text("an answer this page cannot read", timeout=20_000)
    expect(failing).to_contain_text("Is the API URL in config.js right?")
    assert model_info.text_content() == ""
    healthy = True
    failing.wait_for(state="detached", timeout=20_000)
    expect(model_info).to_contain_text("Model: ")
    assert checks[-1] is True and checks.count(True) == 1     # and then it stops checking
    wait_for_emotion(page)


def test_a_failing_status_check_while_faces_get_answers_is_a_warning(page, server):
    page.route("**/health", lambda route: route.fulfill(status=503, body="Service Unavailable"))
    page.goto(server + "/")
    wait_for_emotion(page)
    note = message(page, "health")
    expect(note).to_contain_text("The emotion API answers, but its status check fails (HTTP "
                                 "503: Service Unavailable), so the model's name is not shown.",
                                 timeout=20_000)
    assert note.get_attribute("role") == "status"          # a warning, not an alert
    assert message(page, "api").count() == 0


def fake_answer(probs: dict[str, float]) -> dict:
    predictions = {label: probs.get(label, 0.0) for label in LABELS}
    predictions = dict(sorted(predictions.items(), key=lambda kv: -kv[1]))
    top = next(iter(predictions))
    return {"predictions": predictions, "model": "fake",
            "faces": [{"box": {"x": 0, "y": 0, "width": 120, "height": 120}, "emotion": top,
                       "confidence": predictions[top], "predictions": predictions}]}


def test_smoothing_ignores_a_stray_answer_but_follows_a_real_change(page, server):
    happy = fake_answer({"Happiness": 0.7, "Neutral": 0.2, "Surprise": 0.1})
    stray = fake_answer({"Surprise": 0.6, "Happiness": 0.3, "Neutral": 0.1})
    surprised = fake_answer({"Surprise": 0.8, "Happiness": 0.1, "Neutral": 0.1})
    answered = []
    changed = False

    def answer(route):
        if "detect=true" in route.request.url:
            # Whole frames, before the page's detector is ready: their fake box is not where
            # the detector finds the face, so that face is a new one, and its first answer
            # (a crop's) is shown as it is. Happy, so the strays below are all smoothed.
            route.fulfill(json=happy)
            return
        n = len(answered)
        answered.append(n)
        # Happy, every third crop's answer a stray Surprise; once `changed`, surprised.
        route.fulfill(json=surprised if changed else stray if n % 3 == 2 else happy)

    page.route("**/face?*", answer)
    page.add_init_script("""
        window.shownLabels = [];
        document.addEventListener('DOMContentLoaded', () => {
            const el = document.querySelector('[data-testid=emotion]');
            new MutationObserver(() => window.shownLabels.push(el.textContent))
                .observe(el, {childList: true, characterData: true, subtree: true});
        });
    """)
    page.goto(server + "/")
    wait_for_emotion(page)
    deadline = time.monotonic() + 30
    while len(answered) < 9 and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert len(answered) >= 9
    assert page.evaluate("window.shownLabels") == ["Happiness"]
    changed = True
    expect(page.get_by_test_id("emotion")).to_have_text("Surprise", timeout=10_000)


def test_a_frame_loop_that_keeps_failing_is_said_and_recovers(page, server):
    # Every frame's snapshot of the video fails while the switch is on (a stand-in for a
    # bug or a browser that refuses the drawing): the page says so, then clears it.
    page.add_init_script("""
        window.__failFrames = false;
        const draw = CanvasRenderingContext2D.prototype.drawImage;
        CanvasRenderingContext2D.prototype.drawImage = function (...args) {
            if (window.__failFrames) throw new Error('drawing refused');
            return draw.apply(this, args);
        };""")
    page.goto(server + "/")
    wait_for_emotion(page)
    page.evaluate("window.__failFrames = true")
    failing = message(page, "page")
    failing.wait_for(timeout=20_000)
    assert "fails on every frame (drawing refused)" in failing.text_content()
    page.evaluate("window.__failFrames = false")
    failing.wait_for(state="detached", timeout=20_000)
    wait_for_emotion(page)


def test_a_browser_whose_video_frame_callbacks_never_come_still_tracks(page, server):
    # requestVideoFrameCallback offered but never called (WebKitGTK without its DMA-BUF
    # renderer): the page finds out and goes by animation frames, rather than stall.
    page.add_init_script("""
        window.__frameCallbacks = 0;
        HTMLVideoElement.prototype.requestVideoFrameCallback = function () {
            window.__frameCallbacks++;
            return window.__frameCallbacks;
        };
        HTMLVideoElement.prototype.cancelVideoFrameCallback = function () {};""")
    page.goto(server + "/")
    wait_for_detector(page)
    wait_for_emotion(page)
    centers = []
    for _ in range(8):
        box = box_in_frame(page)
        centers.append(box["x"] + box["width"] / 2)
        page.wait_for_timeout(150)
    assert max(centers) - min(centers) > 8, f"the box did not follow the face: {centers}"
    assert page.evaluate("window.__frameCallbacks") >= 1
    assert not page.log.page_errors
