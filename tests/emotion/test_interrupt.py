"""Ctrl-C mid-run keeps the finished inputs, leaves nothing of the unfinished one that looks
complete, and --resume then gives what an uninterrupted run gives, byte for byte."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from emotion import cli
from tools import scenes

REPO = Path(__file__).resolve().parents[2]


def test_ctrl_c_then_resume_gives_the_uninterrupted_outputs(model_file, tmp_path):
    inputs = tmp_path / "videos"
    inputs.mkdir()
    for name, width in (("a", 100), ("b", 140), ("c", 120)):
        scenes.write_mp4(inputs / f"{name}.mp4", scenes.face_at_width(width, frames=150))
    out = tmp_path / "out"
    args = ["analyse", str(inputs), "--fps", "all", "--out", str(out)]
    # Ctrl-C as in a terminal, even where the tests themselves run with SIGINT ignored (a
    # background job of a shell without job control), which the command would inherit.
    run = subprocess.Popen([sys.executable, "-m", "emotion", *args, "--json-log"], cwd=REPO,
                           env=dict(os.environ, MODEL_PATH=str(model_file)),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    events = [json.loads(run.stdout.readline()) for _ in range(2)]
    assert [e["event"] for e in events] == ["start", "input"] and events[1]["status"] == "ok"
    run.send_signal(signal.SIGINT)      # while b.mp4 is being analysed
    stdout, stderr = run.communicate(timeout=60)
    assert run.returncode == 130, stderr
    assert "--resume" in stderr and "Traceback" not in stderr
    assert json.loads(stdout.splitlines()[-1])["event"] == "interrupted"
    # a.mp4 is whole; b.mp4 left no output (nor a temporary file) and c.mp4 none.
    assert sorted(p.name for p in out.iterdir()) == ["a.csv", "a.json", "a.png",
                                                     "summary.csv"]
    assert "interrupted" in (out / "summary.csv").read_text().splitlines()[2]

    assert cli.main([*args, "--resume", "--quiet"]) == 0
    whole = tmp_path / "whole"
    assert cli.main([*args[:-1], str(whole), "--quiet"]) == 0
    names = sorted(p.name for p in whole.iterdir())
    assert names == sorted(p.name for p in out.iterdir())
    assert len(names) == 3 * 3 + 2
    for name in names:
        assert (out / name).read_bytes() == (whole / name).read_bytes(), name
