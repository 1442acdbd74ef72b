import dataclasses

import pytest
import torch

from function.model import LABELS, ModelInfo, int8_path, load_model, save_model
from tests.training.conftest import make_ferplus
from tests.training.sets import make_set
from training import quantize
from training.resnet import resnet34

INFO = ModelInfo("emotion-resnet34", "test", LABELS, 32, True, (0.5,), (0.25,), 1.2)


@pytest.fixture
def float_file(tmp_path):
    torch.manual_seed(0)
    net = resnet34(num_classes=len(LABELS)).eval()
    traced = torch.jit.trace(net, torch.zeros(1, 3, 32, 32))
    return save_model(traced, INFO, tmp_path / "models" / "m.pt")


def run(tmp_path, model):
    ferplus = make_ferplus(tmp_path / "ferplus", per_split=12)
    for name in ("taiwanese", "expw", "sfew", "affectnet_contempt"):
        make_set(tmp_path, name, {"train": ["Anger", "Happiness", "Contempt"],
                                  "valid": ["Fear", "Neutral"]})
    return quantize.main(quantize.get_args_parser().parse_args([
        "--model", str(model), "--data", str(ferplus), "--sets-root", str(tmp_path),
        "--cache-dir", str(tmp_path / "cache"), "--per-set", "4"]))


def test_the_int8_copy_lies_beside_the_file_and_is_what_int8_loads(tmp_path, float_file, capsys):
    out = run(tmp_path, float_file)
    assert out == int8_path(float_file) and out.is_file()
    assert out.stat().st_size < float_file.stat().st_size
    fp32 = load_model(float_file, precision="fp32")
    int8 = load_model(float_file, precision="int8")
    assert int8.info == dataclasses.replace(INFO, quantized=True)
    # The file is frozen (its weights are constants of one graph: a fast cold start). The
    # first convolution and the last layer stay float; the blocks between are int8.
    graph = torch.jit.load(str(out)).graph
    kinds = [n.kind() for n in graph.nodes()]
    assert "prim::GetAttr" not in kinds
    float_convs = sum(k in ("aten::conv2d", "aten::_convolution") for k in kinds)
    assert float_convs == 1 and kinds.count("aten::linear") == 1
    assert sum(k.startswith("quantized::conv2d") for k in kinds) == 36 - 1   # all but conv1
    x = torch.rand(5, 3, 32, 32)
    assert int8.probabilities(x).shape == fp32.probabilities(x).shape == (5, 8)
    report = capsys.readouterr().out
    for name in ("ferplus", "taiwanese", "expw", "sfew", "affectnet_contempt"):
        assert name in report
    assert "same answer" in report


def test_an_int8_file_is_not_quantised_again(tmp_path, float_file):
    out = run(tmp_path, float_file)
    with pytest.raises(SystemExit, match="already an int8 file"):
        run(tmp_path / "again", out)
