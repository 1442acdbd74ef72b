"""Reading an input: a photo's bytes, or a video's frames decoded by FFmpeg (PyAV, whose
wheel carries it) a few frames ahead on a thread of their own, so the next frame is ready
while the last one is analysed."""

from __future__ import annotations

import math
import os
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import av
from PIL import Image

from emotion.inputs import image_type
from emotion.record import iso_utc
from function.limits import MAX_PIXELS

AHEAD = 8           # frames decoded ahead of the one being analysed
# A video whose last frame comes this long (plus two frames) before its stated duration
# stopped early: cut off, or broken from there on.
EARLY_END_S = 0.5


class SourceError(Exception):
    """Why an input could not be read, all of it or from some point on (the frames before
    it were analysed)."""


@dataclass
class Frame:
    index: int                  # in the video, from 0 (every frame counts, analysed or not)
    time: float                 # seconds from the start of the video
    image: Image.Image | None   # a video frame, RGB
    data: bytes | None = None   # a photo: the file's bytes, as they would be sent
    mime: str | None = None


def open_source(path: Path, fps: float | None) -> Photo | Video:
    """The input at ``path``: a JPEG, PNG or WebP by its bytes, else whatever FFmpeg
    decodes with a video stream. ``fps``: frames analysed per second (None: all)."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except PermissionError:
        raise SourceError("cannot be read: permission denied") from None
    except OSError as e:
        raise SourceError(f"cannot be read: {e.strerror or e}") from None
    if not head:
        raise SourceError("the file is empty")
    mime = image_type(head)
    if mime:
        return Photo(path, mime)
    return Video(path, fps)


def _started(path: Path, tags: dict) -> str:
    """When the recording was made: its creation_time tag, else the file's mtime."""
    text = tags.get("creation_time")
    if text:
        try:
            return iso_utc(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())
        except ValueError:
            pass
    return iso_utc(os.stat(path).st_mtime)


class Photo:
    kind = "photo"
    duration: float | None = None

    def __init__(self, path: Path, mime: str) -> None:
        self.path = path
        self.mime = mime
        self.started = _started(path, {})
        self.estimated_frames = 1

    def frames(self) -> Iterator[Frame]:
        try:
            data = self.path.read_bytes()
        except OSError as e:
            raise SourceError(f"cannot be read: {e.strerror or e}") from None
        yield Frame(0, 0.0, None, data, self.mime)

    def close(self) -> None:
        pass


class Video:
    kind = "video"

    def __init__(self, path: Path, fps: float | None) -> None:
        self.path = path
        self.fps = fps
        try:
            self.container = av.open(str(path))
        except av.FFmpegError as e:
            raise SourceError(_unreadable(path, e)) from None
        if not self.container.streams.video:
            self.container.close()
            raise SourceError("has no video stream (an audio file?)")
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"        # FFmpeg's own frame threads
        w, h = self.stream.codec_context.width, self.stream.codec_context.height
        if w * h > MAX_PIXELS:
            self.container.close()
            raise SourceError(f"its frames are {w}x{h}, {w * h:,} pixels; the API's limit is "
                              f"{MAX_PIXELS:,}")
        self.size = (w, h)
        self.rate = float(self.stream.average_rate or self.stream.guessed_rate or 30)
        s = self.stream
        self.duration = (float(s.duration * s.time_base) if s.duration and s.time_base
                         else self.container.duration / 1e6 if self.container.duration
                         else None)
        self.start = float(s.start_time * s.time_base) if s.start_time is not None and \
            s.time_base else 0.0
        self.started = _started(path, {**dict(s.metadata), **dict(self.container.metadata)})
        every = s.frames or (round(self.duration * self.rate) if self.duration else 0)
        self.estimated_frames = every if fps is None or not self.duration else min(
            every or math.inf, math.ceil(self.duration * fps))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def frames(self) -> Iterator[Frame]:
        """The frames to analyse, in order; a SourceError at the end if the video is
        corrupt or stops early (the frames before it have been yielded)."""
        q: queue.Queue = queue.Queue(AHEAD)
        self._thread = threading.Thread(target=self._decode, args=(q,), daemon=True,
                                        name="decode")
        self._thread.start()
        while True:
            item = q.get()
            if item is None:
                return
            if isinstance(item, SourceError):
                raise item
            yield item

    def _decode(self, q: queue.Queue) -> None:
        def put(item: object) -> bool:
            while not self._stop.is_set():
                try:
                    q.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        index, last_slot, last_time = -1, -1, None
        damaged, first_damage = 0, None
        try:
            for packet in self.container.demux(self.stream):
                try:
                    decoded = packet.decode()
                except av.InvalidDataError:
                    # A damaged packet: skipped, as FFmpeg's own tools do, and reported.
                    damaged += 1
                    first_damage = first_damage or (last_time or 0.0)
                    continue
                for frame in decoded:
                    index += 1
                    t = (float(frame.time) - self.start) if frame.time is not None else \
                        index / self.rate
                    last_time = t
                    if self.fps is not None:
                        # The first frame of each 1/fps slot of the video's time.
                        slot = math.floor(t * self.fps + 1e-6)
                        if slot <= last_slot:
                            continue
                        last_slot = slot
                    if not put(Frame(index, round(t, 6), frame.to_image())):
                        return
        except av.FFmpegError as e:
            at = f"{last_time:.2f} s" if last_time is not None else "its start"
            put(SourceError(f"the video cannot be read past {at} ({_why(e)})"))
            return
        except Exception as e:  # noqa: BLE001 - the reader thread must report, never die mute
            put(SourceError(f"decoding failed after frame {index}: {e}"))
            return
        if index < 0:
            put(SourceError("the video is truncated or corrupt: FFmpeg decoded no frame of it"
                            + (f" ({damaged} damaged packets)" if damaged else "")))
            return
        end = last_time + 2 / self.rate
        if self.duration and end + EARLY_END_S < self.duration:
            put(SourceError(f"the video stops at {last_time:.2f} s of its {self.duration:.2f} s "
                            "(truncated or corrupt)"))
            return
        if damaged:
            put(SourceError(f"{damaged} damaged packets of the video were skipped, the first "
                            f"at {first_damage:.2f} s"))
            return
        put(None)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.container.close()


def _unreadable(path: Path, e: Exception) -> str:
    with open(path, "rb") as f:
        head = f.read(12)
    if head[4:8] == b"ftyp":    # an MP4/MOV box: the file is one, its index is missing
        return ("an MP4/MOV file that is truncated or corrupt: FFmpeg cannot read its index "
                f"({_why(e)})")
    return f"not an image (JPEG, PNG, WebP) or a video FFmpeg can read ({_why(e)})"


def _why(e: Exception) -> str:
    text = getattr(e, "strerror", None) or str(e)
    return text.split(": '")[0] if text else type(e).__name__
