"""Test videos made here: H.264 MP4s of a real face (scikit-image's astronaut, as the
browser tests' videos), encoded by the FFmpeg inside PyAV's wheel."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from tests.site import y4m


def write_mp4(path: Path, frames: list[np.ndarray], fps: int = 15) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return path


def face_then_empty(face_frames: int = 45, empty_frames: int = 10) -> list[np.ndarray]:
    """A face 120 px wide swaying in 640x480, then the empty room."""
    return y4m.face_at_width(120, frames=face_frames) + y4m.face_frames(None,
                                                                        frames=empty_frames)


def decoded(path: Path) -> list:
    """Every frame of a video as RGB PIL images, as the command decodes them."""
    with av.open(str(path)) as container:
        return [f.to_image() for f in container.decode(video=0)]
