"""Train the ResNet-34 on FER+'s vote distributions, alone or mixed with the other
expression sets (``--mix``, training/mix.py).

Follows pytorch/vision's references/classification/train.py: get_args_parser,
train_one_epoch, evaluate, main; the args travel inside every checkpoint (its format, and
the predict and validate every training command shares: training/checkpoint.py), and
``--resume`` picks an interrupted run up where it stopped.

    python -m training.train --data ../shared/data/ferplus --output-dir runs/r34
    python -m training.train --mix ferplus=0.45,expw=0.3,... --logit-adjust 1 --degrade ...
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from function.model import LABELS
from training.augment import augment_batch, degrade_batch, normalize
from training.checkpoint import Checkpoint, load_checkpoint, save_checkpoint, validate
from training.mix import (
    FERPLUS,
    Source,
    ValidSet,
    class_prior,
    draw_batch,
    load_sources,
    load_valid,
    parse_mix,
)
from training.resnet import resnet34


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Train ResNet-34 on FER+", add_help=True)
    p.add_argument("--data", default="../shared/data/ferplus", help="FER+ folder")
    p.add_argument("--output-dir", default="runs/r34", help="checkpoints and logs")
    p.add_argument("--cache-dir", default=".cache/ferplus", help="decoded-image cache")
    p.add_argument("--input-size", type=int, default=64)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--warmup-epochs", type=float, default=1.0)
    p.add_argument("--label-smoothing", type=float, default=0.0)
    p.add_argument("--ema-decay", type=float, default=0.998)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch default)")
    p.add_argument("--amp", action=argparse.BooleanOptionalAction, default=True,
                   help="bfloat16 autocast (fast on CPUs with AVX512-BF16 and on GPUs)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, default=0, help="use only N training images (smoke runs)")
    p.add_argument("--resume", action="store_true", help="continue from output-dir/checkpoint.pth")
    p.add_argument("--keep-last", type=int, default=0,
                   help="also keep the checkpoints of the last N epochs (epoch-NN.pth)")
    p.add_argument("--weights", default=None,
                   help="start from this checkpoint's best weights (or a model file's) with a "
                        "fresh optimiser and schedule (a warm restart), instead of from scratch")
    p.add_argument("--mix", default=f"{FERPLUS}=1",
                   help="sets and their shares of every batch, e.g. "
                        "ferplus=0.45,expw=0.3,taiwanese=0.1,sfew=0.07,affectnet_contempt=0.08")
    p.add_argument("--sets-root", default="../shared/data",
                   help="folder holding the sets other than FER+")
    p.add_argument("--epoch-size", type=int, default=0,
                   help="faces per epoch (0: as many as the sources hold)")
    p.add_argument("--smoothing", type=float, default=0.1,
                   help="label smoothing of the single-label sets (FER+ keeps its votes)")
    p.add_argument("--logit-adjust", type=float, default=0.0,
                   help="tau of the logit-adjusted loss (Menon et al., 2021): trains "
                        "logits + tau*log(prior), so the plain logits aim at per-class recall")
    p.add_argument("--freeze", default="",
                   help="comma-separated top-level modules to keep fixed (e.g. "
                        "conv1,bn1,layer1,layer2: cheaper steps when fine-tuning)")
    p.add_argument("--degrade", action="store_true",
                   help="webcam augmentations: low resolution, JPEG, light, covered mouth")
    return p


def soft_cross_entropy(logits: torch.Tensor, target: torch.Tensor,
                       smoothing: float = 0.0) -> torch.Tensor:
    if smoothing:
        target = target * (1 - smoothing) + smoothing / target.shape[1]
    return -(target * F.log_softmax(logits.float(), dim=1)).sum(dim=1).mean()


def lr_at(step: int, total: int, warmup: int, base: float) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    return base * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


@torch.no_grad()
def update_ema(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    for e, m in zip(ema.state_dict().values(), model.state_dict().values(), strict=True):
        if e.dtype.is_floating_point:
            e.mul_(decay).add_(m.detach(), alpha=1 - decay)
        else:
            e.copy_(m)


def train_one_epoch(model, optimizer, sources: list[Source], mix: dict[str, float], args,
                    epoch, step, total_steps, warmup_steps, mean, std, ema=None,
                    generator=None, log_prior: torch.Tensor | None = None):
    model.train()
    nb = steps_per_epoch(sources, args)
    bar = tqdm(range(nb), desc=f"epoch {epoch + 1}/{args.epochs}", leave=False, mininterval=5)
    run_loss = run_acc = 0.0
    for i in bar:
        xs, ys = [], []
        # Sets differ in stored size (FER+ 48 px, the others the input size): each part
        # is warped to the input size on its own.
        for src, idx in draw_batch(sources, mix, args.batch_size, generator):
            xs.append(augment_batch(src.images[idx], args.input_size, generator=generator))
            ys.append(src.targets[idx])
        x = torch.cat(xs)
        if args.degrade:
            x = degrade_batch(x, generator=generator)
        y = torch.cat(ys)
        x = normalize(x, mean, std).to(args.device)
        y = y.to(args.device)
        for g in optimizer.param_groups:
            g["lr"] = lr_at(step, total_steps, warmup_steps, args.lr)
        with torch.autocast(device_type=args.device.split(":")[0], dtype=torch.bfloat16,
                            enabled=args.amp):
            logits = model(x)
        trained = logits.float() + log_prior.to(logits.device) if log_prior is not None \
            else logits
        loss = soft_cross_entropy(trained, y, args.label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if ema is not None:
            update_ema(ema, model, args.ema_decay)
        step += 1
        acc = (logits.argmax(1) == y.argmax(1)).float().mean().item()
        run_loss = 0.95 * run_loss + 0.05 * loss.item() if i else loss.item()
        run_acc = 0.95 * run_acc + 0.05 * acc if i else acc
        bar.set_postfix(loss=f"{run_loss:.3f}", acc=f"{run_acc:.3f}",
                        lr=f"{optimizer.param_groups[0]['lr']:.4f}")
    return step, run_loss, run_acc


def steps_per_epoch(sources: list[Source], args) -> int:
    size = args.epoch_size or sum(len(s.images) for s in sources)
    return max(1, size // args.batch_size)


def evaluate(model, ema, valid_sets: list[ValidSet], args, mean,
             std) -> tuple[dict, float]:
    """Both networks on the valid splits (``validate``) and the one the epoch keeps, the
    EMA where it scores higher: the figures of the epoch's log line, and the kept one's
    selection score."""
    val = validate(model, valid_sets, args.input_size, mean, std, args.device, args.amp)
    val_ema = validate(ema, valid_sets, args.input_size, mean, std, args.device, args.amp) \
        if ema is not None else {"score": -1.0}
    which, chosen = ("ema", val_ema) if val_ema["score"] > val["score"] else ("model", val)
    return {"valid_acc": val[FERPLUS]["accuracy"], "score": val["score"],
            "score_ema": val_ema["score"], "which": which,
            "valid": {k: v for k, v in chosen.items() if k != "score"}}, chosen["score"]


def initial_weights(path: str) -> tuple[dict, float, float, str]:
    """Weights, input mean and std from a train.py checkpoint or from a model file."""
    if path.endswith(".pt"):
        extra = {"meta.json": ""}
        module = torch.jit.load(path, map_location="cpu", _extra_files=extra)
        meta = json.loads(extra["meta.json"])
        weights = {k: v.float() if v.is_floating_point() else v
                   for k, v in module.state_dict().items()}
        return weights, meta["mean"][0], meta["std"][0], f"model {meta['version']}"
    start = load_checkpoint(path)
    return start.best_weights, start.mean, start.std, f"valid {start.best['acc']:.4f}"


def main(args) -> dict:
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    mix = parse_mix(args.mix)
    sources = load_sources(mix, args.data, args.sets_root, args.input_size, args.cache_dir,
                           args.smoothing, args.limit)
    valid_sets = load_valid(list(dict.fromkeys([FERPLUS, *mix])), args.data, args.sets_root,
                            args.input_size, args.cache_dir)
    fer = next((s for s in sources if s.name == FERPLUS), sources[0])
    pixels = fer.images.float().div(255)
    mean, std = round(pixels.mean().item(), 4), round(pixels.std().item(), 4)
    del pixels
    print("train " + ", ".join(f"{s.name} {len(s.images)} ({mix[s.name]:.0%})" for s in sources)
          + "; valid " + ", ".join(f"{v.name} {len(v.images)}" for v in valid_sets)
          + f"; mean {mean} std {std}", flush=True)
    prior = class_prior(sources, mix)
    print("class prior of the mix: " + ", ".join(
        f"{n} {p:.3f}" for n, p in zip(LABELS, prior.tolist(), strict=True)), flush=True)
    log_prior = args.logit_adjust * prior.log() if args.logit_adjust else None

    model = resnet34(num_classes=8)
    if args.weights:
        weights, mean, std, what = initial_weights(args.weights)
        model.load_state_dict(weights)
        # The input statistics belong to the weights: keep them.
        print(f"weights from {args.weights} ({what}); mean {mean} std {std}", flush=True)
    model = model.to(args.device).to(memory_format=torch.channels_last)
    modules = dict(model.named_modules())
    for name in filter(None, args.freeze.split(",")):
        if not name or name not in modules:
            raise SystemExit(f"--freeze: no module {name!r}; valid: "
                             f"{', '.join(n for n, _ in model.named_children())} "
                             "(or a dotted name inside one, e.g. blocks.0)")
        modules[name].requires_grad_(False)
    ema = copy.deepcopy(model) if args.ema_decay else None
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=args.lr,
                                momentum=args.momentum, weight_decay=args.weight_decay,
                                nesterov=True)
    total_steps = steps_per_epoch(sources, args) * args.epochs
    warmup_steps = int(args.warmup_epochs * steps_per_epoch(sources, args))
    start_epoch, step, best = 0, 0, {"acc": -1.0}
    generator = torch.Generator().manual_seed(args.seed)
    ckpt_path = out / "checkpoint.pth"
    if args.resume and ckpt_path.is_file():
        ckpt = load_checkpoint(ckpt_path)
        model.load_state_dict(ckpt.model)
        if ema is not None and ckpt.ema:
            ema.load_state_dict(ckpt.ema)
        optimizer.load_state_dict(ckpt.optimizer)
        start_epoch, step, best = ckpt.epoch + 1, ckpt.step, ckpt.best
        mean, std = ckpt.mean, ckpt.std
        generator.set_state(ckpt.generator)
        print(f"resumed at epoch {start_epoch}", flush=True)

    log = (out / "log.jsonl").open("a")
    for epoch in range(start_epoch, args.epochs):
        t0 = time.time()
        step, loss, acc = train_one_epoch(model, optimizer, sources, mix, args, epoch, step,
                                          total_steps, warmup_steps, mean, std, ema,
                                          generator, log_prior)
        val, score = evaluate(model, ema, valid_sets, args, mean, std)
        rec = {"epoch": epoch + 1, "loss": round(loss, 4), "train_acc": round(acc, 4), **val,
               "seconds": round(time.time() - t0, 1)}
        print(json.dumps(rec), flush=True)
        log.write(json.dumps(rec) + "\n")
        log.flush()
        # The mix's class prior goes with the weights: export shifts the logits back by it.
        state = Checkpoint(args=vars(args), mean=mean, std=std, prior=prior, epoch=epoch,
                           step=step, model=model.state_dict(),
                           ema=ema.state_dict() if ema else None,
                           optimizer=optimizer.state_dict(), generator=generator.get_state(),
                           best=best)
        if score > best["acc"]:
            # "acc" is the selection score (FER2013Valid accuracy for FER+ alone).
            best = {"acc": score, "epoch": epoch + 1, "which": val["which"]}
            chosen = ema if val["which"] == "ema" else model
            save_checkpoint(dataclasses.replace(state, best=best, weights=chosen.state_dict()),
                            out / "best.pth")
        state.best = best
        save_checkpoint(state, ckpt_path)
        if epoch >= args.epochs - args.keep_last:
            save_checkpoint(state, out / f"epoch-{epoch + 1:02d}.pth")
    print(f"best valid score {best['acc']:.4f} ({best.get('which')}, epoch "
          f"{best.get('epoch')})", flush=True)
    return best


if __name__ == "__main__":
    main(get_args_parser().parse_args())
