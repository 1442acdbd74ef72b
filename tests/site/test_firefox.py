"""End-to-end in Debian's Firefox (firefox-esr over WebDriver BiDi, tools/firefox.py): the
page loads cleanly and finds faces in the browser, and a recorded video chosen through
"Use a video file" (WebM and H.264 MP4) is boxed where the face is, sent as small crops
only, summed up at its end and downloaded as CSV and JSON (tests/site/other_browsers.py).
One Firefox for the module."""

from __future__ import annotations

import pytest

from tests.site.other_browsers import (
    FETCH_LOG,
    check_loads_cleanly,
    check_video_file,
    print_log,
)
from tools import firefox


@pytest.fixture(scope="module")
def ff_page(server, tmp_path_factory):
    reason = firefox.missing()
    if reason:
        pytest.skip(reason)
    downloads = tmp_path_factory.mktemp("firefox-downloads")
    with firefox.open_page(server + "/", downloads=downloads, init_script=FETCH_LOG) as page:
        page.downloads = downloads
        yield page
        print_log(page)


def test_page_loads_cleanly_and_finds_faces_in_firefox(ff_page):
    check_loads_cleanly(ff_page)


@pytest.mark.parametrize("kind", ["webm", "mp4"])
def test_video_file_is_boxed_answered_and_downloads(ff_page, recordings, kind):
    check_video_file(ff_page, recordings[kind])
