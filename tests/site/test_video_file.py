"""End-to-end: a recorded video through "Use a video file", played in the page in place of
the camera, then the session downloaded as CSV and JSON, and its summary shown."""

from __future__ import annotations

import csv
import io
import json

import pytest
from playwright.sync_api import expect

from function.model import LABELS
from tests.site.test_live_page import FaceTraffic, message, wait_for_emotion
from tools import scenes


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    # 4 s of a face 100 px wide, then 1 s of an empty room: the face leaves before the end.
    frames = scenes.face_at_width(100, frames=60) + scenes.face_frames(None, frames=15)
    return scenes.write_webm(tmp_path_factory.mktemp("video") / "interview.webm", frames)


def test_video_file_is_analysed_and_the_session_downloads(page, server, recording):
    traffic = FaceTraffic(page)
    page.goto(server + "/")
    page.get_by_label("Use a video file").set_input_files(recording)
    wait_for_emotion(page)
    assert page.get_by_test_id("face-box").count() == 1
    expect(page.get_by_role("button", name="Use the camera")).to_be_visible()

    # At the end of the file: a message, and the summary of the one face.
    ended = message(page, "file")
    ended.wait_for(timeout=30_000)
    assert "ended" in ended.text_content()
    summary = page.get_by_test_id("summary")
    expect(summary.locator("li")).to_have_count(1)
    assert summary.locator("h4").text_content().startswith("Face #")
    shares = summary.locator(".summary-text").text_content()
    assert any(label in shares for label in LABELS), shares
    assert "nothing is stored on the server" in page.locator(".session-note").text_content()

    # The file stayed in the browser: once the detector was ready (the file was chosen
    # before), only small face crops went to the API.
    crops = traffic.crops()
    assert all(body["detect"] is False and len(body["image"]) < 30_000 for body in crops)

    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    assert download.value.suggested_filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    assert rows, "the CSV has no rows"
    assert list(rows[0]) == ["started", "time_s", "face", *LABELS, "label"]
    # When the session began, on every row (UTC, as the JSON has it).
    started = {row["started"] for row in rows}
    assert len(started) == 1 and next(iter(started)).endswith("Z"), started
    faces = {row["face"] for row in rows}
    assert len(faces) == 1, faces
    times = [float(row["time_s"]) for row in rows]
    assert times == sorted(times) and len(set(times)) == len(times), times
    assert 0 <= times[0] and times[-1] <= 5.1  # the file's own clock: it is 5 s long
    for row in rows:
        probs = [float(row[label]) for label in LABELS]
        assert abs(sum(probs) - 1) < 2e-3, row
        assert row["label"] == max(LABELS, key=lambda label: float(row[label]))

    with page.expect_download() as download:
        page.get_by_role("button", name="Download JSON").click()
    session = json.loads(download.value.path().read_text())
    assert session["source"] == "interview.webm"
    assert session["started"] == rows[0]["started"]
    # Rounded as the API rounds them: 4 decimals.
    for sample in session["samples"]:
        assert all(round(p, 4) == p for p in sample["probs"].values()), sample
    assert len(session["samples"]) == len(rows)
    assert session["summary"][0]["answers"] == len(rows)
    assert abs(sum(session["summary"][0]["share"].values()) - 1) < 1e-3
    assert not page.log.page_errors


def test_a_file_the_browser_cannot_play_is_explained(page, server, tmp_path):
    broken = tmp_path / "notes.webm"
    broken.write_bytes(b"not a video at all " * 100)
    page.goto(server + "/")
    page.get_by_label("Use a video file").set_input_files(broken)
    refused = message(page, "file")
    refused.wait_for()
    assert "cannot play notes.webm" in refused.text_content()
    # The way forward: another file, or the camera again.
    page.get_by_role("button", name="Start camera").click()
    wait_for_emotion(page)
    expect(refused).to_have_count(0)
    assert not page.log.page_errors
