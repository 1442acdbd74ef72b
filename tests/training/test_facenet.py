from pathlib import Path

import numpy as np
import pytest
import torch

from tests.training.conftest import make_ferplus
from training.distill import OnlineTeacher, teacher_probabilities
from training.facenet import DLIB_MEAN_RGB, DLIB_SCALE, FaceNet, add_prev, calibrate_batchnorm
from training.ferplus import majority_faces
from training.resnet import resnet34
from training.train import get_args_parser, main

# The pretrained network lives beside the project (CI has it), never inside it.
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "models" / "face_resnet29"
WEIGHTS = SHARED / "weights.npz"


@pytest.fixture(scope="module")
def reference() -> dict:
    return dict(np.load(SHARED / "reference.npz"))


def dlib_input(rgb_chw_uint8: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(rgb_chw_uint8).float()
    return ((x - torch.tensor(DLIB_MEAN_RGB).view(3, 1, 1)) / DLIB_SCALE)[None]


def test_the_network_gives_dlibs_own_descriptor(reference):
    net = FaceNet.from_dlib(WEIGHTS, grey=False).eval()
    with torch.no_grad():
        got = net.descriptor(dlib_input(reference["image_chw_rgb_uint8"]))[0]
    want = torch.from_numpy(reference["descriptor_dlib"])
    assert (got - want).abs().max().item() < 1e-5


def test_grey_input_is_exactly_the_grey_picture_on_three_channels(reference):
    grey = reference["image_chw_rgb_uint8"].mean(0).round().astype(np.uint8)
    three = FaceNet.from_dlib(WEIGHTS, grey=False).eval()
    one = FaceNet.from_dlib(WEIGHTS, grey=True).eval()
    assert one.stem.conv.weight.shape[1] == 1
    with torch.no_grad():
        want = three.descriptor(dlib_input(np.stack([grey] * 3)))
        got = one.descriptor(torch.from_numpy(grey).float()[None, None])
    assert (got - want).abs().max().item() < 1e-5


def test_the_pipelines_normalisation_is_folded_into_the_stem(reference):
    grey = reference["image_chw_rgb_uint8"].mean(0).round().astype(np.uint8)
    mean, std = 0.507, 0.2542
    raw = FaceNet.from_dlib(WEIGHTS, grey=True).eval()
    piped = FaceNet.from_dlib(WEIGHTS, grey=True, mean=mean, std=std).eval()
    g = torch.from_numpy(grey).float()[None, None]
    with torch.no_grad():
        want = raw.descriptor(g)
        # The training pipeline repeats grey on three channels; the network reads one.
        got = piped.descriptor(((g / 255 - mean) / std).expand(-1, 3, -1, -1))
    assert (got - want).abs().max().item() < 1e-5


def test_calibrating_the_batch_norms_keeps_the_function_and_sets_the_statistics():
    net = FaceNet.from_dlib(WEIGHTS, grey=True, mean=0.5, std=0.25).eval()
    x = torch.randn(8, 1, 112, 112, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        before = net.descriptor(x)
    calibrate_batchnorm(net, x)
    with torch.no_grad():
        after = net.descriptor(x)
        stem_in = net.stem.conv(x)
    assert (after - before).abs().max().item() < 1e-4
    assert torch.allclose(net.stem.bn.running_mean, stem_in.mean((0, 2, 3)), atol=1e-4)
    # In training mode, on the batch it was calibrated on, the network is (nearly) the same.
    net.train()
    with torch.no_grad():
        assert (net.descriptor(x) - before).abs().max().item() < 1e-3


def test_add_prev_pads_the_smaller_tensor_at_the_top_left():
    a = torch.ones(1, 2, 3, 3)
    b = torch.full((1, 1, 4, 4), 10.0)
    out = add_prev(a, b)
    assert out.shape == (1, 2, 4, 4)
    assert out[0, 0, 0, 0] == 11 and out[0, 0, 3, 3] == 10 and out[0, 1, 0, 0] == 1
    assert out[0, 1, 3, 3] == 0


def test_inputs_from_112_px_give_eight_logits():
    net = FaceNet(num_classes=8).eval()
    for size in (112, 150):
        assert net(torch.zeros(2, 3, size, size)).shape == (2, 8)


def test_the_teacher_refuses_an_input_its_last_stage_has_no_room_for(tmp_path):
    data = make_ferplus(tmp_path / "ferplus", per_split=9)
    args = get_args_parser().parse_args([
        "--data", str(data), "--cache-dir", str(tmp_path / "cache"), "--arch", "facenet",
        "--pretrained", str(WEIGHTS), "--input-size", "96", "--output-dir", str(tmp_path / "t")])
    with pytest.raises(SystemExit, match="112"):
        main(args)


def test_a_teacher_and_a_student_taught_by_it_online(tmp_path, capsys):
    data = make_ferplus(tmp_path / "ferplus", per_split=24)
    common = ["--data", str(data), "--cache-dir", str(tmp_path / "cache"), "--batch-size", "8",
              "--epochs", "1", "--threads", "2", "--logit-adjust", "0.5"]
    main(get_args_parser().parse_args(common + [
        "--arch", "facenet", "--pretrained", str(WEIGHTS), "--input-size", "112",
        "--head-lr-mult", "10", "--output-dir", str(tmp_path / "teacher")]))
    teacher = tmp_path / "teacher" / "best.pth"
    ckpt = torch.load(teacher, weights_only=False)
    assert ckpt["args"]["arch"] == "facenet"

    faces = torch.randint(0, 256, (5, 48, 48), dtype=torch.uint8,
                          generator=torch.Generator().manual_seed(1))
    probs = teacher_probabilities(str(teacher), faces)
    assert probs.shape == (5, 8) and torch.allclose(probs.sum(1), torch.ones(5))
    online = OnlineTeacher(str(teacher), weight=0.7)
    assert online.size == 112
    x = faces.unsqueeze(1).float() / 255
    taught = online.probabilities(x)
    assert taught.shape == (5, 8) and torch.allclose(taught.sum(1), torch.ones(5), atol=1e-5)
    labels = torch.eye(8)[:5]
    assert torch.allclose(online.blend(x, labels), 0.3 * labels + 0.7 * taught)

    main(get_args_parser().parse_args(common + [
        "--input-size", "48", "--teacher", str(teacher), "--teacher-mode", "online",
        "--teacher-weight", "0.7", "--output-dir", str(tmp_path / "student")]))
    assert "answers every batch at 112 px" in capsys.readouterr().out
    student = torch.load(tmp_path / "student" / "best.pth", weights_only=False)
    assert student["args"]["teacher_mode"] == "online"
    # The student is the served network: its weights load into a ResNet-34 of
    # torchvision's names and shapes.
    resnet34(num_classes=8).load_state_dict(student["weights"])


def test_the_average_of_a_model_file_and_a_teacher_spans_both(tmp_path, capsys):
    from training import ensemble, export

    data = make_ferplus(tmp_path / "ferplus", per_split=24)
    common = ["--data", str(data), "--cache-dir", str(tmp_path / "cache"), "--batch-size", "8",
              "--epochs", "1", "--threads", "2"]
    main(get_args_parser().parse_args(common + ["--input-size", "32",
                                                "--output-dir", str(tmp_path / "r")]))
    served = export.main(export.get_args_parser().parse_args([
        "--checkpoint", str(tmp_path / "r" / "best.pth"), "--output", str(tmp_path / "m.pt"),
        "--version", "test"]))
    main(get_args_parser().parse_args(common + [
        "--arch", "facenet", "--pretrained", str(WEIGHTS), "--input-size", "112",
        "--output-dir", str(tmp_path / "t")]))
    rows = ensemble.main(ensemble.get_args_parser().parse_args([
        "--model", str(served), "--checkpoint", str(tmp_path / "t" / "best.pth"),
        "--data", str(data), "--cache-dir", str(tmp_path / "cache"), "--sets", "ferplus",
        "--weights", "0", "1"]))
    # Each end of the average is one network alone, as the run's own validation saw it.
    teacher = torch.load(tmp_path / "t" / "best.pth", weights_only=False)
    assert [r["w"] for r in rows] == [0.0, 1.0]
    alone = rows[1]["valid"]["ferplus"]
    # (validation ran in bf16, this in fp32: one face may differ)
    assert abs(alone["accuracy"] - teacher["best"]["acc"]) <= 1 / alone["n"] + 1e-6
    assert rows[0]["valid"]["ferplus"]["n"] == alone["n"]
    assert "mean UAR" in capsys.readouterr().out
    # --test reads FER2013Test alone, every other set left out.
    test = ensemble.main(ensemble.get_args_parser().parse_args([
        "--model", str(served), "--checkpoint", str(tmp_path / "t" / "best.pth"),
        "--data", str(data), "--cache-dir", str(tmp_path / "cache"), "--weights", "1",
        "--test"]))
    faces, _ = majority_faces(data / "FER2013Test", tmp_path / "cache")
    assert list(test[0]["valid"]) == ["ferplus"] and test[0]["valid"]["ferplus"]["n"] == len(faces)
    assert "ferplus is FER2013Test" in capsys.readouterr().out
