"""The model file format: self-describing, fp16 on disk, fp32 or bf16 and calibrated in
use."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image

from function import model as model_module
from function.model import (
    LABELS,
    ModelInfo,
    available_cpus,
    load_model,
    resolve_precision,
    save_model,
)
from tests import model_fixture


def test_round_trip_reads_the_description_back(tmp_path):
    path = model_fixture.build(tmp_path / "m.pt")
    extra = {"meta.json": ""}
    raw = torch.jit.load(str(path), _extra_files=extra)
    meta = json.loads(extra["meta.json"])
    assert meta["labels"] == list(LABELS) and meta["input_size"] == 64
    assert next(raw.parameters()).dtype == torch.float16          # stored small
    model = load_model(path, precision="fp32")
    assert model.info == model_fixture.INFO
    x = model.preprocess([Image.new("RGB", (80, 80))])
    assert model.module(x).dtype == torch.float32                     # restored to fp32


def test_predictions_are_calibrated_probabilities(model_file, astronaut):
    model = load_model(model_file, precision="fp32")
    preds = model.predict([astronaut, astronaut.resize((40, 70)).convert("L")])
    assert len(preds) == 2
    for p in preds:
        assert list(p) != [] and set(p) == set(LABELS)
        assert sum(p.values()) == pytest.approx(1.0, abs=1e-5)
        assert list(p.values()) == sorted(p.values(), reverse=True)
    # Temperature is applied: softmax(logits / T) exactly.
    x = model.preprocess([astronaut])
    logits = model.module(x)
    expected = torch.softmax(logits / model.info.temperature, 1)
    assert torch.allclose(model.probabilities(x), expected, atol=1e-6)


def test_batch_and_single_agree(model_file, astronaut):
    model = load_model(model_file)
    faces = [astronaut, astronaut.rotate(10), Image.new("RGB", (50, 50), "white")]
    batch = model.predict(faces)
    for face, p in zip(faces, batch, strict=True):
        single = model.predict([face])[0]
        assert all(abs(single[k] - p[k]) < 1e-4 for k in LABELS)


def test_files_that_are_not_models_are_refused(tmp_path):
    plain = torch.jit.trace(torch.nn.Linear(2, 2), torch.zeros(1, 2))
    torch.jit.save(plain, str(tmp_path / "plain.pt"))
    with pytest.raises(ValueError, match="meta.json"):
        load_model(tmp_path / "plain.pt")
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.pt")
    wrong = ModelInfo("x", "1", ("a",) * 8, 64, True, (0.5,), (0.25,), 1.0)
    save_model(plain, wrong, tmp_path / "wrong.pt")
    with pytest.raises(ValueError, match="labels"):
        load_model(tmp_path / "wrong.pt")


def test_threads_follow_available_cpus():
    assert 1 <= available_cpus() <= (torch.get_num_threads() + 64)


@pytest.mark.parametrize("native, expected", [(True, "bf16"), (False, "fp32")])
def test_auto_precision_takes_bf16_only_where_the_cpu_has_it(monkeypatch, settings_env, native,
                                                             expected):
    settings_env(MODEL_PRECISION=None)
    monkeypatch.setattr(model_module, "native_bf16", lambda: native)
    assert resolve_precision() == expected
    assert resolve_precision("auto") == expected
    assert resolve_precision("FP32") == "fp32"
    assert resolve_precision("auto", views=4) == "fp32"       # see the next test


def test_bf16_is_refused_for_files_of_several_views_with_the_reason():
    with pytest.raises(ValueError, match="averages 4: use fp32"):
        resolve_precision("bf16", views=4)


def test_the_precision_is_read_from_the_environment(settings_env, model_file):
    settings_env(MODEL_PRECISION="bf16")
    assert load_model(model_file).precision == "bf16"
    settings_env(MODEL_PRECISION=" FP32 ")
    assert load_model(model_file).precision == "fp32"


def test_an_unknown_precision_names_the_variable_and_the_valid_ones(settings_env, model_file):
    with pytest.raises(ValueError, match="MODEL_PRECISION='fp16': must be one of "
                                         "auto, fp32, bf16, int8"):
        settings_env(MODEL_PRECISION="fp16")
    with pytest.raises(ValueError, match="'fp16' is not one of auto, fp32, bf16, int8"):
        load_model(model_file, precision="fp16")


def test_the_precisions_are_the_ones_the_model_runs():
    assert set(model_module.PRECISIONS) == {"auto", *model_module.DTYPES, model_module.INT8}


def test_torch_threads_are_read_from_the_environment(settings_env):
    before = torch.get_num_threads()
    try:
        settings_env(TORCH_THREADS="1")
        assert model_module.configure_threads() == 1 == torch.get_num_threads()
        settings_env(TORCH_THREADS="0")          # 0, like unset: every CPU
        assert model_module.configure_threads() == available_cpus()
    finally:
        torch.set_num_threads(before)


def test_bf16_gives_the_same_answers_within_rounding(model_file, astronaut):
    faces = [astronaut, astronaut.rotate(20), astronaut.convert("L")]
    fp32 = load_model(model_file, precision="fp32")
    bf16 = load_model(model_file, precision="bf16")
    x = bf16.preprocess(faces).to(torch.bfloat16)
    assert bf16.module(x).dtype == torch.bfloat16          # the network runs in bf16
    a, b = fp32.predict(faces), bf16.predict(faces)
    for p, q in zip(a, b, strict=True):
        assert all(abs(p[k] - q[k]) < 0.02 for k in LABELS)
        assert sum(q.values()) == pytest.approx(1.0, abs=1e-5)      # probabilities in fp32


def _int8_copy(float_path, faces):
    """The int8 copy of a fixture file beside it, as training.quantize makes it."""
    from training.quantize import quantize, save_int8

    net = model_fixture.Tiny()
    net.load_state_dict({k: v.float() for k, v in torch.jit.load(str(float_path))
                         .state_dict().items()})
    model = load_model(float_path, precision="fp32")
    x = model.preprocess(faces)
    return save_int8(quantize(net, x), x[:1], model.info, model_module.int8_path(float_path))


@pytest.fixture
def with_int8(tmp_path, astronaut):
    path = model_fixture.build(tmp_path / "m.pt")
    faces = [astronaut.rotate(a).resize((s, s)) for a in (-20, 0, 20) for s in (50, 90)]
    _int8_copy(path, faces)
    return path


def test_int8_loads_the_copy_beside_the_file_and_answers_as_fp32_does(with_int8, astronaut):
    assert model_module.int8_path(with_int8).name == "m.int8.pt"
    fp32 = load_model(with_int8, precision="fp32")
    int8 = load_model(with_int8, precision="int8")
    assert int8.precision == "int8" and int8.info.quantized and not fp32.info.quantized
    assert int8.info.id == fp32.info.id                  # the same model, other arithmetic
    assert (fp32.path, int8.path) == (with_int8, model_module.int8_path(with_int8))
    faces = [astronaut, astronaut.rotate(10), astronaut.convert("L")]
    a, b = fp32.predict(faces), int8.predict(faces)
    for p, q in zip(a, b, strict=True):
        assert all(abs(p[k] - q[k]) < 0.05 for k in LABELS), (p, q)
        assert sum(q.values()) == pytest.approx(1.0, abs=1e-5)
    # The int8 file is also a model file of its own.
    assert load_model(model_module.int8_path(with_int8)).precision == "int8"


def test_auto_takes_int8_where_there_is_a_copy_and_no_bf16(monkeypatch, settings_env, with_int8,
                                                           model_file):
    settings_env(MODEL_PRECISION=None)
    monkeypatch.setattr(model_module, "native_bf16", lambda: False)
    assert load_model(with_int8).precision == "int8"
    assert load_model(model_file).precision == "fp32"          # no copy beside it
    monkeypatch.setattr(model_module, "native_bf16", lambda: True)
    assert load_model(with_int8).precision == "bf16"


def test_int8_without_a_copy_says_how_to_make_one(model_file):
    with pytest.raises(ValueError, match="training.quantize"):
        load_model(model_file, precision="int8")


def test_an_int8_file_refuses_a_float_precision(with_int8):
    with pytest.raises(ValueError, match="int8 file"):
        load_model(model_module.int8_path(with_int8), precision="bf16")


def test_the_default_model_is_the_float_file_not_its_int8_copy(monkeypatch, settings_env,
                                                               tmp_path):
    settings_env(MODEL_PATH=None)
    model_fixture.build(tmp_path / "a.pt")
    (tmp_path / "a.int8.pt").write_bytes(b"")
    monkeypatch.setattr(model_module, "MODELS_DIR", tmp_path)
    assert model_module.default_model_path() == tmp_path / "a.pt"
    settings_env(MODEL_PATH=str(tmp_path / "b.pt"))
    assert model_module.default_model_path() == tmp_path / "b.pt"
