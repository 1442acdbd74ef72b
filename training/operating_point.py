"""Choose where the exported file answers: the two logit shifts ``training.export`` folds
into ``fc.bias``, searched on the valid splits.

    python -m training.operating_point --checkpoint runs/mix4/best.pth

A network trained with logit adjustment (tau) favours the rare classes in its plain
softmax. Two shifts move it back: a share of the training mix's log prior (``--prior-shift``
of export: 0.5 cancels a tau of 0.5, giving the posterior for the mix's class prior), and a
lower Contempt logit (the one class taught by a single set of a single look, whose logit that
look inflates). This prints, for a grid of both, each valid split's accuracy, UAR and share of
other faces called Contempt, and picks the point with the best mean UAR over the splits that
calls at most ``--cap`` of any split's other faces Contempt and keeps FER2013Valid's accuracy
at or above ``--min-fer-accuracy``. Only valid splits are read.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
import torch.nn.functional as F

from training.metrics import CONTEMPT, metrics
from training.mix import FERPLUS, class_prior, load_sources, load_valid, parse_mix
from training.resnet import resnet34
from training.train import predict

Logits = dict[str, tuple[torch.Tensor, torch.Tensor]]


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Search the exported file's logit shifts on the "
                                            "valid splits")
    p.add_argument("--checkpoint", default="runs/r34/best.pth")
    p.add_argument("--cap", type=float, default=0.025,
                   help="most share of any valid split's other faces called Contempt")
    p.add_argument("--min-fer-accuracy", type=float, default=0.0,
                   help="least FER2013Valid accuracy the chosen point keeps")
    p.add_argument("--shifts", default="0,0.25,0.5,0.75,1",
                   help="prior back-shifts to try (comma-separated)")
    p.add_argument("--offsets", default="0:-3:0.1",
                   help="Contempt logit offsets to try: start:stop:step")
    p.add_argument("--top", type=int, default=12, help="rows of the grid to print")
    return p


def checkpoint_logits(path: str | Path) -> tuple[Logits, torch.Tensor]:
    """Each valid split's logits (as validation computes them) and the training mix's log
    class prior, for a train.py checkpoint; cached beside it."""
    path = Path(path)
    cache = path.with_name(path.name + ".valid-logits")
    if cache.is_file() and cache.stat().st_mtime >= path.stat().st_mtime:
        saved = torch.load(cache, weights_only=False)
        if "log_prior" in saved:
            return saved["per_set"], saved["log_prior"]
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    targs = ckpt["args"]
    size, mean, std = targs["input_size"], ckpt["mean"], ckpt["std"]
    mix = parse_mix(targs.get("mix", f"{FERPLUS}=1"))
    root, cache_dir = targs.get("sets_root", "../shared/data"), targs.get("cache_dir",
                                                                        ".cache/ferplus")
    prior = ckpt.get("prior")
    if prior is None:   # checkpoints from before train.py stored it
        prior = class_prior(load_sources(mix, targs["data"], root, size, cache_dir,
                                         targs["smoothing"]), mix)
    net = resnet34(num_classes=8)
    net.load_state_dict(ckpt.get("weights") or ckpt["model"])
    names = [FERPLUS, *(n for n in mix if n != FERPLUS)]
    per_set = {v.name: (predict(net, v.images, size, mean, std), v.labels)
               for v in load_valid(names, targs["data"], root, size, cache_dir)}
    torch.save({"per_set": per_set, "log_prior": prior.log()}, cache)
    return per_set, prior.log()


def shifted(logits: torch.Tensor, log_prior: torch.Tensor, shift: float,
            offset: float) -> torch.Tensor:
    return logits + shift * log_prior + offset * F.one_hot(torch.tensor(CONTEMPT),
                                                           logits.shape[1])


def grid(per_set: Logits, log_prior: torch.Tensor, shifts: list[float],
         offsets: list[float]) -> list[dict]:
    points = []
    for shift in shifts:
        for offset in offsets:
            sets = {}
            for name, (lg, lab) in per_set.items():
                m = metrics(shifted(lg, log_prior, shift, offset).softmax(1), lab)
                sets[name] = {k: m[k] for k in ("accuracy", "uar", "false_contempt")}
            points.append({"shift": shift, "offset": round(offset, 2), "sets": sets,
                           "mean_uar": sum(s["uar"] for s in sets.values()) / len(sets),
                           "worst_contempt": max(s["false_contempt"] for s in sets.values())})
    return points


def choose(points: list[dict], cap: float, min_fer_accuracy: float) -> dict | None:
    ok = [p for p in points if p["worst_contempt"] <= cap
          and p["sets"].get(FERPLUS, {"accuracy": 1.0})["accuracy"] >= min_fer_accuracy]
    return max(ok, key=lambda p: (p["mean_uar"], p["offset"])) if ok else None


def _row(p: dict) -> str:
    sets = "  ".join(f"{n} {s['accuracy']:.3f}/{s['uar']:.3f}/{s['false_contempt']:.3f}"
                     for n, s in p["sets"].items())
    return (f"shift {p['shift']:<5} offset {p['offset']:+.2f}  mean UAR {p['mean_uar']:.4f}  "
            f"worst ->Cont {p['worst_contempt']:.3f}  |  {sets}")


def _values(text: str) -> list[float]:
    return [float(v) for v in text.split(",") if v.strip()]


def _range(text: str) -> list[float]:
    start, stop, step = (float(v) for v in text.split(":"))
    n = int(round(abs(stop - start) / abs(step)))
    return [start + i * (step if stop >= start else -abs(step)) for i in range(n + 1)]


def main(args: argparse.Namespace) -> dict | None:
    per_set, log_prior = checkpoint_logits(args.checkpoint)
    points = grid(per_set, log_prior, _values(args.shifts), _range(args.offsets))
    print(f"{args.checkpoint}: per split accuracy/UAR/->Cont (share of other faces called "
          f"Contempt); best {args.top} by mean UAR within the cap {args.cap}")
    within = [p for p in points if p["worst_contempt"] <= args.cap]
    for p in sorted(within, key=lambda p: -p["mean_uar"])[:args.top]:
        print(_row(p))
    best = choose(points, args.cap, args.min_fer_accuracy)
    if best is None:
        print("no point meets the cap and the FER2013Valid accuracy floor")
        return None
    print("chosen: " + _row(best))
    print(f"python -m training.export --checkpoint {args.checkpoint} "
          f"--prior-shift {best['shift']} --contempt-offset {best['offset']}")
    return best


if __name__ == "__main__":
    main(get_args_parser().parse_args())
