"""End-to-end: on a slow network the first emotion does not wait for the in-browser
detector's files (2.3 MB). The server finds faces in downscaled frames until the detector
is ready (as on every visit), then the page hands over to it: only crops leave from then
on, and the person in view stays the same face throughout."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.site.test_live_page import FaceTraffic, wait_for_emotion

# About a phone's 3G down (no added latency, so the page itself loads at once): the
# detector's files take about 6 s.
SLOW_DOWN = {"offline": False, "latency": 0, "downloadThroughput": 400_000,
             "uploadThroughput": 400_000}


def test_the_server_answers_until_the_detector_is_ready(page, server):
    traffic = FaceTraffic(page)
    session = page.context.new_cdp_session(page)
    session.send("Network.enable")
    session.send("Network.emulateNetworkConditions", SLOW_DOWN)
    page.goto(server + "/")
    wait_for_emotion(page, timeout=20_000)
    first_answer = page.evaluate("performance.now()")
    mode = page.get_by_test_id("mode")
    assert mode.text_content() == "on the server until the in-browser one loads"
    assert page.get_by_test_id("face-box").count() == 1
    assert traffic.sent and all(body["detect"] for body in traffic.sent)
    # Nothing is said to be wrong: it is loading, not failing.
    assert page.locator("#messages").inner_text() == ""

    ready = page.wait_for_function(
        "() => document.getElementById('mode').textContent.startsWith('in your browser')"
        " && performance.now()", polling=50, timeout=60_000).json_value()
    # The first emotion came well before the detector was in (it needs ~6 s here).
    assert first_answer < ready - 2000, (first_answer, ready)
    handed_over = len(traffic.sent)
    page.wait_for_timeout(2000)
    assert page.get_by_test_id("face-box").count() == 1
    after = traffic.sent[handed_over + 1:]  # one frame may have left as the mode changed
    assert after and all(not body["detect"] for body in after), [b["detect"] for b in after]
    # One person, one face: the summary does not count them twice across the handover.
    summary = page.get_by_test_id("summary")
    expect(summary.locator("li")).to_have_count(1)
    assert summary.locator("h4").text_content().startswith("Face #1:")
    assert not page.log.page_errors
