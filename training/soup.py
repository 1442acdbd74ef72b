"""Average the weights of several checkpoints of one run: stochastic weight averaging over
the end of a schedule, whose average usually sits in a flatter, better part of the basin
than any one of them (Izmailov et al., 2018).

    python -m training.soup runs/r34b/epoch-2*.pth --output runs/r34b/soup.pth

The batch-norm statistics of averaged weights are not the average of their statistics:
they are estimated again on training faces. Writes a checkpoint in train.py's format
(``training.export`` takes it) with its score next to each ingredient's: FER2013Valid
accuracy for a run on FER+ alone, else the mean UAR over the valid splits (what train.py
chose checkpoints by).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from training.augment import normalize, resize_batch
from training.mix import FERPLUS, draw_batch, load_sources, load_valid, parse_mix
from training.resnet import resnet34
from training.train import evaluate, load_training_data, validate


def average(states: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The element-wise mean of floating-point tensors; counters are taken from the first."""
    out = {}
    for name, first in states[0].items():
        if first.dtype.is_floating_point:
            out[name] = torch.stack([s[name].float() for s in states]).mean(0).to(first.dtype)
        else:
            out[name] = first.clone()
    return out


@torch.no_grad()
def recompute_batch_norm(net: torch.nn.Module, images: torch.Tensor | list[torch.Tensor],
                         size: int, mean: float, std: float, batch: int = 256) -> None:
    """Running mean and variance re-estimated as a plain average over ``images`` (one
    tensor, or one per set: the sets are stored at different sizes)."""
    bns = [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    momenta = [bn.momentum for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None      # a cumulative average, not an exponential one
    net.train()
    for part in images if isinstance(images, list) else [images]:
        for i in range(0, len(part), batch):
            net(normalize(resize_batch(part[i:i + batch], size), mean, std))
    for bn, m in zip(bns, momenta, strict=True):
        bn.momentum = m
    net.eval()


def weights_of(ckpt: dict, which: str) -> dict[str, torch.Tensor]:
    if which == "best":
        return ckpt["weights"]
    if which == "ema" and ckpt.get("ema") is None:
        raise SystemExit("a checkpoint has no EMA weights: use --which model")
    return ckpt[which]


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoints", nargs="+", help="checkpoints of one run (train.py's format)")
    p.add_argument("--output", required=True)
    p.add_argument("--which", choices=("ema", "model", "best"), default="ema",
                   help="which weights of each checkpoint to average")
    p.add_argument("--data", default=None, help="FER+ folder (default: the run's)")
    p.add_argument("--cache-dir", default=".cache/ferplus")
    p.add_argument("--bn-images", type=int, default=8192,
                   help="training faces for the batch-norm statistics (0: average them)")
    p.add_argument("--threads", type=int, default=0)
    return p


def main(args: argparse.Namespace) -> float:
    if args.threads:
        torch.set_num_threads(args.threads)
    ckpts = [torch.load(p, map_location="cpu", weights_only=False) for p in args.checkpoints]
    first = ckpts[0]
    run = argparse.Namespace(**{**first["args"], "device": "cpu", "limit": 0,
                                "data": args.data or first["args"]["data"],
                                "cache_dir": args.cache_dir})
    mean, std = first["mean"], first["std"]
    if any((c["mean"], c["std"], c["args"]["input_size"]) != (mean, std, run.input_size)
           for c in ckpts):
        raise SystemExit("the checkpoints differ in input size or normalisation: not one run")
    mix = parse_mix(getattr(run, "mix", f"{FERPLUS}=1"))
    if list(mix) == [FERPLUS]:
        images, _, v_images, v_labels = load_training_data(run)
        what = "FER2013Valid accuracy"

        def score(net: torch.nn.Module) -> float:
            return evaluate(net, v_images, v_labels, run, mean, std)

        def bn_images(n: int) -> torch.Tensor:
            pick = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
            return images[pick[:n]]
    else:
        # A run on a mix is scored as train.py chose its checkpoints (the mean UAR over
        # the valid splits), and its statistics come from faces drawn in the mix's shares.
        sources = load_sources(mix, run.data, run.sets_root, run.input_size, run.cache_dir,
                               run.smoothing)
        valid_sets = load_valid(list(dict.fromkeys([FERPLUS, *mix])), run.data, run.sets_root,
                                run.input_size, run.cache_dir)
        what = "mean UAR over the valid splits"

        def score(net: torch.nn.Module) -> float:
            return validate(net, valid_sets, run, mean, std)["score"]

        def bn_images(n: int) -> list[torch.Tensor]:
            drawn = draw_batch(sources, mix, n, torch.Generator().manual_seed(0))
            return [src.images[idx] for src, idx in drawn]

    net = resnet34(num_classes=8).to(memory_format=torch.channels_last)
    for path, c in zip(args.checkpoints, ckpts, strict=True):
        net.load_state_dict(weights_of(c, args.which))
        print(f"{path}: epoch {c['epoch'] + 1}, {what} {score(net):.4f}", flush=True)
    net.load_state_dict(average([weights_of(c, args.which) for c in ckpts]))
    if args.bn_images:
        recompute_batch_norm(net, bn_images(args.bn_images), run.input_size, mean, std)
    acc = score(net)
    print(f"average of {len(ckpts)} ({args.which}): {what} {acc:.4f}", flush=True)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"args": first["args"], "mean": mean, "std": std, "prior": first.get("prior"),
                "epoch": max(c["epoch"] for c in ckpts), "weights": net.state_dict(),
                "best": {"acc": acc, "which": f"average of {len(ckpts)} {args.which}"},
                "soup": {"checkpoints": [str(p) for p in args.checkpoints],
                         "which": args.which, "bn_images": args.bn_images}}, out)
    return acc


if __name__ == "__main__":
    main(get_args_parser().parse_args())
