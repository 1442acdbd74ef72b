"""The page's own modules (site/*.js) run by Node on data from a test: its tracker and
smoothing on a detection sequence, its session record on samples."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

SITE = Path(__file__).resolve().parents[2] / "site"

# Node has no DOM: the tracker's frame buffers are plain objects, a "bitmap" is the frame.
_TRACK = """
globalThis.document = { createElement: () => ({ getContext: () => ({ drawImage() {} }) }) };
globalThis.createImageBitmap = async (frame) => frame;
const { Tracker, applyPredictions } = await import(SITE + '/tracking.js');
const steps = JSON.parse(await readFile(process.argv[2], 'utf8'));
const tracker = new Tracker();
let boxes = [];
const detector = { detect: async () => boxes };
const out = [];
for (const step of steps) {
  boxes = step.boxes;
  const seen = await tracker.detect(detector, {}, step.now);
  seen.forEach((track, i) => applyPredictions(track, step.predictions[i], step.now));
  tracker.expire(step.now, false);
  const main = tracker.main();
  out.push({ ids: seen.map((t) => t.id), main: main ? main.id : null,
    probs: seen.map((t) => t.probs) });
}
console.log(JSON.stringify(out));
"""

_SESSION = """
const { SessionRecord } = await import(SITE + '/session.js');
const data = JSON.parse(await readFile(process.argv[2], 'utf8'));
const record = new SessionRecord();
record.clear(data.source, new Date(data.started));
for (const s of data.samples) record.add(s.t, s.face, s.probs);
console.log(JSON.stringify({ csv: record.csv(), summary: record.summary() }));
"""

_CLASSES = """
const { LABELS, COLORS, EMOJI } = await import(SITE + '/emotions.js');
console.log(JSON.stringify({ labels: LABELS, colors: COLORS, emoji: EMOJI }));
"""


def node() -> str:
    path = shutil.which("node")
    if path is None:
        pytest.skip("node is not installed (scripts/system-deps.sh npm)")
    return path


def _run(script: str, data: object, tmp_path: Path) -> object:
    source = tmp_path / "run.mjs"
    source.write_text(f"import {{ readFile }} from 'node:fs/promises';\n"
                      f"const SITE = {json.dumps(str(SITE))};\n{script}")
    (tmp_path / "data.json").write_text(json.dumps(data))
    done = subprocess.run([node(), str(source), str(tmp_path / "data.json")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def classes(tmp_path: Path) -> dict:
    """The page's labels, colours and emoji, as its modules hold them."""
    return _run(_CLASSES, None, tmp_path)


def track(steps: list[dict], tmp_path: Path) -> list[dict]:
    """steps: {now (ms), boxes (largest first), predictions (one per shown box)}."""
    return _run(_TRACK, steps, tmp_path)


def session(source: str, started_ms: float, samples: list[dict], tmp_path: Path) -> dict:
    return _run(_SESSION, {"source": source, "started": started_ms, "samples": samples},
                tmp_path)
