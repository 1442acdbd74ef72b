"""The model file in models/ — what `make run` and the Lambda image serve."""

from __future__ import annotations

import pytest

from function.model import LABELS, MODELS_DIR, float_model_files, int8_path, load_model

SHIPPED = float_model_files(MODELS_DIR)
pytestmark = pytest.mark.skipif(not SHIPPED, reason="no model file shipped in models/ yet")


@pytest.fixture(scope="module")
def shipped():
    return load_model(SHIPPED[-1])


def test_it_is_self_describing(shipped):
    assert shipped.info.labels == LABELS
    assert shipped.info.input_size >= 48
    assert 0.3 < shipped.info.temperature < 5


def test_the_smiling_astronaut_is_happy(shipped, astronaut):
    from function.detect import FaceDetector
    from function.service import crop_faces

    face = crop_faces(astronaut, FaceDetector())[0].crop     # as the API crops it
    preds = shipped.predict([face, face.transpose(0)])   # and its mirror image
    for p in preds:
        assert next(iter(p)) == "Happiness", p
        assert p["Happiness"] > 0.5


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_the_fused_graph_is_what_runs_and_changes_no_answer(astronaut, precision):
    import torch

    from function.model import native_bf16

    model = load_model(SHIPPED[-1], precision=precision)
    faces = model.preprocess([astronaut, astronaut.rotate(15), astronaut.convert("L")])
    fused = model.probabilities(faces)
    # The convolutions run inside oneDNN fusion groups: the fast path is the one taken.
    # oneDNN Graph fuses bf16 only where the CPU has bf16 instructions, the only CPUs
    # where "auto" serves bf16; elsewhere bf16 runs unfused and is checked for its answers.
    if precision == "fp32" or native_bf16():
        assert "prim::oneDNNFusionGroup" in str(torch.jit.last_executed_optimized_graph())
    plain = load_model(SHIPPED[-1], fuse=False, precision=precision).probabilities(faces)
    assert torch.allclose(fused, plain, atol=1e-5 if precision == "fp32" else 1e-2)


def test_bf16_answers_are_the_fp32_answers_within_rounding(astronaut):
    import torch

    faces = [astronaut, astronaut.rotate(15), astronaut.convert("L"), astronaut.transpose(0)]
    fp32 = load_model(SHIPPED[-1], precision="fp32")
    bf16 = load_model(SHIPPED[-1], precision="bf16")
    p, q = (m.probabilities(m.preprocess(faces)) for m in (fp32, bf16))
    assert torch.equal(p.argmax(1), q.argmax(1))
    assert (p - q).abs().max() < 0.02


def test_the_int8_copy_is_of_this_model_and_gives_its_answers(astronaut):
    import torch

    from function.detect import FaceDetector
    from function.service import crop_faces

    assert int8_path(SHIPPED[-1]).is_file(), "make it with `python -m training.quantize`"
    fp32 = load_model(SHIPPED[-1], precision="fp32")
    int8 = load_model(SHIPPED[-1], precision="int8")
    assert int8.info.quantized and int8.info.id == fp32.info.id
    face = crop_faces(astronaut, FaceDetector())[0].crop
    faces = [face, face.transpose(0), face.rotate(15), face.convert("L")]
    p, q = (m.probabilities(m.preprocess(faces)) for m in (fp32, int8))
    assert torch.equal(p.argmax(1), q.argmax(1))
    assert (p - q).abs().max() < 0.1
    assert next(iter(int8.predict([face])[0])) == "Happiness"
