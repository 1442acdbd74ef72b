"""Browser fixtures: the real product served locally (API and site/ on one port), and
Debian's headless Chromium driven by Playwright, its camera a fake device that plays a
.y4m video of a real face made here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tools import harness, scenes

playwright_sync = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="session")
def site_built() -> None:
    harness.build_site()


@pytest.fixture(scope="session")
def face_video(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("camera") / "face.y4m"
    return scenes.write_y4m(path, scenes.face_frames(scenes.astronaut()))


@pytest.fixture(scope="session")
def empty_video(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("camera") / "empty.y4m"
    return scenes.write_y4m(path, scenes.face_frames(None, frames=4))


@pytest.fixture(scope="session")
def recordings(tmp_path_factory) -> dict[str, Path]:
    """The Firefox and WebKit tests' recording of a face, as WebM and as MP4."""
    from tests.site.other_browsers import make_recordings

    return make_recordings(tmp_path_factory.mktemp("recordings"))


@pytest.fixture(scope="session")
def server(model_file, site_built) -> Iterator[str]:
    with harness.serve(model_file) as base:
        yield base


@pytest.fixture(scope="session")
def playwright() -> Iterator:
    if harness.chromium_path() is None:
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    with playwright_sync.sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright, face_video):
    browser = harness.launch(playwright, face_video)
    yield browser
    browser.close()


class PageLog:
    """What a page printed and threw, shown when a test fails."""

    def __init__(self, page) -> None:
        self.lines: list[str] = []
        page.on("console", lambda m: m.type in ("error", "warning")
                and self.lines.append(f"console.{m.type}: {m.text[:500]}"))
        page.on("pageerror", lambda e: self.lines.append(f"pageerror: {e}"))

    @property
    def page_errors(self) -> list[str]:
        return [line for line in self.lines if line.startswith("pageerror")]


def open_context(browser, *, camera: bool = True, **kwargs):
    kwargs.setdefault("viewport", {"width": 1280, "height": 860})
    context = browser.new_context(**kwargs)
    if camera:
        # Without this grant headless Chromium denies the camera, as a person might.
        context.grant_permissions(["camera"])
    context.set_default_timeout(30_000)
    return context


@pytest.fixture
def context(browser):
    context = open_context(browser)
    yield context
    context.close()


@pytest.fixture
def page(context):
    page = context.new_page()
    page.log = PageLog(page)
    yield page
    # Captured output: pytest shows it only when the test failed.
    print("\n".join(page.log.lines[-40:]))


@pytest.fixture(scope="module")
def modules_page(browser, server):
    """A page without a camera: it only lends its modules to a test (nothing else runs
    beside them)."""
    context = open_context(browser, camera=False)
    page = context.new_page()
    page.log = PageLog(page)
    page.goto(server + "/")
    yield page
    print("\n".join(page.log.lines[-40:]))
    context.close()


@pytest.fixture(scope="session")
def face_detector():
    """The server's face detector (function/detect/)."""
    from function.detect import FaceDetector

    return FaceDetector()
