"""End-to-end: what the page shows when the API goes away and comes back, and that each
session (a start of the camera or a video) stands on its own."""

from __future__ import annotations

import json
import re
import time

from playwright.sync_api import expect

from tests.site.test_live_page import FaceTraffic, wait_for_emotion
from tools import harness

# The share of the timeline's column at page time `t` that is painted (0 blank, 1 full).
FILLED_AT = """(t) => {
    const canvas = document.querySelector('[data-testid=timeline]');
    const x = Math.round(canvas.width
        - ((Number(canvas.dataset.drawnAt) - t) / 30000) * canvas.width);
    if (x < 0 || x >= canvas.width) return null;
    const column = canvas.getContext('2d').getImageData(x, 0, 1, canvas.height).data;
    let painted = 0;
    for (let i = 0; i < column.length; i += 4) {
        // The grid's faint lines are grey-blue; the emotion bands are not.
        const [r, g, b, a] = column.slice(i, i + 4);
        if (a > 0 && !(r > 200 && g > 200 && b > 200)) painted++;
    }
    return painted / canvas.height;
}"""


def page_now(page) -> float:
    return page.evaluate("performance.now()")


def filled_at(page, t: float) -> float:
    # Drawn every 100 ms: wait for a draw after t.
    page.wait_for_function("t => Number(document.querySelector('[data-testid=timeline]')"
                           ".dataset.drawnAt) > t", arg=t + 150)
    return page.evaluate(FILLED_AT, t)


def test_api_stopped_and_restarted_shows_a_gap_then_recovers(context, model_file, site_built):
    port = harness.free_port()
    page = context.new_page()
    traffic = FaceTraffic(page)
    first = harness.serve(model_file, port=port)
    base = first.__enter__()
    try:
        page.goto(base + "/")
        wait_for_emotion(page)
        page.wait_for_timeout(3000)
        expect(page.get_by_test_id("emotion")).to_have_attribute("data-stale", "false")
        answering = page_now(page) - 1000
    finally:
        stopped = time.monotonic()
        first.__exit__(None, None, None)
    # Within 2 s of the API going, the reading says it is old, and so does the latency.
    page.wait_for_selector("[data-testid=emotion][data-stale=true]",
                           timeout=max(1, 2000 - 1000 * (time.monotonic() - stopped)))
    assert "old reading" in page.locator("#top-stale").text_content()
    expect(page.locator("#latency")).to_contain_text("no answer for")
    expect(page.locator("[data-testid=face-box].is-stale")).to_have_count(1)
    page.wait_for_timeout(4000)
    down = page_now(page) - 2000
    answered = len(traffic.answers)

    with harness.serve(model_file, port=port):
        # Back without a reload: answers flow again, the reading is current.
        deadline = time.monotonic() + 30
        while len(traffic.answers) < answered + 5 and time.monotonic() < deadline:
            page.wait_for_timeout(200)
        assert len(traffic.answers) >= answered + 5, "no answers after the API came back"
        expect(page.get_by_test_id("emotion")).to_have_attribute("data-stale", "false")
        expect(page.locator("#top-stale")).to_have_text("")
        page.wait_for_function(
            "() => / ms/.test(document.getElementById('latency').textContent)")
        page.wait_for_timeout(2000)
        back = page_now(page) - 1000
        # The timeline: painted while answered, blank while the API was away.
        assert filled_at(page, answering) > 0.9
        assert filled_at(page, down) < 0.05
        assert filled_at(page, back) > 0.9
        assert int(page.get_by_test_id("timeline").get_attribute("data-runs")) >= 2
        assert page.get_by_test_id("face-box").count() == 1


def download_json(page) -> dict:
    with page.expect_download() as download:
        page.get_by_role("button", name="Download JSON").click()
    return json.loads(download.value.path().read_text())


def test_a_second_session_starts_clean(page, server):
    page.goto(server + "/")
    wait_for_emotion(page)
    page.wait_for_timeout(3000)
    first = download_json(page)
    assert first["samples"] and {s["face"] for s in first["samples"]} == {1}

    page.get_by_role("button", name="Stop camera").click()
    page.get_by_role("button", name="Start camera").click()
    started = page_now(page)
    traffic = FaceTraffic(page)
    wait_for_emotion(page)
    page.wait_for_timeout(2500)

    # Face #1 again, one face in the summary, and nothing of the first session drawn.
    summary = page.get_by_test_id("summary")
    expect(summary.locator("li")).to_have_count(1)
    expect(summary.locator("h4")).to_have_text(re.compile(r"^Face #1: "))
    assert page.locator("[data-testid=face-box]").count() == 1
    assert filled_at(page, started - 1500) < 0.05
    assert filled_at(page, page_now(page) - 500) > 0.9
    assert page.get_by_test_id("timeline").get_attribute("data-runs") == "1"

    # Its export holds only itself.
    second = download_json(page)
    assert second["started"] > first["started"]
    assert {s["face"] for s in second["samples"]} == {1}
    assert len(second["samples"]) <= len(traffic.answers) + 1
    assert second["samples"][0]["t"] < 3
    assert second["summary"][0]["face"] == 1 and len(second["summary"]) == 1
    assert not page.log.page_errors
