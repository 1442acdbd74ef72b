"""Training on FER+ and the other expression sets at once: each set is a source with its
own images, targets and share of every batch.

Shares, not concatenation: the sets differ in size by 30x (taiwanese 973 faces, FER+
25,045), so a concatenated epoch would be FER+ and ExpW with a trace of the studio and
movie faces. A batch draws its faces set by set in the given shares, uniformly within a
set (the class mix of each set is kept; the loss's logit adjustment, not the sampler,
evens out the classes: see ``class_prior``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from training.expressions import SETS, one_hot, read_set
from training.ferplus import majority_faces, majority_labels, read_split, soft_targets

FERPLUS = "ferplus"


@dataclass
class Source:
    name: str
    images: torch.Tensor   # (N, H, W) uint8
    targets: torch.Tensor  # (N, 8) float, summing to 1


@dataclass
class ValidSet:
    name: str
    images: torch.Tensor   # (N, H, W) uint8
    labels: torch.Tensor   # (N,) int64


def parse_mix(text: str) -> dict[str, float]:
    """``"ferplus=0.5,expw=0.3"`` -> shares normalised to sum to 1."""
    shares = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        if name not in (FERPLUS, *SETS):
            raise ValueError(f"--mix: unknown set {name!r}; valid: {', '.join((FERPLUS, *SETS))}")
        try:
            shares[name] = float(value)
        except ValueError:
            raise ValueError(f"--mix: share of {name} must be a number, not {value!r}") from None
        if shares[name] < 0:
            raise ValueError(f"--mix: share of {name} must not be negative")
    total = sum(shares.values())
    if not shares or total <= 0:
        raise ValueError("--mix names no set with a positive share")
    return {k: v / total for k, v in shares.items()}


def load_sources(mix: dict[str, float], ferplus_dir: str | Path, sets_root: str | Path,
                 size: int, cache_dir: str | Path, smoothing: float,
                 limit: int = 0) -> list[Source]:
    """The training split of every set in ``mix``; FER+ keeps its vote distributions, the
    single-label sets get one-hot targets smoothed by ``smoothing``."""
    out = []
    for name in mix:
        if name == FERPLUS:
            train = read_split(Path(ferplus_dir) / "FER2013Train", cache_dir)
            keep = majority_labels(train.votes) >= 0
            images, targets = train.images[keep], soft_targets(train.votes[keep])
        else:
            s = read_set(Path(sets_root) / name, "train", size, cache_dir)
            images, targets = s.images, one_hot(s.labels, smoothing)
        if limit:
            images, targets = images[:limit], targets[:limit]
        out.append(Source(name, torch.from_numpy(images), torch.from_numpy(targets)))
    return out


def load_valid(names: list[str], ferplus_dir: str | Path, sets_root: str | Path, size: int,
               cache_dir: str | Path) -> list[ValidSet]:
    out = []
    for name in names:
        if name == FERPLUS:
            images, labels = majority_faces(Path(ferplus_dir) / "FER2013Valid", cache_dir)
            out.append(ValidSet(name, torch.from_numpy(images), torch.from_numpy(labels)))
        else:
            s = read_set(Path(sets_root) / name, "valid", size, cache_dir)
            out.append(ValidSet(name, torch.from_numpy(s.images), torch.from_numpy(s.labels)))
    return out


def class_prior(sources: list[Source], mix: dict[str, float]) -> torch.Tensor:
    """The class distribution of the targets the sampler draws, for logit adjustment."""
    prior = sum(mix[s.name] * s.targets.float().mean(0) for s in sources)
    return (prior / prior.sum()).clamp(min=1e-4)


def draw_batch(sources: list[Source], mix: dict[str, float], batch: int,
               generator: torch.Generator) -> list[tuple[Source, torch.Tensor]]:
    """One batch: for each source, the indices of its faces in it."""
    shares = torch.tensor([mix[s.name] for s in sources])
    which = torch.multinomial(shares, batch, replacement=True, generator=generator)
    out = []
    for i, s in enumerate(sources):
        k = int((which == i).sum())
        if k:
            out.append((s, torch.randint(len(s.images), (k,), generator=generator)))
    return out
