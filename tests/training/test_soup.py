import torch

from tests.training.conftest import make_ferplus
from training import export, soup, train


def test_average_is_the_mean_of_weights_and_keeps_counters():
    a = {"w": torch.tensor([1.0, 3.0]), "n": torch.tensor(5)}
    b = {"w": torch.tensor([3.0, 5.0]), "n": torch.tensor(9)}
    out = soup.average([a, b])
    assert torch.equal(out["w"], torch.tensor([2.0, 4.0])) and int(out["n"]) == 5


def test_a_soup_of_two_runs_is_a_checkpoint_export_takes(tmp_path):
    data = make_ferplus(tmp_path / "ferplus", per_split=24)
    run = tmp_path / "run"
    train.main(train.get_args_parser().parse_args([
        "--data", str(data), "--output-dir", str(run), "--cache-dir", str(tmp_path / "c"),
        "--input-size", "32", "--batch-size", "8", "--epochs", "3", "--threads", "2",
        "--keep-last", "2"]))
    runs = sorted(run.glob("epoch-*.pth"))
    assert [r.name for r in runs] == ["epoch-02.pth", "epoch-03.pth"]
    acc = soup.main(soup.get_args_parser().parse_args(
        [*map(str, runs), "--output", str(tmp_path / "soup.pth"), "--cache-dir",
         str(tmp_path / "c"), "--bn-images", "16"]))
    assert 0.0 <= acc <= 1.0
    made = torch.load(tmp_path / "soup.pth", weights_only=False)
    ema = [torch.load(r, weights_only=False)["ema"] for r in runs]
    for name in ("conv1.weight", "layer2.0.conv1.weight", "fc.bias"):
        assert torch.allclose(made["weights"][name], (ema[0][name] + ema[1][name]) / 2)
    # Batch-norm statistics were estimated again, not averaged.
    averaged = (ema[0]["bn1.running_mean"] + ema[1]["bn1.running_mean"]) / 2
    assert not torch.allclose(made["weights"]["bn1.running_mean"], averaged)
    out = export.main(export.get_args_parser().parse_args([
        "--checkpoint", str(tmp_path / "soup.pth"), "--output", str(tmp_path / "m.pt"),
        "--version", "soup"]))
    assert out.is_file()


def test_a_soup_of_a_mix_run_is_scored_on_every_valid_split(tmp_path, capsys):
    from tests.training.sets import make_set

    data = make_ferplus(tmp_path / "ferplus", per_split=24)
    make_set(tmp_path, "expw", {"train": ["Anger", "Fear", "Happiness"] * 4,
                                "valid": ["Anger", "Fear"]})
    run = tmp_path / "run"
    train.main(train.get_args_parser().parse_args([
        "--data", str(data), "--sets-root", str(tmp_path), "--output-dir", str(run),
        "--cache-dir", str(tmp_path / "c"), "--input-size", "32", "--batch-size", "8",
        "--epoch-size", "16", "--epochs", "2", "--threads", "2", "--keep-last", "2",
        "--mix", "ferplus=0.5,expw=0.5", "--ema-decay", "0"]))
    runs = sorted(run.glob("epoch-*.pth"))
    score = soup.main(soup.get_args_parser().parse_args(
        [*map(str, runs), "--output", str(tmp_path / "soup.pth"), "--cache-dir",
         str(tmp_path / "c"), "--which", "model", "--bn-images", "16"]))
    assert "mean UAR over the valid splits" in capsys.readouterr().out
    assert 0.0 <= score <= 1.0
    made = torch.load(tmp_path / "soup.pth", weights_only=False)
    first = torch.load(runs[0], weights_only=False)
    assert torch.equal(made["prior"], first["prior"])
    assert made["args"]["mix"] == "ferplus=0.5,expw=0.5"
