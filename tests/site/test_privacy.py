"""End-to-end: nothing leaves the page but face crops to the API. Every request the page and
its detector worker make, for longer than a library's usage log would wait to go out
(@mediapipe/tasks-vision, the page's first detector, sent its first 60-75 s after loading),
goes to the page's own origin; the Content-Security-Policy is in force; and /docs works
with no network beyond the server."""

from __future__ import annotations

import time

from tests.site.test_live_page import FaceTraffic, wait_for_emotion

WATCH_SECONDS = 105


def test_with_a_face_in_view_the_page_talks_to_its_own_origin_only(page, server):
    requests: list[str] = []
    # The context sees the worker's requests as well as the page's.
    page.context.on("request", lambda request: requests.append(request.url))
    traffic = FaceTraffic(page)
    response = page.goto(server + "/")
    csp = response.headers["content-security-policy"]
    assert "connect-src 'self'" in csp and "default-src 'self'" in csp
    wait_for_emotion(page)
    start = time.monotonic()
    answered = len(traffic.answers)
    page.wait_for_timeout(WATCH_SECONDS * 1000)
    assert time.monotonic() - start >= 100
    # The face stayed in view, answered all along.
    assert len(traffic.answers) - answered > 100
    assert page.get_by_test_id("face-box").count() == 1
    elsewhere = sorted({url for url in requests if not url.startswith(server + "/")})
    assert not elsewhere, elsewhere

    # And the policy is enforced: the page cannot reach another host even if it tried.
    refused = page.evaluate("""() => new Promise((resolve) => {
        document.addEventListener('securitypolicyviolation',
            (e) => resolve(e.violatedDirective), {once: true});
        fetch('https://odml.pa.googleapis.com/v1/log', {method: 'POST'}).catch(() => {});
    })""")
    assert refused == "connect-src"
    assert not [url for url in requests if "googleapis" in url]
    assert not page.log.page_errors


def test_docs_render_with_no_network(page, server):
    outside: list[str] = []

    def offline(route):
        if route.request.url.startswith(server + "/"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort("internetdisconnected")

    page.context.route("**/*", offline)
    page.goto(server + "/docs")
    title = page.locator(".swagger-ui .info .title")
    title.wait_for(timeout=30_000)
    assert "Emotion evaluator API" in title.text_content()
    # The operations are listed, from /openapi.json.
    page.locator(".opblock-summary-path", has_text="/face").first.wait_for()
    assert not outside, outside
    assert not page.log.page_errors
