"""tools/quantize_detector.py: the graph edits keep the float network's answers, and the int8
file it makes runs whole in XNNPACK and finds a face where it is."""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter
from ai_edge_litert.tools import flatbuffer_utils
from PIL import Image

from function import detect
from function.detect import INT8_FILE, OUTPUT_CODE, SHORT_RANGE, FaceDetector, Pass
from tools import quantize_detector as q


def outputs(model: bytes | str, x: np.ndarray) -> dict[int, np.ndarray]:
    """The network's outputs on ``x``, keyed by their last dimension (1: scores, 16: boxes)."""
    it = (Interpreter(model_content=model) if isinstance(model, bytes)
          else Interpreter(model_path=model))
    i = it.get_input_details()[0]["index"]
    it.resize_tensor_input(i, list(x.shape))
    it.allocate_tensors()
    it.set_tensor(i, x)
    it.invoke()
    return {int(o["shape"][-1]): it.get_tensor(o["index"]) for o in it.get_output_details()}


def op_counts(model: bytes) -> Counter:
    m = flatbuffer_utils.convert_bytearray_to_object(bytearray(model))
    return Counter(q.op_name(m, op) for op in m.subgraphs[0].operators)


@pytest.fixture(scope="module")
def float_graph() -> bytes:
    return q.float_graph(detect.weights_path(SHORT_RANGE))


def test_the_edited_float_graph_answers_as_the_wheels_file(float_graph):
    """fp16 weights unfolded, ReLUs fused, outputs bounded: the same network."""
    counts = op_counts(float_graph)
    assert counts["DEQUANTIZE"] == 0 and counts["RELU"] == 0 and counts["CONV_2D"] == 21
    x = np.random.default_rng(0).uniform(-1, 1, (1, 128, 128, 3)).astype(np.float32)
    before, after = outputs(str(detect.weights_path(SHORT_RANGE)), x), outputs(float_graph, x)
    (a, b), (c, d) = OUTPUT_CODE[INT8_FILE]
    np.testing.assert_allclose(after[1] * a + b, np.maximum(before[1], b), atol=1e-3)
    boxes = np.clip(before[16], d, d + 6 * c)
    assert (boxes != before[16]).mean() < 0.1       # the bounds cut only far-off anchors
    np.testing.assert_allclose(after[16] * c + d, boxes, rtol=1e-4, atol=1e-3)


@pytest.fixture(scope="module")
def made(tmp_path_factory, astronaut) -> bytes:
    """The tool run on a tiny data folder of its own layout: two 'train' pictures."""
    root = tmp_path_factory.mktemp("data")
    for name, im in (("a", astronaut), ("b", astronaut.rotate(20).resize((200, 200)))):
        (root / "taiwanese" / "train").mkdir(parents=True, exist_ok=True)
        im.save(root / "taiwanese" / "train" / f"{name}.jpg")
    out = root / "int8.tflite"
    q.main(argparse.Namespace(data=str(root), frames=8, seed=0, out=str(out)))
    return out.read_bytes()


def test_the_int8_file_reads_int8_pixels_and_runs_whole_in_xnnpack(made, float_graph):
    it = Interpreter(model_content=made)
    it.allocate_tensors()
    [inp] = it.get_input_details()
    assert inp["dtype"] == np.int8
    assert all(o["dtype"] == np.float32 for o in it.get_output_details())
    # One delegate node and nothing left outside it: no reference kernel runs.
    ops = Counter(o["op_name"] for o in it._get_ops_details())
    assert ops["DELEGATE"] == 1
    assert len(made) < 0.7 * len(float_graph)


def test_the_int8_file_finds_the_astronaut_where_she_is(made, tmp_path, monkeypatch, astronaut):
    monkeypatch.setattr(detect, "MODELS_DIR", tmp_path)
    (tmp_path / INT8_FILE).write_bytes(made)
    frame = Image.new("RGB", (640, 480), (90, 100, 110))
    frame.paste(astronaut.resize((300, 300)), (170, 90))
    [face] = FaceDetector(tuple(Pass(INT8_FILE, p.side, p.min_score)
                                for p in detect.PASSES)).detect(frame)
    # Her face is about 60 px wide, her eyes ~(290, 150) and (315, 152) in the frame.
    assert 45 < face.box.width < 90
    assert abs(face.landmarks["right_eye"][0] - 290) < 8
    assert abs(face.landmarks["left_eye"][0] - 315) < 8


def test_no_train_pictures_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no train pictures"):
        q.face_pictures(tmp_path)
