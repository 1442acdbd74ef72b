from __future__ import annotations

import pytest

from tests.emotion import videos


@pytest.fixture(scope="session")
def face_mp4(tmp_path_factory):
    return videos.write_mp4(tmp_path_factory.mktemp("videos") / "interview.mp4",
                            videos.face_then_empty())


@pytest.fixture(scope="session")
def empty_mp4(tmp_path_factory):
    from tests.site import y4m

    return videos.write_mp4(tmp_path_factory.mktemp("videos") / "room.mp4",
                            y4m.face_frames(None, frames=20))
