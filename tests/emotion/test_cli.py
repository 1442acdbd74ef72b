"""`emotion analyse` in this process (the API's service code): the outputs, the face
followed, the answers the API gives for the same frames, and every bad input's row."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from PIL import Image

from emotion import cli
from emotion.record import CSV_COLUMNS
from emotion.tracking import Tracker, apply_predictions
from function.model import LABELS
from tools import scenes


@pytest.fixture(scope="module")
def api():
    from fastapi.testclient import TestClient

    from function.handler import app

    with TestClient(app) as client:
        yield client


def api_faces(api, data: bytes, mime: str) -> list[dict]:
    r = api.post("/face", content=data, headers={"Content-Type": mime})
    assert r.status_code == 200, r.text
    return r.json()["faces"]


def png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def rows(path: Path) -> list[dict]:
    return list(csv.DictReader(path.open()))


def summary(out: Path) -> dict[str, dict]:
    return {Path(r["input"]).name: r for r in rows(out / "summary.csv")}


def test_a_video_gives_the_pages_exports_and_the_apis_answers(face_mp4, tmp_path, api):
    out = tmp_path / "out"
    assert cli.main(["analyse", str(face_mp4), "--out", str(out), "--fps", "all", "--quiet"]) == 0
    got = rows(out / "interview.csv")
    assert list(got[0]) == list(CSV_COLUMNS)
    assert list(CSV_COLUMNS) == ["started", "time_s", "face", *LABELS, "label", "frame"]
    # One face, one id, in every frame it is in (45 of 55), then gone.
    assert {r["face"] for r in got} == {"1"}
    assert [int(r["frame"]) for r in got] == list(range(45))
    assert float(got[1]["time_s"]) == pytest.approx(1 / 15, abs=1e-3)
    # What the API answers for those frames, followed and smoothed as the page does.
    tracker, expected = Tracker(), []
    for i, frame in enumerate(scenes.decoded(face_mp4)):
        now = 1_000_000 + i * 1000 / 15
        faces = api_faces(api, png(frame), "image/png")
        for track, face in zip(tracker.detect([f["box"] for f in faces], now), faces,
                               strict=False):
            apply_predictions(track, face["predictions"], now)
            expected.append(track.probs)
        tracker.expire(now)
    assert len(expected) == len(got)
    for row, probs in zip(got, expected, strict=True):
        assert row["label"] == max(LABELS, key=lambda k: probs[k])
        assert all(abs(float(row[k]) - probs[k]) < 1e-4 for k in LABELS), row

    session = json.loads((out / "interview.json").read_text())
    assert session["source"] == "interview.mp4" and session["model"] == "fixture-tiny@0"
    assert session["started"] == got[0]["started"] and session["started"].endswith("Z")
    assert session["labels"] == list(LABELS) and len(session["samples"]) == len(got)
    assert session["summary"][0]["face"] == 1 and session["status"] == "ok"
    assert (out / "interview.png").read_bytes().startswith(b"\x89PNG")
    row = summary(out)["interview.mp4"]
    assert row == {**row, "status": "ok", "error": "", "duration_s": "3.667", "frames": "55",
                   "faces": "1", "top_emotion": session["top_emotion"]}
    assert row["top_emotion"] in LABELS
    assert not (out / "summary.png").exists()       # one input: its own picture says it all


def test_fps_picks_the_first_frame_of_each_slot(face_mp4, tmp_path):
    out = tmp_path / "out"
    assert cli.main(["analyse", str(face_mp4), "--out", str(out), "--fps", "5", "--quiet",
                     "--no-plots"]) == 0
    assert [int(r["frame"]) for r in rows(out / "interview.csv")] == list(range(0, 45, 3))
    assert summary(out)["interview.mp4"]["frames"] == "19"      # 55 frames / 3
    assert not (out / "interview.png").exists()


def test_a_photo_is_analysed_as_the_api_analyses_it(astronaut_jpeg, tmp_path, api):
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(astronaut_jpeg)
    out = tmp_path / "out"
    assert cli.main(["analyse", str(photo), "--out", str(out), "--quiet"]) == 0
    got = rows(out / "photo.csv")
    faces = api_faces(api, astronaut_jpeg, "image/jpeg")
    assert len(got) == len(faces) == 1
    assert got[0]["time_s"] == "0.000" and got[0]["frame"] == "0"
    assert {k: float(got[0][k]) for k in LABELS} == pytest.approx(
        {k: faces[0]["predictions"][k] for k in LABELS}, abs=1e-4)
    assert summary(out)["photo.jpg"]["top_emotion"] == faces[0]["emotion"]


def test_every_bad_input_is_a_row_with_its_reason(face_mp4, empty_mp4, tmp_path, capsys):
    bad = tmp_path / "bad"
    bad.mkdir()
    data = face_mp4.read_bytes()
    (bad / "cut.mp4").write_bytes(data[:len(data) // 2])        # its index is at the end
    (bad / "notes.mp4").write_bytes(b"not a video at all " * 50)
    (bad / "notes.txt").write_bytes(b"hello")
    Image.new("RGB", (5000, 5000)).save(bad / "huge.png")       # 25 MP: over the API's 24
    mkv = scenes.write_mp4(bad / "long.mkv", scenes.face_then_empty(150, 0))
    cut = mkv.read_bytes()
    (bad / "halted.mkv").write_bytes(cut[:len(cut) * 8 // 10])    # 81 of its 150 frames
    mkv.unlink()
    inputs = [bad / n for n in ("cut.mp4", "notes.mp4", "notes.txt", "huge.png",
                                "halted.mkv")]
    out = tmp_path / "out"
    code = cli.main(["analyse", *map(str, inputs), str(tmp_path / "missing.mp4"), str(empty_mp4),
                     str(face_mp4), "--out", str(out), "--json-log", "--no-plots"])
    assert code == 1
    got = summary(out)
    assert list(got) == ["cut.mp4", "notes.mp4", "notes.txt", "huge.png", "halted.mkv",
                         "missing.mp4", "room.mp4", "interview.mp4"]
    failed = {name: r["error"] for name, r in got.items() if r["status"] == "failed"}
    assert set(failed) == {"cut.mp4", "notes.mp4", "notes.txt", "huge.png", "halted.mkv",
                           "missing.mp4"}
    assert "truncated or corrupt" in failed["cut.mp4"]
    assert "not an image" in failed["notes.mp4"] and "not an image" in failed["notes.txt"]
    assert "5000x5000" in failed["huge.png"] and "too_many_pixels" in failed["huge.png"]
    assert failed["missing.mp4"] == "does not exist"
    # Cut off: where it stopped, and the frames before it kept.
    assert "stops at" in failed["halted.mkv"] and "frames analysed before are kept" in \
        failed["halted.mkv"]
    assert int(got["halted.mkv"]["frames"]) == 27     # 81 frames at 15 fps: 5.4 s, 5 a second
    assert len(rows(out / "halted.csv")) == int(got["halted.mkv"]["frames"])
    # No face: analysed, with nothing to say.
    assert got["room.mp4"] | {"status": "ok", "faces": "0", "top_emotion": "",
                              "frames": "7"} == got["room.mp4"]
    assert rows(out / "room.csv") == [] and (out / "room.csv").read_text().startswith("started")
    assert got["interview.mp4"]["status"] == "ok"
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["event"] for e in events] == ["start", *["input"] * 8, "done"]
    assert events[-1] | {"ok": 2, "failed": 6} == events[-1]


def test_an_unreadable_file_fails_with_its_reason(face_mp4, tmp_path, monkeypatch):
    def refuse(*_args, **_kwargs):
        raise PermissionError(13, "Permission denied")

    # As root (CI) no file is unreadable: the reader is refused as a user would be.
    monkeypatch.setattr("emotion.decoding.open", refuse, raising=False)
    out = tmp_path / "out"
    assert cli.main(["analyse", str(face_mp4), "--out", str(out), "--quiet"]) == 1
    assert summary(out)["interview.mp4"]["error"] == "cannot be read: permission denied"


def test_outputs_are_never_overwritten_silently(face_mp4, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["analyse", str(face_mp4), "--out", str(out), "--quiet", "--no-plots"]
    assert cli.main(args) == 0
    before = (out / "interview.csv").read_text()
    (out / "interview.csv").write_text("mine")
    assert cli.main(args) == 2
    assert "--resume" in capsys.readouterr().err
    assert (out / "interview.csv").read_text() == "mine"
    # --resume keeps finished inputs (their outputs are complete) ...
    assert cli.main([*args, "--resume", "--json-log"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[1])["skipped"] is True
    assert (out / "interview.csv").read_text() == "mine"
    # ... and --force does them again.
    assert cli.main([*args, "--force"]) == 0
    assert (out / "interview.csv").read_text() == before


def test_bad_flags_are_refused_with_the_valid_choices(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["analyse", "x.mp4", "--out", str(tmp_path), "--fps", "fast"])
    assert exit_.value.code == 2 and "'all'" in capsys.readouterr().err
    assert cli.main(["analyse", "x.mp4", "--out", str(tmp_path), "--max-faces", "20"]) == 2
