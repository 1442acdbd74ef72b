"""The scenes the tests and the benchmarks play: a real face (scikit-image's astronaut) on a
640x480 frame, drifting a little so boxes have to follow it, written as the fake camera's
.y4m, as WebM files to open in the page, and as H.264 MP4s for the emotion command
(encoded by the FFmpeg inside PyAV's wheel)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image

WIDTH, HEIGHT = 640, 480


def _rgb_to_yuv420(rgb: np.ndarray) -> bytes:
    """RGB uint8 (H, W, 3) -> planar I420 bytes, BT.601 video range (what Chromium's
    fake capture device assumes)."""
    x = rgb.astype(np.float32) / 255.0
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    y = 16 + 65.481 * r + 128.553 * g + 24.966 * b
    u = 128 - 37.797 * r - 74.203 * g + 112.0 * b
    v = 128 + 112.0 * r - 93.786 * g - 18.214 * b
    # 2x2 averages for the subsampled chroma planes.
    u = u.reshape(u.shape[0] // 2, 2, u.shape[1] // 2, 2).mean(axis=(1, 3))
    v = v.reshape(v.shape[0] // 2, 2, v.shape[1] // 2, 2).mean(axis=(1, 3))
    planes = (np.clip(np.rint(p), 0, 255).astype(np.uint8) for p in (y, u, v))
    return b"".join(p.tobytes() for p in planes)


def face_frames(face: np.ndarray | None, frames: int = 30, drift: int = 24,
                face_size: int = 360) -> list[np.ndarray]:
    """RGB frames with ``face`` (RGB uint8) scaled to ``face_size`` and swaying
    ``drift`` px left and right over one loop; ``face=None`` gives an empty room."""
    background = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    background[:] = (70, 78, 92)
    # A soft vertical gradient, so the empty-room video is not one flat colour.
    background = (background * np.linspace(0.8, 1.2, HEIGHT)[:, None, None]).clip(0, 255)
    background = background.astype(np.uint8)
    if face is None:
        return [background] * frames
    tile = np.asarray(Image.fromarray(face).resize((face_size, face_size), Image.BILINEAR))
    top = (HEIGHT - face_size) // 2
    out = []
    for i in range(frames):
        # A whole sine period per loop, so the looping video has no jump.
        left = (WIDTH - face_size) // 2 + round(drift * math.sin(2 * math.pi * i / frames))
        frame = background.copy()
        frame[top:top + face_size, left:left + face_size] = tile
        out.append(frame)
    return out


# The astronaut's face in scikit-image's 512x512 photo, as OpenCV's Haar detector (the
# server's) boxes it: the yardstick for "a face N px wide".
ASTRONAUT_FACE = (177, 66, 95, 95)


def face_at_width(face_width: int, frames: int = 30, drift: int = 12) -> list[np.ndarray]:
    """RGB 640x480 frames of the whole astronaut photo scaled so her face is ``face_width``
    px wide, centred and swaying ``drift`` px: ~60 px is a person 1.5 m from a laptop
    camera, ~200 px one leaning in. Parts of the photo outside the frame are cut off."""
    from skimage import data

    x, y, w, h = ASTRONAUT_FACE
    scale = face_width / w
    photo = Image.fromarray(data.astronaut())
    side = round(photo.width * scale)
    photo = photo.resize((side, side), Image.BILINEAR)
    background = face_frames(None, frames=1)[0]
    out = []
    for i in range(frames):
        dx = round(drift * math.sin(2 * math.pi * i / frames))
        frame = Image.fromarray(background)
        frame.paste(photo, (round(WIDTH / 2 - (x + w / 2) * scale) + dx,
                            round(HEIGHT / 2 - (y + h / 2) * scale)))
        out.append(np.asarray(frame))
    return out


def write_y4m(path: Path, frames: list[np.ndarray], fps: int = 15) -> Path:
    height, width = frames[0].shape[:2]
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            f.write(b"FRAME\n")
            f.write(_rgb_to_yuv420(frame))
    return path


def write_webm(path: Path, frames: list[np.ndarray], fps: int = 15) -> Path:
    """A VP8 WebM (what every browser plays) of RGB frames, through OpenCV's bundled FFmpeg."""
    import cv2

    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"VP80"), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError("OpenCV cannot write VP8 WebM here")
    for frame in frames:
        writer.write(np.ascontiguousarray(frame[..., ::-1]))
    writer.release()
    return path


def astronaut() -> np.ndarray:
    """Head and shoulders of scikit-image's astronaut photo, as a webcam would frame it."""
    from skimage import data

    return data.astronaut()[0:300, 110:410]


def write_mp4(path: Path, frames: list[np.ndarray], fps: int = 15) -> Path:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return path


def face_then_empty(faces: int = 45, empty: int = 10) -> list[np.ndarray]:
    """A face 120 px wide swaying in 640x480 (``faces`` frames), then the empty room."""
    return face_at_width(120, frames=faces) + face_frames(None, frames=empty)


def decoded(path: Path) -> list:
    """Every frame of a video as RGB PIL images, as the command decodes them."""
    import av

    with av.open(str(path)) as container:
        return [f.to_image() for f in container.decode(video=0)]
