import json

import pytest
import torch

from function.model import LABELS, load_model
from tests.training.conftest import make_ferplus
from tests.training.sets import make_set
from training import export, operating_point
from training.augment import augment_batch, degrade_batch
from training.checkpoint import load_checkpoint
from training.metrics import CONTEMPT, metrics
from training.mix import Source, class_prior, draw_batch, parse_mix
from training.train import get_args_parser, main


def test_mix_shares_are_normalised_and_bad_names_list_the_valid_ones():
    assert parse_mix("ferplus=3,expw=1") == {"ferplus": 0.75, "expw": 0.25}
    with pytest.raises(ValueError, match="valid: ferplus, taiwanese, expw"):
        parse_mix("ferplus=1,affectnet=1")
    with pytest.raises(ValueError, match="number"):
        parse_mix("expw=lots")
    with pytest.raises(ValueError, match="positive"):
        parse_mix("expw=0")


def test_batches_follow_the_shares_and_the_prior_is_the_mix_of_targets():
    a = Source("ferplus", torch.zeros(10, 4, 4, dtype=torch.uint8),
               torch.eye(8)[torch.zeros(10, dtype=torch.long)])
    b = Source("affectnet_contempt", torch.zeros(3, 6, 6, dtype=torch.uint8),
               torch.eye(8)[torch.full((3,), 7)])
    mix = {"ferplus": 0.8, "affectnet_contempt": 0.2}
    g = torch.Generator().manual_seed(0)
    counts = {"ferplus": 0, "affectnet_contempt": 0}
    for _ in range(50):
        for src, idx in draw_batch([a, b], mix, 64, g):
            counts[src.name] += len(idx)
            assert int(idx.max()) < len(src.images)
    assert 0.17 < counts["affectnet_contempt"] / sum(counts.values()) < 0.23
    prior = class_prior([a, b], mix)
    assert prior[0] == pytest.approx(0.8, abs=1e-3) and prior[7] == pytest.approx(0.2, abs=1e-3)


def test_uar_counts_only_the_classes_a_set_holds_and_false_contempt_is_reported():
    labels = torch.tensor([0, 0, 4, 4])
    pred = torch.tensor([0, 7, 4, 4])           # one neutral face called Contempt
    m = metrics(torch.eye(8)[pred], labels)
    assert m["recall"] == {"Neutral": 0.5, "Anger": 1.0}
    assert m["uar"] == 0.75 and m["accuracy"] == 0.75
    assert m["false_contempt"] == 0.25
    only_contempt = metrics(torch.eye(8)[torch.tensor([7, 0])], torch.tensor([7, 7]))
    assert only_contempt["uar"] == 0.5 and only_contempt["false_contempt"] == 0.0


def test_webcam_degradations_keep_shape_and_range_and_can_be_turned_off():
    x = augment_batch(torch.randint(0, 255, (6, 48, 48), dtype=torch.uint8), 32)
    g = torch.Generator().manual_seed(0)
    y = degrade_batch(x, lowres_p=1, jpeg_p=1, light_p=1, mouth_p=1, generator=g)
    assert y.shape == x.shape and 0 <= y.min() and y.max() <= 1
    assert not torch.equal(x, y)
    # Low resolution takes the fine detail away: less energy between neighbouring pixels.
    low = degrade_batch(x, lowres_p=1, min_scale=0.3, jpeg_p=0, light_p=0, mouth_p=0)
    assert low.diff(dim=-1).abs().mean() < x.diff(dim=-1).abs().mean() * 0.8
    assert torch.equal(degrade_batch(x, lowres_p=0, jpeg_p=0, light_p=0, mouth_p=0), x)


def test_a_training_run_on_a_mix_validates_every_set(tmp_path, astronaut):
    ferplus = make_ferplus(tmp_path / "ferplus", per_split=24)
    make_set(tmp_path, "expw", {"train": ["Anger", "Disgust", "Fear", "Happiness"] * 3,
                                "valid": ["Anger", "Fear"]})
    head = astronaut.crop((120, 0, 420, 330)).resize((180, 198))
    make_set(tmp_path, "taiwanese", {"train": ["Anger", "Sadness"] * 2,
                                     "valid": ["Anger", "Neutral"]}, head=head)
    make_set(tmp_path, "affectnet_contempt", {"train": ["Contempt"] * 4,
                                              "valid": ["Contempt"] * 2})
    argv = ["--data", str(ferplus), "--sets-root", str(tmp_path), "--output-dir",
            str(tmp_path / "run"), "--cache-dir", str(tmp_path / "cache"), "--input-size", "32",
            "--batch-size", "8", "--epoch-size", "32", "--epochs", "1", "--threads", "2",
            "--mix", "ferplus=0.5,expw=0.2,taiwanese=0.2,affectnet_contempt=0.1",
            "--logit-adjust", "1", "--degrade"]
    best = main(get_args_parser().parse_args(argv))
    rec = json.loads((tmp_path / "run" / "log.jsonl").read_text().splitlines()[-1])
    assert set(rec["valid"]) == {"ferplus", "expw", "taiwanese", "affectnet_contempt"}
    assert set(rec["valid"]["affectnet_contempt"]["recall"]) == {"Contempt"}
    # The checkpoint is chosen by the mean UAR over the sets, not by FER+ accuracy.
    uars = [v["uar"] for v in rec["valid"].values()]
    assert best["acc"] == pytest.approx(sum(uars) / len(uars), abs=1e-3)
    ckpt = load_checkpoint(tmp_path / "run" / "best.pth")
    assert ckpt.args["mix"].startswith("ferplus=0.5") and ckpt.args["logit_adjust"] == 1
    assert len(LABELS) == ckpt.weights["fc.weight"].shape[0]

    # The mix's prior goes with the weights, and the export's two shifts (searched on the
    # valid splits by training.operating_point) end up in fc.bias, nowhere else.
    prior = ckpt.prior
    assert prior.sum().item() == pytest.approx(1.0, abs=1e-4) and prior[CONTEMPT] > 0
    point = operating_point.main(operating_point.get_args_parser().parse_args(
        ["--checkpoint", str(tmp_path / "run" / "best.pth"), "--cap", "1",
         "--shifts", "0,0.5", "--offsets", "0:-1:0.5"]))
    assert point["shift"] in (0, 0.5) and point["offset"] in (0, -0.5, -1)
    out = export.main(export.get_args_parser().parse_args(
        ["--checkpoint", str(tmp_path / "run" / "best.pth"), "--output",
         str(tmp_path / "m.pt"), "--version", "test", "--prior-shift", "0.5",
         "--contempt-offset", "-1.5", "--class-offset", "Anger=0.4"]))
    net = ckpt.network()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        want = (net(x) + 0.5 * prior.log() - 1.5 * torch.eye(8)[CONTEMPT]
                + 0.4 * torch.eye(8)[LABELS.index("Anger")])
        got = load_model(out, precision="fp32").module(x)
        assert torch.allclose(got, want, atol=5e-2)  # stored as fp16


def test_the_operating_point_is_the_best_mean_uar_within_the_cap_and_the_floor():
    # Two sets: "a" (FER+) has Neutral and Contempt faces, "b" only Neutral ones that a
    # strong Contempt logit steals. Without a cut, b's faces are called Contempt.
    labels_a = torch.tensor([0] * 8 + [7] * 2)
    logits_a = torch.zeros(10, 8)
    logits_a[:8, 0], logits_a[8:, 7] = 2.0, 3.0
    labels_b = torch.zeros(10, dtype=torch.long)
    logits_b = torch.zeros(10, 8)
    logits_b[:, 0], logits_b[:4, 7] = 1.0, 2.0
    per_set = {"ferplus": (logits_a, labels_a), "b": (logits_b, labels_b)}
    points = operating_point.grid(per_set, torch.full((8,), -2.0794), [0.0],
                                  [0.0, -0.5, -1.5, -4.0])
    chosen = operating_point.choose(points, cap=0.1, min_fer_accuracy=0.0)
    # -1.5 clears b's false Contempt and keeps a's contempt faces: the best within the cap.
    assert chosen["offset"] == -1.5 and chosen["worst_contempt"] <= 0.1
    assert chosen["sets"]["ferplus"]["uar"] == 1.0
    assert operating_point.choose(points, cap=0.0, min_fer_accuracy=1.01) is None


def test_a_recall_floor_picks_the_class_offset_that_meets_it_on_every_split():
    # 10 angry faces, 6 of them read as Neutral by a small margin, and 5 neutral faces
    # that the same raise of Anger would steal: the best mean UAR leaves Anger alone.
    labels = torch.tensor([4] * 10 + [0] * 5)
    logits = torch.zeros(15, 8)
    logits[:, 4] = 1.0
    logits[:6, 0] = logits[10:, 0] = 1.3
    per_set = {"real": (logits, labels)}
    points = operating_point.grid(per_set, torch.zeros(8), [0.0], [0.0], 4, (0.0, 0.2, 0.5))
    assert operating_point.choose(points, 1.0, 0.0)["extra"] == ("Anger", 0.0)
    chosen = operating_point.choose(points, 1.0, 0.0, ("Anger", 0.9))
    assert chosen["extra"] == ("Anger", 0.5) and chosen["sets"]["real"]["recall"]["Anger"] == 1
    assert operating_point.choose(points, 1.0, 0.0, ("Anger", 1.01)) is None
