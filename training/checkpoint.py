"""A training checkpoint (training.train writes them) and the network it holds at work:
the one place the checkpoint format is written and read, and the logits of a network on
faces (``predict``) and on the valid splits (``validate``), which train, export and
operating_point share.

On disk a checkpoint is ``torch.save`` of a plain dict, unchanged since the first runs:

    args        train.py's arguments, vars(args) (input_size, data, mix, sets_root, ...)
    mean, std   the grey input's normalisation
    prior       the class prior of the training mix (None or absent before it was stored)
    epoch       the last epoch done, from 0; step: optimiser steps so far
    model, ema  the network's and its moving average's state dicts (ema None without one)
    optimizer, generator   the optimiser's and the batch sampler's states, for --resume
    best        the best epoch so far: {"acc": its selection score, "epoch", "which"}
    weights     best.pth only: that epoch's chosen weights (the model's or the EMA's)
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from function.model import LABELS
from training.augment import normalize, resize_batch
from training.metrics import metrics
from training.mix import FERPLUS, ValidSet, class_prior, load_sources, parse_mix
from training.resnet import resnet34


@dataclass
class Checkpoint:
    args: dict[str, Any]
    mean: float
    std: float
    epoch: int
    step: int
    model: dict[str, torch.Tensor]
    best: dict[str, Any]
    prior: torch.Tensor | None = None
    ema: dict[str, torch.Tensor] | None = None
    optimizer: dict[str, Any] | None = None
    generator: torch.Tensor | None = None
    weights: dict[str, torch.Tensor] | None = None

    @property
    def input_size(self) -> int:
        return int(self.args["input_size"])

    @property
    def best_weights(self) -> dict[str, torch.Tensor]:
        """The weights to use: best.pth's chosen ones, else the network's of the last epoch."""
        return self.weights if self.weights is not None else self.model

    def network(self) -> nn.Module:
        """The ResNet-34 with ``best_weights``, in eval mode, on the CPU."""
        net = resnet34(num_classes=len(LABELS))
        net.load_state_dict(self.best_weights)
        return net.eval()

    def valid_names(self) -> list[str]:
        """The sets the run trained on, FER+ first (it is always validated)."""
        mix = parse_mix(self.args.get("mix", f"{FERPLUS}=1"))
        return [FERPLUS, *(n for n in mix if n != FERPLUS)]

    @property
    def sets_root(self) -> str:
        return self.args.get("sets_root", "../shared/data")

    @property
    def cache_dir(self) -> str:
        return self.args.get("cache_dir", ".cache/ferplus")

    def class_prior(self) -> torch.Tensor:
        """The class prior of the run's mix: stored with it, or for checkpoints from before
        train.py stored it, computed again from the training sets."""
        if self.prior is not None:
            return self.prior
        a = self.args
        mix = parse_mix(a.get("mix", f"{FERPLUS}=1"))
        return class_prior(load_sources(mix, a["data"], self.sets_root, self.input_size,
                                        self.cache_dir, a["smoothing"]), mix)


_REQUIRED = tuple(f.name for f in fields(Checkpoint) if f.default is not None)


def save_checkpoint(ckpt: Checkpoint, path: str | Path) -> Path:
    """Write ``ckpt`` to ``path`` through a temporary file, so an interrupted save never
    leaves a corrupt one. ``weights`` is written only where there are some (best.pth)."""
    path = Path(path)
    state = {f.name: getattr(ckpt, f.name) for f in fields(Checkpoint)}
    if state["weights"] is None:
        del state["weights"]
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    tmp.replace(path)
    return path


def load_checkpoint(path: str | Path) -> Checkpoint:
    """A checkpoint training.train wrote (any version of it), on the CPU."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    # Not weights_only: the file holds the run's arguments and optimiser state as well,
    # and it is one this project wrote.
    raw = torch.load(path, map_location="cpu", weights_only=False)
    missing = [k for k in _REQUIRED if not isinstance(raw, dict) or k not in raw]
    if missing:
        raise ValueError(f"{path} is not a training.train checkpoint (no {', '.join(missing)})")
    return Checkpoint(**{f.name: raw.get(f.name) for f in fields(Checkpoint)})


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor, size: int, mean: float, std: float,
            device: str = "cpu", batch: int = 512, amp: bool = False) -> torch.Tensor:
    """Logits (float32) for uint8 (N, H, W) grey faces, resized to ``size`` as training
    sees them."""
    model.eval()
    out = []
    for i in range(0, len(images), batch):
        x = normalize(resize_batch(images[i:i + batch], size), mean, std).to(device)
        with torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16,
                            enabled=amp):
            out.append(model(x).float().cpu())
    return torch.cat(out) if out else torch.zeros(0, len(LABELS))


def validate(model: nn.Module, valid_sets: list[ValidSet], size: int, mean: float,
             std: float, device: str = "cpu", amp: bool = False) -> dict:
    """Per valid set: accuracy, recall per class, UAR, false Contempt; and ``score``, the
    figure the best checkpoint is chosen by: FER2013Valid accuracy when training on FER+
    alone, else the mean UAR over the sets (the contempt set's UAR is its recall)."""
    out = {}
    for v in valid_sets:
        probs = predict(model, v.images, size, mean, std, device, amp=amp).softmax(1)
        m = metrics(probs, v.labels)
        out[v.name] = {k: m[k] for k in ("n", "accuracy", "uar", "recall", "false_contempt")}
    if len(out) == 1 and FERPLUS in out:
        out["score"] = out[FERPLUS]["accuracy"]
    else:
        out["score"] = round(sum(m["uar"] for m in out.values()) / len(out), 4)
    return out
