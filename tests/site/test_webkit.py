"""End-to-end in WebKitGTK, Safari's engine (Debian's MiniBrowser under WebKitWebDriver on
Xvfb, tools/webkit.py): the page loads cleanly and finds faces in the browser, and a
recorded video chosen through "Use a video file" (WebM and H.264 MP4, played by
GStreamer) is boxed where the face is, sent as small crops only, summed up at its end and
downloaded as CSV and JSON (tests/site/other_browsers.py). One MiniBrowser for the
module."""

from __future__ import annotations

import pytest

from tests.site.other_browsers import (
    FETCH_LOG,
    check_loads_cleanly,
    check_video_file,
    print_log,
)
from tools import webkit


@pytest.fixture(scope="module")
def wk_page(server):
    reason = webkit.missing()
    if reason:
        pytest.skip(reason)
    with webkit.open_page(server + "/", init_script=FETCH_LOG) as page:
        yield page
        print_log(page)


def test_page_loads_cleanly_and_finds_faces_in_webkit(wk_page):
    check_loads_cleanly(wk_page)


@pytest.mark.parametrize("kind", ["webm", "mp4"])
def test_video_file_is_boxed_answered_and_downloads(wk_page, recordings, kind):
    check_video_file(wk_page, recordings[kind])


def test_what_the_page_logs_and_throws_is_caught(server):
    # WebKitWebDriver passes no console on: the checks above rely on tools/webkit.py's
    # capture in the page, so it is shown to catch both kinds here, on a page of its own.
    with webkit.open_page(server + "/") as page:
        page.evaluate("""() => {
            console.error('logged', { code: 7 });
            setTimeout(() => { throw new Error('thrown'); });
            Promise.reject(new Error('rejected'));
        }""")
        page.wait_for("() => window.__webkit.page.length >= 2")
        assert page.console_errors == ['logged {"code":7}']
        errors = page.page_errors
        assert any("thrown" in e for e in errors) and any("rejected" in e for e in errors), errors
