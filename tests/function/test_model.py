"""The model file format: self-describing, fp16 on disk, fp32 and calibrated in use."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image

from function.model import LABELS, ModelInfo, available_cpus, load_model, save_model
from tests import model_fixture


def test_round_trip_reads_the_description_back(tmp_path):
    path = model_fixture.build(tmp_path / "m.pt")
    extra = {"meta.json": ""}
    raw = torch.jit.load(str(path), _extra_files=extra)
    meta = json.loads(extra["meta.json"])
    assert meta["labels"] == list(LABELS) and meta["input_size"] == 64
    assert next(raw.parameters()).dtype == torch.float16          # stored small
    model = load_model(path)
    assert model.info == model_fixture.INFO
    assert next(model.module.parameters(), torch.zeros(1)).dtype == torch.float32


def test_predictions_are_calibrated_probabilities(model_file, astronaut):
    model = load_model(model_file)
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
