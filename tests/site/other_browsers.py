"""What the Firefox and WebKit tests check (tests/site/test_firefox.py, test_webkit.py), on a
page from tools/firefox.py or tools/webkit.py (the same Page: evaluate, wait_for, click,
upload, console_errors, page_errors; `downloads`, the folder its downloads land in): the
page loads cleanly and finds faces in the browser, and a recorded video chosen through "Use
a video file" is boxed where the face is, sent as small crops only, drawn on the timeline,
summed up at its end and downloaded as CSV and JSON. Chromium's own tests
(test_live_page.py and others) go further through Playwright."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

from function.model import LABELS
from tests.site.test_live_page import BOX_IN_FRAME
from tools import scenes

FACE_WIDTH = 100
# The recording: a face FACE_WIDTH px wide for 4 s (swaying 12 px), then 1 s of an empty room.
FACE_FRAMES, EMPTY_FRAMES, FPS = 60, 15, 15
FACE_UNTIL_S = FACE_FRAMES / FPS
# What a browser writes while a download is still coming in.
PARTIAL = (".part", ".download", ".wkdownload")

# Every POST /face the page makes, read back from the page: the request (query, type,
# size, JPEG or not) and the answer's status.
FETCH_LOG = """
window.faceRequests = [];
const pageFetch = window.fetch;
window.fetch = async function (input, init = {}) {
    const url = new URL(typeof input === 'string' ? input : input.url, location.href);
    if (url.pathname !== '/face' || init.method !== 'POST') return pageFetch.apply(this, arguments);
    const body = new Uint8Array(init.body instanceof ArrayBuffer ? init.body
        : await new Response(init.body).arrayBuffer());
    const entry = { detect: url.searchParams.get('detect'),
        type: new Headers(init.headers).get('content-type'), bytes: body.length,
        jpeg: body[0] === 0xff && body[1] === 0xd8, status: null };
    window.faceRequests.push(entry);
    const response = await pageFetch.apply(this, arguments);
    entry.status = response.status;
    return response;
};
"""

# From the next file chosen until the page has found it ended (the stage stopped: WebKitGTK
# may stop a file a hair short of its end, never `ended`): every 50 ms, the file's time,
# the main face box in the frame's pixels (or null) and the emotion shown. (A file that has
# ended stays loaded until the next one replaces it.)
SAMPLE_FILE = """([w, h]) => {
    const boxInFrame = (BOX_IN_FRAME);
    const video = document.getElementById('video');
    const before = video.src;
    window.fileSamples = [];
    window.faceRequests.length = 0;
    const timer = setInterval(() => {
        if (!video.src.startsWith('blob:') || video.src === before) return;
        const ended = document.getElementById('stage').dataset.state === 'stopped';
        if (ended) clearInterval(timer);
        window.fileSamples.push({ t: video.currentTime, ended,
            box: boxInFrame([w, h]),
            emotion: document.querySelector('[data-testid=emotion]').textContent });
    }, 50);
}""".replace("BOX_IN_FRAME", BOX_IN_FRAME)

MODE_IN_BROWSER = """() => document.querySelector('[data-testid=mode]').textContent
    .startsWith('in your browser')"""


def make_recordings(folder: Path) -> dict[str, Path]:
    """The recording as a VP8 WebM and an H.264 MP4, by kind."""
    frames = (scenes.face_at_width(FACE_WIDTH, frames=FACE_FRAMES)
              + scenes.face_frames(None, frames=EMPTY_FRAMES))
    return {"webm": scenes.write_webm(folder / "interview.webm", frames, fps=FPS),
            "mp4": scenes.write_mp4(folder / "interview.mp4", frames, fps=FPS)}


def print_log(page) -> None:
    """What the page logged as errors and threw, for pytest to show when a test failed."""
    print("\n".join(f"console.error: {line}" for line in page.console_errors[-40:]))
    print("\n".join(f"pageerror: {line}" for line in page.page_errors[-40:]))


def download(page, selector: str, suffix: str, timeout: float = 15) -> Path:
    """Clicks `selector` and returns the file it saved, once it is whole: no partial file
    beside it, and its size not nothing and the same on two looks 0.1 s apart (a browser
    may name the file before it has written all of it)."""
    before = set(page.downloads.iterdir())
    page.click(selector)
    deadline = time.monotonic() + timeout
    seen = -1
    while time.monotonic() < deadline:
        files = set(page.downloads.iterdir())
        new = [p for p in files - before if p.suffix == suffix]
        if new and not any(p.suffix in PARTIAL for p in files):
            size = new[0].stat().st_size
            if size and size == seen:
                return new[0]
            seen = size
        time.sleep(0.1)
    raise AssertionError(f"{selector} saved no {suffix} file in {timeout:.0f} s: "
                         f"{sorted(p.name for p in page.downloads.iterdir())}")


def check_loads_cleanly(page) -> None:
    """The detector runs in the browser, the camera (the browser's fake device) started on
    load and plays, and nothing was logged as an error or thrown."""
    page.wait_for(MODE_IN_BROWSER, timeout=45)
    state = page.wait_for("""() => {
        const video = document.getElementById('video');
        return video.videoWidth > 0 && !video.paused
            && document.getElementById('stage').dataset.state;
    }""")
    assert state == "running"
    assert not page.console_errors
    assert not page.page_errors


def check_video_file(page, recording: Path) -> None:
    """`recording` (make_recordings) chosen as the video file: boxed, answered from crops,
    summed up at its end, and downloaded as CSV and JSON."""
    page.wait_for(MODE_IN_BROWSER, timeout=45)
    page.evaluate(SAMPLE_FILE, [scenes.WIDTH, scenes.HEIGHT])
    page.upload("#file-input", recording)

    ended = page.wait_for("""() => {
        const message = document.querySelector('[data-testid=message-file]');
        return message && window.fileSamples.some((s) => s.ended) && message.textContent;
    }""", timeout=30)
    assert "ended" in ended, ended
    samples = page.evaluate("() => window.fileSamples")
    assert any(s["emotion"] in LABELS for s in samples), samples
    # The answers are on the timeline (its last 30 s).
    points = page.evaluate("() => Number(document.getElementById('timeline').dataset.points)")
    assert points > 0, points

    # While the face is in the file: boxed in most frames, each box on the face (centred
    # in the frame, swaying 12 px) and about its size.
    playing = [s for s in samples if 0.5 < s["t"] < FACE_UNTIL_S - 0.2]
    assert len(playing) >= 30, samples
    boxed = [s["box"] for s in playing if s["box"]]
    assert len(boxed) >= 0.8 * len(playing), (len(boxed), len(playing))
    for box in boxed:
        assert 0.7 * FACE_WIDTH < box["width"] < 1.6 * FACE_WIDTH, box
        assert abs(box["x"] + box["width"] / 2 - scenes.WIDTH / 2) < 0.5 * FACE_WIDTH + 14, box
        assert abs(box["y"] + box["height"] / 2 - scenes.HEIGHT / 2) < 0.5 * FACE_WIDTH, box
    centers = [box["x"] + box["width"] / 2 for box in boxed]
    assert max(centers) - min(centers) > 8, f"the box did not follow the face: {centers}"
    # Once the face has left (a track lives 0.5 s unseen), the box goes with it.
    gone = [s for s in samples if s["t"] > FACE_UNTIL_S + 0.7 and not s["ended"]]
    assert gone and not any(s["box"] for s in gone), gone

    # The file stayed in the browser: only small JPEG face crops went to the API, answered.
    sent = page.evaluate("() => window.faceRequests")
    assert sent, "no POST /face"
    assert all(r["detect"] == "false" and r["type"] == "image/jpeg" and r["jpeg"]
               and r["bytes"] < 30_000 for r in sent), sent
    assert any(r["status"] == 200 for r in sent), sent

    summary = page.evaluate("""() => [...document.querySelectorAll('[data-testid=summary] li')]
        .map((li) => [li.querySelector('h4').textContent,
                      li.querySelector('.summary-text').textContent])""")
    assert len(summary) == 1, summary
    title, shares = summary[0]
    assert title.startswith("Face #"), title
    assert any(label in shares for label in LABELS), shares

    rows = list(csv.DictReader(io.StringIO(
        download(page, "#download-csv", ".csv").read_text())))
    assert rows, "the CSV has no rows"
    assert list(rows[0]) == ["started", "time_s", "face", *LABELS, "label"]
    assert len({row["face"] for row in rows}) == 1
    times = [float(row["time_s"]) for row in rows]
    # The file's own clock, and answers only while the face was in it.
    assert 0 <= times[0] and times[-1] <= FACE_UNTIL_S + 0.1, times
    for row in rows:
        assert row["label"] == max(LABELS, key=lambda label: float(row[label])), row

    session = json.loads(download(page, "#download-json", ".json").read_text())
    assert session["source"] == recording.name
    assert session["started"] == rows[0]["started"]
    assert len(session["samples"]) == len(rows)
    assert session["summary"][0]["answers"] == len(rows)
    assert not page.page_errors
    assert not page.console_errors
