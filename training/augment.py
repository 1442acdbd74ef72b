"""Faces as the network's input: resizing, normalisation, the fixed test-time views, and
the training augmentations, applied to a whole batch at once (affine warp, flip,
photometric jitter, erasing): on a 2-core CPU a per-image PIL pipeline would cost more than
the model."""

from __future__ import annotations

import io
import math

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image


def resize_batch(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 (N, H, W) -> float (N, 1, size, size) in [0, 1], bilinear, no augmentation."""
    x = images.unsqueeze(1).float().div_(255)
    if x.shape[-1] != size or x.shape[-2] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return x


def normalize(x: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    # The network is torchvision's 3-channel ResNet; grey faces are repeated on all three.
    return ((x - mean) / std).expand(-1, 3, -1, -1).contiguous(memory_format=torch.channels_last)


# Test-time views as (zoom, mirrored); zoom > 1 keeps the centre 1/zoom of the face. Measured
# on FER2013Valid with the 64 px stage-2 network: 86.43% on the plain view; all four 86.87%
# drawn from the 48 px face (training/distill.py, at commit 0053093), 86.59% inside the
# exported file, which draws them from its resized input (training/export.py --views; 2
# views: 86.56%).
VIEWS: tuple[tuple[float, bool], ...] = ((1.0, False), (1.0, True), (1.1, False), (1.1, True))


def view_grid(size: int, zoom: float = 1.0, mirror: bool = False) -> torch.Tensor:
    """The (1, size, size, 2) ``grid_sample`` grid of one view."""
    theta = torch.tensor([[[(-1.0 if mirror else 1.0) / zoom, 0.0, 0.0],
                           [0.0, 1.0 / zoom, 0.0]]])
    return F.affine_grid(theta, [1, 1, size, size], align_corners=False)


def view_batch(images: torch.Tensor, size: int, zoom: float = 1.0,
               mirror: bool = False) -> torch.Tensor:
    """uint8 (N, H, W) -> float (N, 1, size, size) in [0, 1]: one deterministic view."""
    x = images.unsqueeze(1).float().div_(255)
    grid = view_grid(size, zoom, mirror).expand(x.shape[0], -1, -1, -1)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def augment_batch(images: torch.Tensor, size: int, *, max_rotate: float = 12.0,
                  scale: tuple[float, float] = (0.85, 1.15), max_shift: float = 0.1,
                  brightness: float = 0.3, contrast: float = 0.3, erase_p: float = 0.5,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """uint8 (N, H, W) -> augmented float (N, 1, size, size) in [0, 1]."""
    n = images.shape[0]
    x = images.unsqueeze(1).float().div_(255)

    def rand(*shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=generator)

    angle = (rand(n) * 2 - 1) * math.radians(max_rotate)
    s = scale[0] + rand(n) * (scale[1] - scale[0])
    flip = torch.where(rand(n) < 0.5, -1.0, 1.0)
    tx, ty = (rand(n) * 2 - 1) * max_shift * 2, (rand(n) * 2 - 1) * max_shift * 2
    cos, sin = torch.cos(angle) / s, torch.sin(angle) / s
    theta = torch.stack([torch.stack([cos * flip, -sin, tx], 1),
                         torch.stack([sin * flip, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, [n, 1, size, size], align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)

    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    c = 1 + (rand(n, 1, 1, 1) * 2 - 1) * contrast
    b = (rand(n, 1, 1, 1) * 2 - 1) * brightness * 0.5
    x = ((x - mean) * c + mean + b).clamp_(0, 1)

    # Random erasing (Zhong et al.): one rectangle of 2-20% of the face, filled with noise.
    area = (0.02 + rand(n) * 0.18) * size * size
    ratio = torch.exp((rand(n) * 2 - 1) * math.log(3))
    h = (area * ratio).sqrt().clamp(1, size).long()
    w = (area / ratio).sqrt().clamp(1, size).long()
    top = (rand(n) * (size - h + 1).float()).long()
    left = (rand(n) * (size - w + 1).float()).long()
    rows = torch.arange(size).view(1, size, 1)
    cols = torch.arange(size).view(1, 1, size)
    mask = ((rows >= top.view(-1, 1, 1)) & (rows < (top + h).view(-1, 1, 1))
            & (cols >= left.view(-1, 1, 1)) & (cols < (left + w).view(-1, 1, 1)))
    mask &= (rand(n) < erase_p).view(-1, 1, 1)
    x = torch.where(mask.unsqueeze(1), rand(n, 1, size, size), x)
    return x


def degrade_batch(x: torch.Tensor, *, lowres_p: float = 0.5, min_scale: float = 0.3,
                  jpeg_p: float = 0.3, light_p: float = 0.3, mouth_p: float = 0.1,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """The webcam's faults on augmented faces (N, 1, S, S) in [0, 1]: a small face upscaled
    (a 40 px face at 96 px input is a scale of ~0.4), JPEG blocks, uneven light and gamma,
    and a covered mouth, so that brows and eyes have to count."""
    n, _, size, _ = x.shape

    def rand(*shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=generator)

    x = x.clone()
    for i in torch.nonzero(rand(n) < lowres_p).flatten().tolist():
        side = max(8, round(size * (min_scale + (1 - min_scale) * rand(1).item())))
        small = F.interpolate(x[i:i + 1], size=(side, side), mode="bilinear",
                              antialias=True, align_corners=False)
        x[i:i + 1] = F.interpolate(small, size=(size, size), mode="bilinear",
                                   align_corners=False)
    for i in torch.nonzero(rand(n) < jpeg_p).flatten().tolist():
        x[i, 0] = _jpeg(x[i, 0], quality=int(15 + 70 * rand(1).item()))
    light = rand(n) < light_p
    if light.any():
        # A linear ramp of +-30% across the face in a random direction, then a gamma.
        angle = rand(n) * 2 * math.pi
        ramp = torch.linspace(-1, 1, size)
        field = (torch.cos(angle).view(-1, 1, 1) * ramp.view(1, 1, size)
                 + torch.sin(angle).view(-1, 1, 1) * ramp.view(1, size, 1))
        gain = 1 + 0.3 * rand(n).view(-1, 1, 1) * field
        gamma = torch.exp((rand(n) * 2 - 1) * math.log(1.5)).view(-1, 1, 1)
        lit = (x[:, 0] * gain).clamp(0, 1).pow(gamma)
        x[:, 0] = torch.where(light.view(-1, 1, 1), lit, x[:, 0])
    mouth = rand(n) < mouth_p
    if mouth.any():
        top = (size * (0.62 + 0.1 * rand(n))).long().view(-1, 1, 1)
        rows = torch.arange(size).view(1, size, 1)
        cols = torch.arange(size).view(1, 1, size)
        mask = (rows >= top) & (cols >= size // 6) & (cols < size - size // 6)
        mask &= mouth.view(-1, 1, 1)
        x[:, 0] = torch.where(mask, rand(n, 1, 1).expand(-1, size, size), x[:, 0])
    return x


def _jpeg(face: torch.Tensor, quality: int) -> torch.Tensor:
    buf = io.BytesIO()
    Image.fromarray((face * 255).round().byte().numpy()).save(buf, "JPEG", quality=quality)
    buf.seek(0)
    with Image.open(buf) as im:
        return torch.from_numpy(np.asarray(im.convert("L"), np.float32) / 255)
