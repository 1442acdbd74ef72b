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

from training.augment import VIEWS, normalize, view_batch
from training.resnet import resnet34


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
    net = resnet34(num_classes=8).to(memory_format=torch.channels_last)
    net.load_state_dict(ckpt["weights"])
    logits = view_logits(net, images, ckpt["args"]["input_size"], ckpt["mean"], ckpt["std"])
    return logits.softmax(1)
