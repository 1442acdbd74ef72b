import torch

from function.model import LABELS, load_model
from tests.training.conftest import make_ferplus
from training import export, train
from training.checkpoint import load_checkpoint
from training.metrics import expected_calibration_error


def test_export_round_trip_is_self_describing_and_matches_eager(tmp_path):
    data = make_ferplus(tmp_path / "ferplus", per_split=24)
    run = tmp_path / "run"
    train.main(train.get_args_parser().parse_args([
        "--data", str(data), "--output-dir", str(run), "--cache-dir", str(tmp_path / "c"),
        "--input-size", "32", "--batch-size", "8", "--epochs", "1", "--threads", "2"]))
    out = export.main(export.get_args_parser().parse_args([
        "--checkpoint", str(run / "best.pth"), "--output", str(tmp_path / "m.pt"),
        "--version", "test"]))

    model = load_model(out, precision="fp32")  # needs nothing from training/
    assert model.info.labels == LABELS
    assert model.info.input_size == 32 and model.info.id == "emotion-resnet34@test"
    assert model.info.temperature > 0

    net = load_checkpoint(run / "best.pth").network()
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(model.module(x), net(x), atol=5e-2)

    def views(n: int):
        return load_model(export.main(export.get_args_parser().parse_args([
            "--checkpoint", str(run / "best.pth"), "--output", str(tmp_path / f"v{n}.pt"),
            "--version", "test", "--views", str(n)])), precision="fp32").module

    with torch.no_grad():
        two, four = views(2), views(4)
        assert torch.allclose(two(x), (net(x) + net(torch.flip(x, dims=[3]))) / 2, atol=5e-2)
        # Four views: the two zoomed ones change the answer, and the mirrored pairs still
        # make the face and its mirror image rate the same.
        assert not torch.allclose(four(x), two(x), atol=1e-3)
        assert torch.allclose(four(x), four(torch.flip(x, dims=[3])), atol=1e-4)
        assert four(x).shape == (3, 8)
    assert model.info.views == 1 and load_model(tmp_path / "v4.pt").info.views == 4
    assert model.info.shifts == ()


def test_the_export_shifts_travel_in_the_file(tmp_path):
    data = make_ferplus(tmp_path / "ferplus", per_split=24)
    run = tmp_path / "run"
    train.main(train.get_args_parser().parse_args([
        "--data", str(data), "--output-dir", str(run), "--cache-dir", str(tmp_path / "c"),
        "--input-size", "32", "--batch-size", "8", "--epochs", "1", "--threads", "2"]))
    plain = load_model(export.main(export.get_args_parser().parse_args([
        "--checkpoint", str(run / "best.pth"), "--output", str(tmp_path / "p.pt"),
        "--version", "test"])), precision="fp32")
    out = export.main(export.get_args_parser().parse_args([
        "--checkpoint", str(run / "best.pth"), "--output", str(tmp_path / "s.pt"),
        "--version", "test", "--prior-shift", "0.25", "--contempt-offset", "-0.7",
        "--class-offset", "Anger=0.4"]))
    model = load_model(out, precision="fp32")
    assert dict(model.info.shifts) == {"prior": 0.25, "Contempt": -0.7, "Anger": 0.4}
    # What the file says it added is what its logits moved by, on the classes named.
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        moved = model.module(x) - plain.module(x)
    expected = 0.25 * load_checkpoint(run / "best.pth").class_prior().log()
    expected[LABELS.index("Contempt")] -= 0.7
    expected[LABELS.index("Anger")] += 0.4
    assert torch.allclose(moved, expected.expand(2, 8), atol=5e-2)


def test_temperature_fit_recovers_a_known_scale():
    torch.manual_seed(0)
    true = torch.randn(4000, 8) * 2
    labels = torch.distributions.Categorical(logits=true).sample()
    t = export.fit_temperature(true * 3, labels)   # logits 3x too confident
    assert abs(t - 3) < 0.3
    ece_raw = expected_calibration_error((true * 3).softmax(1), labels)
    ece_fit = expected_calibration_error((true * 3 / t).softmax(1), labels)
    assert ece_fit < ece_raw


def test_contempt_offset_is_the_smallest_cut_that_meets_the_cap():
    from training.export import contempt_offset

    labels = torch.zeros(100, dtype=torch.long)             # 100 neutral faces
    logits = torch.zeros(100, 8)
    logits[:, 0] = 1.0
    logits[:20, 7] = torch.linspace(1.05, 2.0, 20)          # 20 of them called Contempt
    offset = contempt_offset({"s": (logits, labels)}, cap=0.05)
    assert offset < 0
    called = ((logits + offset * torch.eye(8)[7]).argmax(1) == 7).float().mean()
    assert called <= 0.05
    # One step less would not have met the cap: the cut is no deeper than it must be.
    assert ((logits + (offset + 0.05) * torch.eye(8)[7]).argmax(1) == 7).float().mean() > 0.05
    assert contempt_offset({"s": (logits, labels)}, cap=0.5) == 0.0
