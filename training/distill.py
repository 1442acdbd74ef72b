"""Knowledge distillation from a test-time-augmented teacher (self-distillation).

A network's answers averaged over a few views of each face (the face, its mirror, and both
cropped 10% tighter) are more accurate than its answer on one view. Training a student on
those averaged answers, blended with the human vote distributions, moves part of that gain
into a single forward pass, so the API pays for one view, not four (Furlanello et al.,
2018, "Born-Again Neural Networks"; Hinton et al., 2015). Measured here with the 64 px
stage-2 network as its own teacher (runs/r34d, models/README.md): no gain over its start.
The option stays for a stronger teacher, e.g. a face-pretrained network trained on a GPU.

    python -m training.train --teacher runs/r34b/best.pth --weights runs/r34b/best.pth ...
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from function.model import LABELS, read_info
from training.augment import VIEWS, normalize, view_batch
from training.facenet import FaceNet
from training.resnet import from_model_file, resnet34


def checkpoint_network(ckpt: dict) -> torch.nn.Module:
    """The network of a train.py checkpoint, with its best weights, in eval mode."""
    arch = ckpt["args"].get("arch", "resnet34")
    net = FaceNet(num_classes=8) if arch == "facenet" else resnet34(num_classes=8)
    net.load_state_dict(ckpt["weights"])
    return net.to(memory_format=torch.channels_last).eval()


@torch.no_grad()
def view_logits(net: torch.nn.Module, images: torch.Tensor, size: int, mean: float, std: float,
                views: tuple[tuple[float, bool], ...] = VIEWS, batch: int = 512) -> torch.Tensor:
    """Logits averaged over ``views`` for uint8 (N, H, W) faces."""
    net.eval()
    out = []
    for i in range(0, len(images), batch):
        chunk = images[i:i + batch]
        out.append(torch.stack([net(normalize(view_batch(chunk, size, z, m), mean, std)).float()
                                for z, m in views]).mean(0))
    return torch.cat(out) if out else torch.zeros(0, 8)


def teacher_probabilities(checkpoint: str, images: torch.Tensor) -> torch.Tensor:
    """Softmax of a train.py checkpoint's best weights, averaged over ``VIEWS``."""
    ckpt = torch.load(checkpoint, map_location="cpu", weights_only=False)
    net = checkpoint_network(ckpt)
    logits = view_logits(net, images, ckpt["args"]["input_size"], ckpt["mean"], ckpt["std"])
    return logits.softmax(1)


def teacher_size(path: str) -> int:
    """The input size a teacher (a train.py checkpoint or a model file) answers at."""
    path = path.strip()
    if path.endswith(".pth"):
        return int(torch.load(path, map_location="cpu", weights_only=False)["args"]
                   ["input_size"])
    return read_info(path).input_size


class Member:
    """One network of a teacher: its input, and the constant that puts its logits under
    the training prior (a checkpoint's own logit adjustment; for a model file, its export
    shifts taken back out and the student's adjustment added)."""

    def __init__(self, net: torch.nn.Module, size: int, mean: float, std: float,
                 shift: torch.Tensor | None) -> None:
        self.net, self.size, self.mean, self.std, self.shift = net, size, mean, std, shift


def export_shift(text: str, prior: torch.Tensor | None) -> torch.Tensor:
    """What a model file's export added to every face's logits (into ``fc.bias``), from
    ``"prior=0.25,Contempt=-0.7,Anger=0.4"``: its ``--prior-shift`` times the log of the
    training ``prior``, and its ``--contempt-offset`` and ``--class-offset`` values."""
    out = torch.zeros(len(LABELS))
    for item in filter(None, (t.strip() for t in text.split(","))):
        name, _, value = item.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = None
        if number is None or (name != "prior" and name not in LABELS):
            raise SystemExit(f"--teacher-file-shift: {item!r}: expected prior=VALUE or "
                             f"CLASS=VALUE with CLASS one of {', '.join(LABELS)}")
        if name != "prior":
            out[LABELS.index(name)] += number
        elif prior is None:
            raise SystemExit("--teacher-file-shift: a prior share needs the training prior")
        else:
            out += number * prior.log()
    return out


def load_member(path: str, device: str, prior: torch.Tensor | None, tau: float,
                file_shift: str = "") -> Member:
    """A train.py checkpoint (its best weights) or a model file, as a teacher member.
    ``prior`` and ``tau`` are the student's training mix prior and logit adjustment: a
    model file holds neither its own prior nor its export shifts, so the shifts are given
    (``file_shift``) and the student's prior stands for the file's training one."""
    if path.endswith(".pth"):
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
        net = checkpoint_network(ckpt)
        t = float(ckpt["args"].get("logit_adjust", 0.0))
        p = ckpt.get("prior")
        shift = t * p.log() if t and p is not None else None
        size, mean, std = int(ckpt["args"]["input_size"]), ckpt["mean"], ckpt["std"]
    else:
        info, net = read_info(path), from_model_file(path)
        if net is None:
            raise SystemExit(f"--teacher {path}: holds no plain ResNet-34 (an int8 copy or a "
                             "view average cannot teach)")
        net = net.to(memory_format=torch.channels_last)
        # What export added to fc.bias taken back out, the student's adjustment put in.
        shift = -export_shift(file_shift, prior)
        if prior is not None:
            shift = shift + tau * prior.log()
        size, mean, std = info.input_size, info.mean[0], info.std[0]
    net = net.to(device)
    net.requires_grad_(False)
    return Member(net, size, mean, std, shift.to(device) if shift is not None else None)


class OnlineTeacher:
    """A teacher that answers on every training batch, on the very view the student sees
    (augmented, degraded): consistent targets, where answers fixed per stored face would
    disagree with what augmentation did to it (Beyer et al., CVPR 2022, "Knowledge
    distillation: a good teacher is patient and consistent").

    The teacher's answer is taken under its training prior (its plain logits plus its own
    logit adjustment), the distribution a student trained with the same adjustment is
    asked to match; blending it with the labels then mixes two estimates of one thing.

    Several networks (comma-separated paths) teach as one: their log-probabilities averaged
    with ``shares``, as ``training.ensemble`` measures them."""

    def __init__(self, checkpoint: str, weight: float, device: str = "cpu",
                 amp: bool = True, shares: list[float] | None = None,
                 prior: torch.Tensor | None = None, tau: float = 0.0,
                 file_shift: str = "") -> None:
        paths = [t.strip() for t in checkpoint.split(",") if t.strip()]
        shares = shares or [1.0 / len(paths)] * len(paths)
        if len(shares) != len(paths) or min(shares) < 0 or not sum(shares):
            raise SystemExit(f"--teacher-shares: {len(paths)} non-negative shares expected, "
                             f"one per --teacher path, got {shares}")
        self.members = [load_member(t, device, prior, tau, file_shift) for t in paths]
        self.shares = [s / sum(shares) for s in shares]
        self.size = max(m.size for m in self.members)
        self.weight, self.device, self.amp = weight, device, amp

    @torch.no_grad()
    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """The teacher's probabilities for float (N, 1, S, S) faces in [0, 1]."""
        total = 0.0
        for m, share in zip(self.members, self.shares, strict=True):
            view = x if x.shape[-1] == m.size else F.interpolate(
                x, size=(m.size, m.size), mode="bilinear", align_corners=False,
                antialias=True)
            view = normalize(view, m.mean, m.std).to(self.device)
            with torch.autocast(device_type=self.device.split(":")[0], dtype=torch.bfloat16,
                                enabled=self.amp):
                logits = m.net(view).float()
            if m.shift is not None:
                logits = logits + m.shift
            total = total + share * logits.log_softmax(1)
        return total.softmax(1)

    def blend(self, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """``targets`` with the teacher's answers on ``x`` mixed in by ``weight``."""
        taught = self.probabilities(x).to(targets.device)
        return (1 - self.weight) * targets + self.weight * taught
