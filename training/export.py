"""Export a training checkpoint as the self-describing TorchScript file the API loads.

    python -m training.export --checkpoint runs/r34/best.pth --output models/emotion-resnet34.pt

Traces the network (optionally averaged over test-time views of each face), fits the
softmax temperature on FER2013Valid, checks the traced file against the eager network, and
stores the weights as fp16 (restored to fp32 at load; the check below covers that too).
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from function.model import LABELS, ModelInfo, load_model, save_model
from training.augment import VIEWS, view_grid
from training.checkpoint import load_checkpoint, predict
from training.metrics import CONTEMPT, expected_calibration_error, metrics
from training.mix import load_valid
from training.operating_point import bias_shift, class_value


class ViewAverage(nn.Module):
    """Logits averaged over fixed views of each face (``training.augment.VIEWS``): test-time
    augmentation baked into the file, one call per face for the API however many views."""

    def __init__(self, net: nn.Module, size: int, views: int) -> None:
        super().__init__()
        self.net = net
        self.size = size
        # Kept as plain tensors, not buffers: the traced graph holds them as fp32 constants,
        # untouched by the file's fp16 storage, and the state_dict stays the network's.
        self.grids = torch.cat([view_grid(size, z, m) for z, m in VIEWS[:views]])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v, n = self.grids.shape[0], x.shape[0]
        xs = x.unsqueeze(0).expand(v, -1, -1, -1, -1).reshape(v * n, x.shape[1], self.size,
                                                                  self.size)
        grid = self.grids.unsqueeze(1).expand(-1, n, -1, -1, -1).reshape(v * n, self.size,
                                                                         self.size, 2)
        views = F.grid_sample(xs, grid, mode="bilinear", padding_mode="border",
                              align_corners=False)
        return self.net(views).view(v, n, -1).mean(0)


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The single T minimising the NLL of softmax(logits / T) (Guo et al., 2017)."""
    log_t = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.1, max_iter=200)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(logits / log_t.exp(), labels)
        loss.backward()
        return loss

    opt.step(closure)
    return round(float(log_t.detach().exp()), 4)


def contempt_offset(per_set: dict[str, tuple[torch.Tensor, torch.Tensor]], cap: float,
                    step: float = 0.05, floor: float = -8.0) -> float:
    """The Contempt logit offset nearest 0 (never above it) that calls at most ``cap`` of the
    other faces of every set Contempt. Only one set teaches Contempt, so its logit is the
    one a set's look can inflate; this bounds the cost of that on every other set."""
    offset = 0.0
    while offset > floor:
        worst = max(metrics((lg + offset * F.one_hot(torch.tensor(CONTEMPT), lg.shape[1]))
                            .softmax(1), lab)["false_contempt"] for lg, lab in per_set.values())
        if worst <= cap:
            break
        offset -= step
    print(f"Contempt logit offset {offset:+.2f}: at most {cap:.3f} of any valid split's other "
          f"faces called Contempt")
    return round(offset, 2)


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Export a checkpoint to TorchScript")
    p.add_argument("--checkpoint", default="runs/r34/best.pth")
    p.add_argument("--output", default="models/emotion-resnet34.pt")
    p.add_argument("--data", default=None, help="FER+ folder (default: the checkpoint's)")
    p.add_argument("--views", type=int, default=1, choices=range(1, len(VIEWS) + 1),
                   help="test-time views averaged inside the file: 1 plain, 2 with the "
                        "mirror, 4 also both zoomed 10%% (training.augment.VIEWS)")
    p.add_argument("--calibrate-on", default="ferplus", choices=("ferplus", "mix"),
                   help="valid faces the temperature is fitted on: FER2013Valid, or it and "
                        "the valid split of every other set the checkpoint trained on, pooled")
    p.add_argument("--prior-shift", type=float, default=0.0,
                   help="add this times log(class prior of the training mix) to the logits "
                        "(in fc.bias): > 0 moves answers back towards the common classes, "
                        "undoing part of training's logit adjustment")
    p.add_argument("--false-contempt-cap", type=float, default=None,
                   help="lower the Contempt logit (in fc.bias, so the file stays torchvision's "
                        "resnet34) until at most this share of the other faces of every valid "
                        "split is called Contempt")
    p.add_argument("--contempt-offset", type=float, default=None,
                   help="add this to the Contempt logit (in fc.bias) instead of searching "
                        "it with --false-contempt-cap (training.operating_point prints one)")
    p.add_argument("--class-offset", action="append", default=[], metavar="CLASS=VALUE",
                   help="add VALUE to one class's logit (in fc.bias); repeatable")
    p.add_argument("--name", default="emotion-resnet34")
    p.add_argument("--version", default=None, help="default: today's date")
    return p


def main(args: argparse.Namespace) -> Path:
    ckpt = load_checkpoint(args.checkpoint)
    size, mean, std = ckpt.input_size, ckpt.mean, ckpt.std
    net = ckpt.network()
    module = ViewAverage(net, size, args.views).eval() if args.views > 1 else net

    data = Path(args.data or ckpt.args["data"])
    names = ckpt.valid_names()
    valid = load_valid(names, data, ckpt.sets_root, size, ckpt.cache_dir)
    if args.false_contempt_cap is not None and args.contempt_offset is not None:
        raise SystemExit("give --false-contempt-cap or --contempt-offset, not both")
    raises = [class_value(t, "--class-offset") for t in args.class_offset]
    per_set = {v.name: (predict(module, v.images, size, mean, std), v.labels) for v in valid}
    # Every shift is a constant added to the logits: one vector, into fc.bias and into the
    # valid logits the temperature is fitted on.
    log_prior = ckpt.class_prior().log() if args.prior_shift else torch.zeros(len(LABELS))
    delta = bias_shift(log_prior, args.prior_shift, 0.0)
    if args.prior_shift:
        print("prior shift " + ", ".join(f"{n} {v:+.2f}" for n, v in
                                         zip(LABELS, delta.tolist(), strict=True)))
    offset = args.contempt_offset or 0.0
    if args.false_contempt_cap is not None:
        offset = contempt_offset({k: (lg + delta, lab) for k, (lg, lab) in per_set.items()},
                                 args.false_contempt_cap)
    for k, value in raises:
        print(f"{LABELS[k]} logit {float(value):+.2f}")
    delta = bias_shift(log_prior, args.prior_shift, offset,
                       [(k, float(value)) for k, value in raises])
    with torch.no_grad():
        net.fc.bias += delta
    per_set = {k: (lg + delta, lab) for k, (lg, lab) in per_set.items()}
    fitted_on = names if args.calibrate_on == "mix" else ["ferplus"]
    logits = torch.cat([per_set[n][0] for n in fitted_on])
    labels = torch.cat([per_set[n][1] for n in fitted_on])
    temperature = fit_temperature(logits, labels)
    for name, (lg, lab) in per_set.items():
        m = metrics(lg.softmax(1), lab)
        ece_after = expected_calibration_error((lg / temperature).softmax(1), lab)
        print(f"{name} valid: accuracy {m['accuracy']:.4f}, UAR {m['uar']:.4f}, called "
              f"Contempt {m['false_contempt']:.4f}; ECE {m['ece']:.4f} -> {ece_after:.4f} "
              f"with temperature {temperature} (fitted on {', '.join(fitted_on)})")

    version = args.version or dt.date.today().isoformat()
    shifts = {"prior": args.prior_shift} if args.prior_shift else {}
    if offset:
        shifts["Contempt"] = offset
    for k, value in raises:
        shifts[LABELS[k]] = round(shifts.get(LABELS[k], 0.0) + float(value), 4)
    info = ModelInfo(name=args.name, version=version, labels=LABELS, input_size=size,
                     grayscale=True, mean=(mean,), std=(std,), temperature=temperature,
                     views=args.views, shifts=tuple(shifts.items()))
    example = torch.randn(4, 3, size, size)
    with torch.no_grad():
        traced = torch.jit.trace(module, example)
    out = save_model(traced, info, args.output, half=True)

    # The file as the API will load it (fp16 -> fp32, frozen) must match the eager network.
    loaded = load_model(out, precision="fp32")
    with torch.no_grad():
        eager = module(example)
        got = loaded.module(example)
    diff = (eager - got).abs().max().item()
    print(f"traced vs eager max |logit diff| {diff:.2e} on a batch of {len(example)}")
    if diff > 5e-2:
        raise SystemExit(f"exported model differs from the eager one by {diff}")
    mb = out.stat().st_size / 2**20
    print(f"wrote {out} ({mb:.1f} MiB), {info.id}, checkpoint epoch {ckpt.epoch + 1}, "
          f"commit {git_commit()}")
    return out


if __name__ == "__main__":
    main(get_args_parser().parse_args())
