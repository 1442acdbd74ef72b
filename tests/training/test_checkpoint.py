import pytest
import torch

from function.model import LABELS
from training.checkpoint import Checkpoint, load_checkpoint, predict, save_checkpoint
from training.resnet import resnet34

# The keys train.py has always written (best.pth adds "weights"); the runs of the model card
# hold checkpoints of this format.
KEYS = {"args", "mean", "std", "prior", "epoch", "step", "model", "ema", "optimizer",
        "generator", "best"}


def _state(net: torch.nn.Module) -> dict:
    return {"args": {"input_size": 32, "data": "ferplus", "mix": "ferplus=1"},
            "mean": 0.5, "std": 0.25, "epoch": 3, "step": 40, "model": net.state_dict(),
            "ema": None, "optimizer": {}, "generator": torch.Generator().get_state(),
            "best": {"acc": 0.8, "epoch": 2, "which": "model"}}


def test_a_checkpoint_of_an_earlier_train_py_still_loads(tmp_path):
    # Written as train.py wrote them before it stored the mix's prior: a plain dict.
    net, chosen = resnet34(), resnet34()
    torch.save({**_state(net), "weights": chosen.state_dict()}, tmp_path / "best.pth")
    ckpt = load_checkpoint(tmp_path / "best.pth")
    assert (ckpt.input_size, ckpt.mean, ckpt.std, ckpt.epoch) == (32, 0.5, 0.25, 3)
    assert ckpt.prior is None and ckpt.valid_names() == ["ferplus"]
    # The network is the chosen weights, not the last epoch's.
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(ckpt.network()(x), chosen.eval()(x))
        assert not torch.equal(ckpt.network()(x), net.eval()(x))


def test_what_is_saved_is_the_format_on_disk(tmp_path):
    net = resnet34()
    prior = torch.full((len(LABELS),), 1 / len(LABELS))
    ckpt = Checkpoint(**_state(net), prior=prior)
    raw = torch.load(save_checkpoint(ckpt, tmp_path / "checkpoint.pth"), weights_only=False)
    assert set(raw) == KEYS and torch.equal(raw["prior"], prior)
    with_weights = Checkpoint(**_state(net), prior=prior, weights=net.state_dict())
    raw = torch.load(save_checkpoint(with_weights, tmp_path / "best.pth"), weights_only=False)
    assert set(raw) == KEYS | {"weights"}
    assert not list(tmp_path.glob("*.tmp"))
    back = load_checkpoint(tmp_path / "best.pth")
    assert torch.equal(back.class_prior(), prior) and back.best == ckpt.best


def test_other_files_are_refused_by_name(tmp_path):
    torch.save({"state_dict": {}}, tmp_path / "other.pth")
    with pytest.raises(ValueError, match="not a training.train checkpoint.*args"):
        load_checkpoint(tmp_path / "other.pth")
    with pytest.raises(FileNotFoundError, match="missing.pth"):
        load_checkpoint(tmp_path / "missing.pth")


def test_predict_resizes_the_faces_and_keeps_their_order():
    net = resnet34()
    faces = torch.randint(0, 255, (5, 48, 48), dtype=torch.uint8)
    logits = predict(net, faces, 32, 0.5, 0.25, batch=2)
    assert logits.shape == (5, len(LABELS)) and logits.dtype == torch.float32
    assert torch.allclose(logits[3:4], predict(net, faces[3:4], 32, 0.5, 0.25), atol=1e-5)
    assert predict(net, faces[:0], 32, 0.5, 0.25).shape == (0, len(LABELS))
