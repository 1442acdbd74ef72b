"""`emotion analyse --api` against the real server (function.serve, `make run`'s code, in a
subprocess): the answers are the API's, its refusals name the input, an unreachable URL
stops the run at once, and a server restarted mid-run loses no frame."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image

from emotion import cli
from emotion.api import JPEG_QUALITY
from emotion.tracking import Tracker, apply_predictions
from function.model import LABELS
from tools import harness, scenes

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(model_file):
    with harness.serve(model_file) as base:
        yield base


def rows(path: Path) -> list[dict]:
    return list(csv.DictReader(path.open()))


def summary(out: Path) -> dict[str, dict]:
    return {Path(r["input"]).name: r for r in rows(out / "summary.csv")}


def test_frames_go_to_the_api_and_its_answers_come_back_in_order(face_mp4, tmp_path, server):
    out = tmp_path / "out"
    assert cli.main(["analyse", str(face_mp4), "--api", server, "--fps", "all", "--out",
                     str(out), "--quiet", "--workers", "3"]) == 0
    got = rows(out / "interview.csv")
    assert list(got[0])[:11] == ["started", "time_s", "face", *LABELS]
    assert {r["face"] for r in got} == {"1"} and len(got) == 45
    # The same frames sent by hand, one at a time: the API's answers, smoothed as the page.
    tracker, expected = Tracker(), []
    with httpx.Client(base_url=server) as client:
        for i, frame in enumerate(scenes.decoded(face_mp4)):
            buf = io.BytesIO()
            frame.save(buf, "JPEG", quality=JPEG_QUALITY)
            faces = client.post("/face", content=buf.getvalue(),
                                headers={"Content-Type": "image/jpeg"}).json()["faces"]
            now = 1_000_000 + i * 1000 / 15
            for track, face in zip(tracker.detect([f["box"] for f in faces], now), faces,
                                   strict=False):
                apply_predictions(track, face["predictions"], now)
                expected.append((i, track.probs))
            tracker.expire(now)
    assert [int(r["frame"]) for r in got] == [i for i, _ in expected]
    for row, (_, probs) in zip(got, expected, strict=True):
        assert all(abs(float(row[k]) - probs[k]) < 1e-4 for k in LABELS), row
    assert json.loads((out / "interview.json").read_text())["model"] == "fixture-tiny@0"


def test_a_refusal_names_the_input_and_the_apis_error(tmp_path, server):
    huge = tmp_path / "huge.png"
    Image.new("RGB", (5000, 5000)).save(huge)
    out = tmp_path / "out"
    assert cli.main(["analyse", str(huge), "--api", server, "--out", str(out), "--quiet"]) == 1
    error = summary(out)["huge.png"]["error"]
    assert error.startswith("the API refused the photo: HTTP 413 too_many_pixels: "), error


def test_an_unreachable_api_fails_fast_with_one_message(face_mp4, tmp_path, capsys):
    url = f"http://127.0.0.1:{harness.free_port()}"
    started = time.monotonic()
    assert cli.main(["analyse", str(face_mp4), "--api", url, "--out",
                     str(tmp_path / "out")]) == 2
    assert time.monotonic() - started < 10
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"emotion: error: cannot reach the emotion API "
                                               f"at {url}"), err


def test_a_server_restarted_mid_run_loses_no_frame(model_file, tmp_path):
    video = scenes.write_mp4(tmp_path / "long.mp4", scenes.face_at_width(120, frames=450))
    port = harness.free_port()
    url = f"http://127.0.0.1:{port}"
    out = tmp_path / "out"
    with harness.serve(model_file, port=port):
        run = subprocess.Popen(
            [sys.executable, "-m", "emotion", "analyse", str(video), "--api", url, "--fps",
             "all", "--workers", "4", "--out", str(out), "--json-log"],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert json.loads(run.stdout.readline())["event"] == "start"
        time.sleep(1.5)
    # Down: every request now fails to connect, and is tried again until it is back up.
    time.sleep(1)
    with harness.serve(model_file, port=port):
        stdout, stderr = run.communicate(timeout=300)
        assert run.returncode == 0, stderr
        done = json.loads(stdout.splitlines()[-1])
        assert done["event"] == "done" and done["retried"] > 0, done
        again = tmp_path / "again"
        assert cli.main(["analyse", str(video), "--api", url, "--fps", "all", "--out",
                         str(again), "--quiet"]) == 0
    got = rows(out / "long.csv")
    assert [int(r["frame"]) for r in got] == list(range(450))
    # The same answers as a run the restart did not touch.
    assert (out / "long.csv").read_text() == (again / "long.csv").read_text()
