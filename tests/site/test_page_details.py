"""End-to-end: the smaller promises of the page. A face's label stays inside the picture at
its edges; emoji are left out where no font draws them; more faces than are shown are
counted; an MP4 the browser cannot decode is explained as such."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from function.model import LABELS_FILE
from tests.site.conftest import PageLog, open_context
from tests.site.test_live_page import (
    fake_answer,
    message,
    wait_for_emotion,
    without_the_detector,
)
from tools import scenes
from tools.harness import launch


def edge_frames(frames: int = 30) -> list[np.ndarray]:
    """The astronaut's head 150 px wide (her face ~80 px, narrower than its label) at the
    frame's top-left corner, swaying a little: the mirrored camera shows it at the top
    right, where a label drawn from the box's left edge would run off the picture."""
    tile = np.asarray(Image.fromarray(scenes.astronaut()).resize((150, 150), Image.BILINEAR))
    background = scenes.face_frames(None, frames=1)[0]
    out = []
    for i in range(frames):
        frame = background.copy()
        dx = round(3 * np.sin(2 * np.pi * i / frames))
        frame[0:150, 3 + dx:153 + dx] = tile
        out.append(frame)
    return out


@pytest.fixture
def edge_page(playwright, tmp_path, server):
    browser = launch(playwright, scenes.write_y4m(tmp_path / "edge.y4m", edge_frames()))
    page = open_context(browser).new_page()
    page.log = PageLog(page)
    yield page
    print("\n".join(page.log.lines[-40:]))
    browser.close()


def test_a_label_at_the_pictures_edge_stays_inside_it(edge_page, server):
    page = edge_page
    page.goto(server + "/")
    wait_for_emotion(page)
    page.wait_for_timeout(1000)
    for _ in range(10):
        stage = page.locator("#stage").bounding_box()
        box = page.locator("[data-testid=face-box]").bounding_box()
        label = page.locator("[data-testid=face-box] .face-label").bounding_box()
        # The face is at the picture's right edge (mirrored), its label wider than it.
        assert box["x"] + box["width"] > stage["x"] + 0.8 * stage["width"], (box, stage)
        assert label["width"] > stage["x"] + stage["width"] - box["x"], (label, box, stage)
        assert label["x"] >= stage["x"] - 0.5, (label, stage)
        assert label["x"] + label["width"] <= stage["x"] + stage["width"] + 0.5, (label, stage)
        assert label["y"] >= stage["y"] - 0.5, (label, stage)
        page.wait_for_timeout(100)
    assert not page.log.page_errors


# The page's eight emoji (function/labels.json), as code points.
EMOJI = tuple(f"{ord(e):x}" for e in
              json.loads(LABELS_FILE.read_text(encoding="utf-8"))["emoji"].values())


def fonts_draw_every_emoji() -> bool:
    """Whether some installed font has each of the eight (DejaVu Sans has most, not all)."""
    if shutil.which("fc-list") is None:
        pytest.skip("fontconfig's fc-list is not here to tell which fonts there are")
    return all(subprocess.run(["fc-list", f":charset={code}"], capture_output=True,
                              text=True).stdout.strip() for code in EMOJI)


def test_emoji_are_left_out_where_no_font_draws_them(page, server):
    page.goto(server + "/")
    wait_for_emotion(page)
    shown = page.evaluate("!document.documentElement.classList.contains('no-emoji')")
    assert shown == fonts_draw_every_emoji()
    if shown:
        expect(page.locator("#top-emoji")).to_be_visible()
    else:
        # No empty boxes: no emoji anywhere on the page, the labels say it in words.
        assert page.locator(".emoji").count() == 0
        expect(page.locator("#top-emoji")).to_be_hidden()
        assert page.locator(".bar-label").first.inner_text().strip() == "Neutral"


def test_more_faces_than_shown_are_counted(page, server):
    """The server answers for its 16 largest faces (faces_found says how many it found);
    the page follows at most 6: it says so, rather than leave faces out unsaid."""
    answer = fake_answer({"Happiness": 0.8, "Neutral": 0.2})
    answer.update(faces_found=20, truncated=True)
    without_the_detector(page)   # the server finds the faces
    page.route("**/face?*", lambda route: route.fulfill(json=answer))
    page.goto(server + "/")
    counted = message(page, "faces")
    counted.wait_for()
    assert "20 faces, 1 shown" in counted.text_content()
    # An answer without the fields (an older API) is taken as it is.
    del answer["faces_found"], answer["truncated"]
    expect(counted).to_have_count(0)
    assert not page.log.page_errors


def test_an_mp4_the_browser_cannot_decode_is_explained(page, server, tmp_path):
    clip = tmp_path / "holiday.mp4"
    # An MP4 box header and nothing the browser can decode, as an HEVC clip is to Chromium.
    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 2000)
    page.goto(server + "/")
    page.get_by_label("Use a video file").set_input_files(clip)
    refused = message(page, "file")
    refused.wait_for()
    text = refused.text_content()
    assert "cannot play holiday.mp4" in text
    assert "cannot decode the video inside" in text and "H.264" in text
    assert "Try a WebM or MP4" not in text
