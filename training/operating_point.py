"""Choose where the exported file answers: the logit shifts ``training.export`` folds into
``fc.bias``, searched on the valid splits.

    python -m training.operating_point --checkpoint runs/mix4/best.pth

A network trained with logit adjustment (tau) favours the rare classes in its plain
softmax. Two shifts move it back: a share of the training mix's log prior (``--prior-shift``
of export: 0.5 cancels a tau of 0.5, giving the posterior for the mix's class prior), and a
lower Contempt logit (the one class taught by a single set of a single look, whose logit that
look inflates); optionally a third raises one class (``--class-offsets``). This prints, for
a grid of them, each valid split's accuracy, UAR and share of other faces called Contempt,
and picks the point with the best mean UAR over the splits that calls at most ``--cap`` of
any split's other faces Contempt, keeps FER2013Valid's accuracy at or above
``--min-fer-accuracy`` and one class's recall at or above ``--min-recall``. Only valid
splits are read.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path

import torch
import torch.nn.functional as F

from function.model import LABELS
from training.checkpoint import load_checkpoint, predict
from training.metrics import CONTEMPT, metrics
from training.mix import FERPLUS, load_valid

Logits = dict[str, tuple[torch.Tensor, torch.Tensor]]


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Search the exported file's logit shifts on the "
                                            "valid splits")
    p.add_argument("--checkpoint", default="runs/r34/best.pth")
    p.add_argument("--cap", type=float, default=0.025,
                   help="most share of any valid split's other faces called Contempt")
    p.add_argument("--min-fer-accuracy", type=float, default=0.0,
                   help="least FER2013Valid accuracy the chosen point keeps")
    p.add_argument("--shifts", default="0,0.25,0.5,0.75,1,1.25,1.5",
                   help="prior back-shifts to try (comma-separated)")
    p.add_argument("--offsets", default="0:-3:0.1",
                   help="Contempt logit offsets to try: start:stop:step")
    p.add_argument("--class-offsets", default=None, metavar="CLASS=START:STOP:STEP",
                   help="also try raising one class's logit, e.g. Anger=0:0.8:0.2")
    p.add_argument("--min-recall", default=None, metavar="CLASS=VALUE",
                   help="least recall of that class on every valid split holding it, e.g. "
                        "Anger=0.65 (the product is judged by a frown reading as anger)")
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
    ckpt = load_checkpoint(path)
    size, mean, std = ckpt.input_size, ckpt.mean, ckpt.std
    prior = ckpt.class_prior()
    net = ckpt.network()
    per_set = {v.name: (predict(net, v.images, size, mean, std), v.labels)
               for v in load_valid(ckpt.valid_names(), ckpt.args["data"], ckpt.sets_root, size,
                                   ckpt.cache_dir)}
    torch.save({"per_set": per_set, "log_prior": prior.log()}, cache)
    return per_set, prior.log()


def bias_shift(log_prior: torch.Tensor, shift: float, contempt: float,
               raises: Iterable[tuple[int, float]] = ()) -> torch.Tensor:
    """What is added to every face's logits (export adds it to ``fc.bias``): ``shift`` times
    the log prior, ``contempt`` on the Contempt logit, and each (class, value) raise."""
    out = shift * log_prior + contempt * F.one_hot(torch.tensor(CONTEMPT), len(log_prior))
    for k, value in raises:
        out = out + value * F.one_hot(torch.tensor(k), len(log_prior))
    return out


def class_value(text: str, what: str) -> tuple[int, str]:
    """``"Anger=0.4"`` -> (index of Anger, ``"0.4"``); an unknown class names the valid ones."""
    name, _, value = text.partition("=")
    if name not in LABELS or not value:
        raise SystemExit(f"{what}: expected CLASS=VALUE with CLASS one of {', '.join(LABELS)}")
    return LABELS.index(name), value


def grid(per_set: Logits, log_prior: torch.Tensor, shifts: list[float],
         offsets: list[float], extra_class: int | None = None,
         extra_offsets: tuple[float, ...] = (0.0,)) -> list[dict]:
    points = []
    for shift in shifts:
        for offset in offsets:
            for raise_by in extra_offsets:
                extra = (extra_class, raise_by) if extra_class is not None else None
                delta = bias_shift(log_prior, shift, offset, [extra] if extra else [])
                sets = {}
                for name, (lg, lab) in per_set.items():
                    m = metrics((lg + delta).softmax(1), lab)
                    sets[name] = {k: m[k] for k in ("accuracy", "uar", "false_contempt",
                                                    "recall")}
                points.append({
                    "shift": shift, "offset": round(offset, 2), "sets": sets,
                    "extra": (LABELS[extra_class], round(raise_by, 2)) if extra else None,
                    "mean_uar": sum(s["uar"] for s in sets.values()) / len(sets),
                    "worst_contempt": max(s["false_contempt"] for s in sets.values())})
    return points


def choose(points: list[dict], cap: float, min_fer_accuracy: float,
           min_recall: tuple[str, float] | None = None) -> dict | None:
    def holds(p: dict) -> bool:
        if min_recall is None:
            return True
        name, least = min_recall
        return all(s["recall"][name] >= least for s in p["sets"].values()
                   if name in s["recall"])

    ok = [p for p in points if p["worst_contempt"] <= cap and holds(p)
          and p["sets"].get(FERPLUS, {"accuracy": 1.0})["accuracy"] >= min_fer_accuracy]
    return max(ok, key=lambda p: (p["mean_uar"], p["offset"])) if ok else None


def _row(p: dict) -> str:
    sets = "  ".join(f"{n} {s['accuracy']:.3f}/{s['uar']:.3f}/{s['false_contempt']:.3f}"
                     for n, s in p["sets"].items())
    extra = f" {p['extra'][0]} {p['extra'][1]:+.2f}" if p.get("extra") else ""
    return (f"shift {p['shift']:<5} offset {p['offset']:+.2f}{extra}  mean UAR "
            f"{p['mean_uar']:.4f}  "
            f"worst ->Cont {p['worst_contempt']:.3f}  |  {sets}")


def _values(text: str) -> list[float]:
    return [float(v) for v in text.split(",") if v.strip()]


def _range(text: str) -> list[float]:
    start, stop, step = (float(v) for v in text.split(":"))
    n = int(round(abs(stop - start) / abs(step)))
    return [start + i * (step if stop >= start else -abs(step)) for i in range(n + 1)]


def main(args: argparse.Namespace) -> dict | None:
    per_set, log_prior = checkpoint_logits(args.checkpoint)
    extra = class_value(args.class_offsets, "--class-offsets") if args.class_offsets else None
    floor = class_value(args.min_recall, "--min-recall") if args.min_recall else None
    points = grid(per_set, log_prior, _values(args.shifts), _range(args.offsets),
                  extra[0] if extra else None, tuple(_range(extra[1])) if extra else (0.0,))
    print(f"{args.checkpoint}: per split accuracy/UAR/->Cont (share of other faces called "
          f"Contempt); best {args.top} by mean UAR within the cap {args.cap}")
    within = [p for p in points if p["worst_contempt"] <= args.cap]
    for p in sorted(within, key=lambda p: -p["mean_uar"])[:args.top]:
        print(_row(p))
    best = choose(points, args.cap, args.min_fer_accuracy,
                  (LABELS[floor[0]], float(floor[1])) if floor else None)
    if best is None:
        print("no point meets the cap, the FER2013Valid accuracy floor and the recall floor")
        return None
    print("chosen: " + _row(best))
    raise_arg = (f" --class-offset {best['extra'][0]}={best['extra'][1]}"
                 if best.get("extra") and best["extra"][1] else "")
    print(f"python -m training.export --checkpoint {args.checkpoint} "
          f"--prior-shift {best['shift']} --contempt-offset {best['offset']}{raise_arg}")
    return best


if __name__ == "__main__":
    main(get_args_parser().parse_args())
