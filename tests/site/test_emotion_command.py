"""The page and `emotion analyse` on the same recording, with the shipped model: the page's
export (played in Chromium) and the command's CSV agree on the top emotion of at least 90%
of the seconds both cover."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import pytest

from emotion import cli
from tests.site.conftest import PageLog, open_context
from tests.site.test_live_page import wait_for_emotion
from tests.site.test_video_file import message
from tools import harness, scenes

SHIPPED = [p for p in sorted((harness.REPO / "models").glob("*.pt")) if ".int8." not in p.name]


def per_second(rows: list[dict]) -> dict[int, str]:
    """The main face's (#1's) most common label in each whole second."""
    labels: dict[int, Counter] = {}
    for row in rows:
        if row["face"] == "1":
            labels.setdefault(int(float(row["time_s"])), Counter())[row["label"]] += 1
    return {s: c.most_common(1)[0][0] for s, c in labels.items()}


@pytest.mark.skipif(not SHIPPED, reason="no shipped model in models/")
def test_the_page_and_the_command_agree_second_by_second(browser, site_built, tmp_path,
                                                         monkeypatch):
    # A face that comes closer and moves away over 8 s, then an empty room.
    frames = [f for width in (80, 110, 150, 200) for f in scenes.face_at_width(width, frames=30)]
    video = scenes.write_webm(tmp_path / "session.webm",
                              frames + scenes.face_frames(None, frames=8))
    with harness.serve(SHIPPED[-1]) as base:
        context = open_context(browser)
        page = context.new_page()
        page.log = PageLog(page)
        page.goto(base + "/")
        page.get_by_label("Use a video file").set_input_files(video)
        wait_for_emotion(page)
        message(page, "file").wait_for(timeout=60_000)
        with page.expect_download() as download:
            page.get_by_role("button", name="Download CSV").click()
        page_rows = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
        context.close()
    monkeypatch.setenv("MODEL_PATH", str(SHIPPED[-1]))
    out = tmp_path / "out"
    assert cli.main(["analyse", str(video), "--fps", "all", "--out", str(out), "--quiet",
                     "--no-plots", "--model", str(SHIPPED[-1])]) == 0
    ours = list(csv.DictReader(Path(out / "session.csv").open()))
    assert list(ours[0])[:-1] == list(page_rows[0]) and list(ours[0])[-1] == "frame"
    theirs, mine = per_second(page_rows), per_second(ours)
    seconds = sorted(set(theirs) & set(mine))
    assert len(seconds) >= 6, (theirs, mine)
    agree = sum(theirs[s] == mine[s] for s in seconds) / len(seconds)
    print(f"per-second top emotion: {agree:.0%} of {len(seconds)} s agree; "
          f"page {theirs}, command {mine}")
    assert agree >= 0.9, (theirs, mine)
