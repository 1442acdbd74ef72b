from __future__ import annotations

import pytest

from tools import scenes


@pytest.fixture(scope="session")
def face_mp4(tmp_path_factory):
    return scenes.write_mp4(tmp_path_factory.mktemp("videos") / "interview.mp4",
                            scenes.face_then_empty())


@pytest.fixture(scope="session")
def empty_mp4(tmp_path_factory):
    return scenes.write_mp4(tmp_path_factory.mktemp("videos") / "room.mp4",
                            scenes.face_frames(None, frames=20))
