"""A tiny model file of the real format, so the API's tests need no trained weights."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from function.model import LABELS, ModelInfo, save_model

INFO = ModelInfo(name="fixture-tiny", version="0", labels=LABELS, input_size=64,
                 grayscale=True, mean=(0.5,), std=(0.25,), temperature=1.5)


class Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, stride=2)
        self.bn1 = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, len(LABELS))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn1(self.conv1(x)))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def build(path: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    module = Tiny().eval()
    with torch.no_grad():
        module.fc.weight.mul_(20)   # spread the outputs so predictions differ per image
    traced = torch.jit.trace(module, torch.zeros(1, 3, INFO.input_size, INFO.input_size))
    return save_model(traced, INFO, path)
