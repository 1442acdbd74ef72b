"""In this process: the API's own service code (detector, FER+ framing, model and its
calibration) on each frame, no server needed."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from emotion.decoding import Frame
from emotion.tracking import MAX_FACES

Face = dict     # {"box": {x, y, width, height}, "predictions": {label: p}}, as the API answers


class AnalysisError(Exception):
    """A frame or photo could not be analysed: the input fails with this reason."""


def describe(frame: Frame) -> str:
    return "the photo" if frame.data is not None else f"frame {frame.index} ({frame.time:.2f} s)"


class InProcess:
    mode = "in-process"

    def __init__(self, model_path: str | Path | None = None, max_faces: int = MAX_FACES) -> None:
        # torch and the detector load only here: --api runs never pay for them.
        from function.detect import FaceDetector
        from function.model import configure_threads, default_model_path, load_model

        threads = configure_threads()
        # Loaded, warmed up and run on this thread (function/inference.py says why).
        self.model = load_model(model_path or default_model_path())
        self.detector = FaceDetector(threads=threads)
        self.model_id = self.model.info.id
        self.max_faces = max_faces

    def answers(self, frames: Iterable[Frame]) -> Iterator[tuple[Frame, list[Face]]]:
        for frame in frames:
            yield frame, self.faces(frame)

    def faces(self, frame: Frame) -> list[Face]:
        from function.errors import APIError
        from function.service import analyse, find_faces

        if frame.data is not None:
            # A photo takes the API's whole path from its bytes: limits, EXIF, decoding.
            try:
                return analyse(frame.data, True, self.model, self.detector).answer["faces"]
            except APIError as e:
                raise AnalysisError(f"{e.message} ({e.code})") from None
        # A video frame is decoded already: the same detection, framing and model.
        found, _ = find_faces(frame.image, self.detector)
        found = found[:self.max_faces]
        predictions = self.model.predict([f.crop for f in found])
        return [{"box": dict(f.box.__dict__),
                 "predictions": {k: round(v, 4) for k, v in p.items()}}
                for f, p in zip(found, predictions, strict=True)]

    def close(self) -> None:
        pass
