import pytest
import torch

from tests.training.conftest import make_ferplus
from training.augment import resize_batch, view_batch
from training.distill import OnlineTeacher, teacher_probabilities
from training.train import get_args_parser, main


def faces(n: int = 4) -> torch.Tensor:
    return torch.randint(0, 256, (n, 48, 48), generator=torch.Generator().manual_seed(0),
                         dtype=torch.uint8)


def test_the_plain_view_is_the_plain_resize():
    x = faces()
    assert torch.allclose(view_batch(x, 64), resize_batch(x, 64), atol=1e-5)


def test_the_mirrored_view_is_the_mirror_image():
    x = faces()
    assert torch.allclose(view_batch(x, 64, mirror=True), view_batch(x.flip(-1), 64), atol=1e-5)


def test_the_zoomed_view_leaves_out_the_edge():
    x = torch.zeros(1, 48, 48, dtype=torch.uint8)
    x[:, 0], x[:, -1], x[:, :, 0], x[:, :, -1] = 255, 255, 255, 255  # a white frame
    plain, zoomed = view_batch(x, 64), view_batch(x, 64, zoom=1.1)
    assert plain[..., 0, 0].item() == 1.0
    assert zoomed[..., 0, 0].item() < 0.5


def test_a_run_with_a_teacher(tmp_path, capsys):
    data = make_ferplus(tmp_path / "ferplus", per_split=24)
    common = ["--data", str(data), "--cache-dir", str(tmp_path / "cache"), "--input-size", "32",
              "--batch-size", "8", "--epochs", "1", "--threads", "2"]
    main(get_args_parser().parse_args(common + ["--output-dir", str(tmp_path / "a")]))
    teacher = tmp_path / "a" / "best.pth"
    images = faces(6)
    probs = teacher_probabilities(str(teacher), images)
    assert probs.shape == (6, 8)
    assert torch.allclose(probs.sum(1), torch.ones(6))
    # The views come in mirror pairs, so the teacher cannot tell a face from its mirror.
    assert torch.allclose(probs, teacher_probabilities(str(teacher), images.flip(-1)), atol=1e-5)

    main(get_args_parser().parse_args(common + ["--output-dir", str(tmp_path / "b"),
                                                "--teacher", str(teacher),
                                                "--weights", str(teacher)]))
    assert "teacher" in capsys.readouterr().out
    ckpt = torch.load(tmp_path / "b" / "checkpoint.pth", weights_only=False)
    assert ckpt["args"]["teacher"] == str(teacher) and ckpt["args"]["teacher_weight"] == 0.5


SHIFTS = "prior=0.25,Contempt=-0.7,Anger=0.4"


def test_a_model_file_teaches_as_the_checkpoint_it_was_exported_from(tmp_path, capsys):
    from training import export

    data = make_ferplus(tmp_path / "ferplus", per_split=24)
    common = ["--data", str(data), "--cache-dir", str(tmp_path / "cache"), "--input-size", "32",
              "--batch-size", "8", "--epochs", "1", "--threads", "2", "--logit-adjust", "0.5"]
    main(get_args_parser().parse_args(common + ["--output-dir", str(tmp_path / "a")]))
    ckpt_path = tmp_path / "a" / "best.pth"
    served = export.main(export.get_args_parser().parse_args([
        "--checkpoint", str(ckpt_path), "--output", str(tmp_path / "m.pt"), "--version", "t",
        "--prior-shift", "0.25", "--contempt-offset", "-0.7", "--class-offset", "Anger=0.4"]))
    prior = torch.load(ckpt_path, weights_only=False)["prior"]
    x = faces(6).unsqueeze(1).float() / 255

    def answer(spec: str, **kw) -> torch.Tensor:
        return OnlineTeacher(spec, 0.5, amp=False, prior=prior, tau=0.5, **kw).probabilities(x)

    # The file's export shifts taken back out, it answers as its checkpoint under the
    # training prior (the file stores its weights in fp16).
    own = answer(str(ckpt_path))
    assert torch.allclose(answer(str(served), file_shift=SHIFTS), own, atol=2e-3)
    assert not torch.allclose(answer(str(served)), own, atol=2e-3)
    # Two networks teach as the average of their log-probabilities, by their shares.
    both = f"{ckpt_path},{served}"
    assert torch.allclose(answer(both, shares=[1.0, 0.0], file_shift=SHIFTS), own, atol=1e-6)
    mid = answer(both, shares=[1.0, 1.0])
    expected = (0.5 * own.log() + 0.5 * answer(str(served)).log()).softmax(1)
    assert torch.allclose(mid, expected, atol=1e-5)
    with pytest.raises(SystemExit, match="one per --teacher path"):
        answer(both, shares=[1.0])
    with pytest.raises(SystemExit, match="CLASS one of Neutral"):
        answer(str(served), file_shift="Joy=1")

    main(get_args_parser().parse_args(common + [
        "--output-dir", str(tmp_path / "b"), "--weights", str(served), "--teacher", both,
        "--teacher-mode", "online", "--teacher-file-shift", SHIFTS]))
    assert f"teacher {both} answers every batch at 32 px" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="--teacher-mode online"):
        main(get_args_parser().parse_args(common + [
            "--output-dir", str(tmp_path / "c"), "--teacher", both]))


def test_a_model_file_turns_back_into_its_checkpoint(tmp_path, capsys):
    from training import export, file_checkpoint

    data = make_ferplus(tmp_path / "ferplus", per_split=24)
    main(get_args_parser().parse_args([
        "--data", str(data), "--cache-dir", str(tmp_path / "cache"), "--input-size", "32",
        "--batch-size", "8", "--epochs", "1", "--threads", "2", "--logit-adjust", "0.5",
        "--output-dir", str(tmp_path / "a")]))
    ckpt_path = tmp_path / "a" / "best.pth"
    served = export.main(export.get_args_parser().parse_args([
        "--checkpoint", str(ckpt_path), "--output", str(tmp_path / "m.pt"), "--version", "t",
        "--prior-shift", "0.25", "--contempt-offset", "-0.7", "--class-offset", "Anger=0.4"]))
    back = file_checkpoint.main(file_checkpoint.get_args_parser().parse_args([
        str(served), "--shift", SHIFTS, "--like", str(ckpt_path),
        "--output", str(tmp_path / "back.pth")]))
    original = torch.load(ckpt_path, weights_only=False)
    # The same network as trained (the file keeps fp16 weights), and the same figure.
    assert torch.allclose(back["weights"]["fc.bias"], original["weights"]["fc.bias"],
                          atol=2e-3)
    assert abs(back["best"]["acc"] - original["best"]["acc"]) <= 1 / 24 + 1e-6
    assert "t, shifts taken out: FER2013Valid accuracy" in capsys.readouterr().out
    assert torch.load(tmp_path / "back.pth", weights_only=False)["args"]["weights"] == str(served)
