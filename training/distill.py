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

from training.augment import VIEWS, normalize, view_batch
from training.facenet import FaceNet
from training.resnet import resnet34


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


class OnlineTeacher:
    """A teacher that answers on every training batch, on the very view the student sees
    (augmented, degraded): consistent targets, where answers fixed per stored face would
    disagree with what augmentation did to it (Beyer et al., CVPR 2022, "Knowledge
    distillation: a good teacher is patient and consistent").

    The teacher's answer is taken under its training prior (its plain logits plus its own
    logit adjustment), the distribution a student trained with the same adjustment is
    asked to match; blending it with the labels then mixes two estimates of one thing."""

    def __init__(self, checkpoint: str, weight: float, device: str = "cpu",
                 amp: bool = True) -> None:
        ckpt = torch.load(checkpoint, map_location="cpu", weights_only=False)
        self.net = checkpoint_network(ckpt).to(device)
        self.net.requires_grad_(False)
        self.size = int(ckpt["args"]["input_size"])
        self.mean, self.std = ckpt["mean"], ckpt["std"]
        tau = float(ckpt["args"].get("logit_adjust", 0.0))
        prior = ckpt.get("prior")
        self.log_prior = tau * prior.log().to(device) if tau and prior is not None else None
        self.weight, self.device, self.amp = weight, device, amp

    @torch.no_grad()
    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """The teacher's probabilities for float (N, 1, S, S) faces in [0, 1]."""
        if x.shape[-1] != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear",
                              align_corners=False, antialias=True)
        x = normalize(x, self.mean, self.std).to(self.device)
        with torch.autocast(device_type=self.device.split(":")[0], dtype=torch.bfloat16,
                            enabled=self.amp):
            logits = self.net(x).float()
        if self.log_prior is not None:
            logits = logits + self.log_prior
        return logits.softmax(1)

    def blend(self, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """``targets`` with the teacher's answers on ``x`` mixed in by ``weight``."""
        taught = self.probabilities(x).to(targets.device)
        return (1 - self.weight) * targets + self.weight * taught
