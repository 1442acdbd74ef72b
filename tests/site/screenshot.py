"""Makes docs/screenshot.png: the live page in headless Chromium, its camera playing the
test face (90 px wide: a person a metre or so from the camera), after a few seconds of
timeline and session summary.

    .venv/bin/python -m tests.site.screenshot [--model models/x.pt] [--out docs/screenshot.png]

The model defaults to MODEL_PATH, else the one shipped in models/, else the tests' tiny
fixture model (whose emotions are meaningless: use a trained one for the README).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from tools import harness, scenes


def default_model(tmp: Path) -> Path:
    if os.environ.get("MODEL_PATH"):
        return Path(os.environ["MODEL_PATH"])
    shipped = sorted((harness.REPO / "models").glob("*.pt"))
    if shipped:
        return shipped[-1]
    from tests import model_fixture

    return model_fixture.build(tmp / "fixture.pt")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path)
    parser.add_argument("--out", type=Path, default=harness.REPO / "docs" / "screenshot.png")
    parser.add_argument("--seconds", type=float, default=12, help="timeline history to show")
    parser.add_argument("--face-width", type=int, default=90)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        model = args.model or default_model(tmp)
        video = scenes.write_y4m(tmp / "face.y4m", scenes.face_at_width(args.face_width))
        with harness.live_page(model, video, height=820) as page:
            page.wait_for_timeout(args.seconds * 1000)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out), full_page=True)
    print(f"wrote {args.out} (model {model.name})")


if __name__ == "__main__":
    main()
