"""dlib's face-recognition ResNet (``../shared/models/face_resnet29``) in torch, with an
eight-class expression head on its 256-d pooled features: the teacher's network.

Its lower and middle stages were learnt from ~3 million faces, far more than every
expression set here together, so it starts from features of faces rather than of noise
(``../shared/models/README.md`` gives the network exactly; the quirks below are dlib's).

- Convolutions have biases; a downsampling block's first convolution has stride 2 and
  padding 0, so a 96 px input leaves the last stage too small a map: 112 px and up.
- A downsampling block's shortcut is a 2x2 average pool, no projection, and the sum
  zero-pads the smaller tensor to the larger one's channels, height and width at the
  top-left (dlib's ``add_prev``).
- dlib's "affine" layers are batch norm folded at training time. They load as batch-norm
  layers whose running statistics make them the same affine map in eval mode
  (``calibrate_batchnorm`` then moves the statistics to the data's without changing the
  function), so fine-tuning can use batch statistics without breaking the network.
- Grey input is exact: with padding 0 in the stem, summing the stem's filters over the
  three channels and folding the channel means into its bias gives the same answers as
  the grey picture repeated on three channels (``FaceNet.from_dlib(..., grey=True)``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

WIDTHS = (32, 32, 32, 64, 64, 64, 64, 128, 128, 128, 256, 256, 256, 256)
DOWNSAMPLE = frozenset({3, 7, 10, 13})
FEATURES = 256
DESCRIPTOR = 128
MIN_INPUT = 112
DLIB_WEIGHTS = "../shared/models/face_resnet29/weights.npz"
# dlib's input: (pixel - mean) / 256 per channel, R, G, B.
DLIB_MEAN_RGB = (122.782, 117.001, 104.298)
DLIB_SCALE = 256.0
# The batch norms' epsilon: small enough that the loaded affine map is exact in float32.
EPS = 1e-5


def add_prev(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a + b, the smaller zero-padded to the larger's channels, height and width."""
    if a.shape == b.shape:
        return a + b
    c, h, w = (max(x, y) for x, y in zip(a.shape[1:], b.shape[1:], strict=True))

    def grow(t: torch.Tensor) -> torch.Tensor:
        return F.pad(t, (0, w - t.shape[3], 0, h - t.shape[2], 0, c - t.shape[1]))

    return grow(a) + grow(b)


class Block(nn.Module):
    def __init__(self, inplanes: int, planes: int, downsample: bool) -> None:
        super().__init__()
        stride, pad = (2, 0) if downsample else (1, 1)
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, pad)
        self.bn1 = nn.BatchNorm2d(planes, eps=EPS)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1)
        self.bn2 = nn.BatchNorm2d(planes, eps=EPS)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        shortcut = F.avg_pool2d(x, 2, 2) if self.downsample else x
        return F.relu(add_prev(out, shortcut))


class FaceNet(nn.Module):
    """The face network with an expression head. ``forward`` takes the training pipeline's
    input (grey normalised by the checkpoint's mean and std, on one channel or repeated on
    three) and returns logits; ``descriptor`` is dlib's own 128-d output."""

    def __init__(self, num_classes: int = 8, in_channels: int = 1) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.stem = nn.Sequential()
        self.stem.add_module("conv", nn.Conv2d(in_channels, 32, 7, 2, 0))
        self.stem.add_module("bn", nn.BatchNorm2d(32, eps=EPS))
        self.blocks = nn.Sequential(*(
            Block(WIDTHS[i - 1] if i else 32, w, i in DOWNSAMPLE) for i, w in enumerate(WIDTHS)))
        self.fc = nn.Linear(FEATURES, DESCRIPTOR, bias=False)  # dlib's descriptor
        self.head = nn.Linear(FEATURES, num_classes)
        self.fc.requires_grad_(False)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        if self.in_channels == 1 and x.shape[1] != 1:
            x = x[:, :1]  # the pipeline repeats grey on three channels
        x = F.max_pool2d(F.relu(self.stem.bn(self.stem.conv(x))), 3, 2)
        return self.blocks(x).mean((2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def descriptor(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))

    @classmethod
    def from_dlib(cls, path: str | Path = DLIB_WEIGHTS, num_classes: int = 8,
                  grey: bool = True, mean: float | None = None,
                  std: float | None = None) -> FaceNet:
        """The network with dlib's weights and a fresh head.

        ``grey``: one input channel, the stem's filters summed. With ``mean`` and ``std``
        the input is the pipeline's ``(pixel / 255 - mean) / std`` instead of dlib's
        ``(pixel - mean_rgb) / 256``: the conversion is folded into the stem, exactly."""
        w = {k: torch.from_numpy(np.asarray(v)) for k, v in np.load(path).items()}
        net = cls(num_classes, in_channels=1 if grey else 3)
        weight, bias = w["stem.conv.weight"].double(), w["stem.conv.bias"].double()
        means = torch.tensor(DLIB_MEAN_RGB, dtype=torch.float64)
        if mean is not None:
            # dlib sees (255 * (x * std + mean) - m_c) / 256 on each channel.
            scale, shift = 255 * std / DLIB_SCALE, (255 * mean - means) / DLIB_SCALE
        else:
            # dlib's own input on three channels; grey input is then the grey pixel's.
            scale, shift = 1.0, torch.zeros(3, dtype=torch.float64)
            if grey:
                scale, shift = 1 / DLIB_SCALE, -means / DLIB_SCALE
        if grey or mean is not None:
            # With padding 0 every output sees the whole kernel: the shift folds into bias.
            bias = bias + (weight * shift.view(1, 3, 1, 1)).sum((1, 2, 3))
            weight = weight * scale
            if grey:
                weight = weight.sum(1, keepdim=True)
        state = {"stem.conv.weight": weight.float(), "stem.conv.bias": bias.float(),
                 "fc.weight": w["fc.weight"]}
        _affine_as_bn(state, "stem.bn", w, "stem.affine")
        for i in range(len(WIDTHS)):
            for j in (1, 2):
                for part in ("weight", "bias"):
                    state[f"blocks.{i}.conv{j}.{part}"] = w[f"blocks.{i}.conv{j}.{part}"]
                _affine_as_bn(state, f"blocks.{i}.bn{j}", w, f"blocks.{i}.affine{j}")
        missing, unexpected = net.load_state_dict(state, strict=False)
        assert not unexpected and all(k.startswith("head.") or k.endswith("num_batches_tracked")
                                      for k in missing), (missing, unexpected)
        return net


def _affine_as_bn(state: dict, bn: str, w: dict, affine: str) -> None:
    # Eval-mode batch norm: (x - 0) / sqrt(1 - eps + eps) * gamma + beta = the affine map.
    gamma, beta = w[f"{affine}.gamma"], w[f"{affine}.beta"]
    state[f"{bn}.weight"], state[f"{bn}.bias"] = gamma, beta
    state[f"{bn}.running_mean"] = torch.zeros_like(gamma)
    state[f"{bn}.running_var"] = torch.full_like(gamma, 1 - EPS)


@torch.no_grad()
def calibrate_batchnorm(net: nn.Module, x: torch.Tensor) -> None:
    """Set every batch norm's running statistics to those of its input on ``x``, keeping
    the eval-mode function: weight = gamma * sqrt(var + eps), bias = beta + gamma * mean
    (gamma, beta: the layer's present affine map). Training then starts from the same
    network, with batch statistics near the ones it was calibrated on."""
    stats: dict[nn.BatchNorm2d, tuple[torch.Tensor, torch.Tensor]] = {}
    hooks = [m.register_forward_pre_hook(
        lambda m, inp: stats.__setitem__(m, (inp[0].float().mean((0, 2, 3)),
                                             inp[0].float().var((0, 2, 3), unbiased=False))))
        for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    net.eval()
    try:
        net(x)
    finally:
        for h in hooks:
            h.remove()
    for m, (mean, var) in stats.items():
        gamma = m.weight / (m.running_var + m.eps).sqrt()
        beta = m.bias - gamma * m.running_mean
        m.running_mean.copy_(mean)
        m.running_var.copy_(var)
        m.weight.copy_(gamma * (var + m.eps).sqrt())
        m.bias.copy_(beta + gamma * mean)
