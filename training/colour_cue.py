"""How far colour alone tells the contempt set from the others: the measurement behind
training in grey (models/README.md).

    python -m training.colour_cue

Five numbers per picture (mean R, G, B, mean saturation, share of near-grey pixels), a
logistic regression fitted on the train splits to say "is this affectnet_contempt?", scored
on the valid splits. Whatever such a fit finds is a cue a colour network could learn in
place of the expression, since only that set teaches Contempt; FER+, the largest share of
the mix, is grey throughout, so colour would also say "FER+ or not".
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from training.expressions import read_rows

CONTEMPT_SET, OTHERS = "affectnet_contempt", ("expw", "sfew", "taiwanese")


def colour_features(folder: Path, split: str, cap: int, seed: int = 0) -> np.ndarray:
    rows = read_rows(folder, split)
    rows = [rows[i] for i in np.random.default_rng(seed).permutation(len(rows))[:cap]]
    out = []
    for path, _ in rows:
        with Image.open(folder / path) as im:
            small = im.convert("RGB").resize((32, 32))
        rgb = np.asarray(small, np.float32) / 255
        sat = np.asarray(small.convert("HSV"), np.float32)[..., 1] / 255
        out.append([*rgb.mean((0, 1)), sat.mean(), (sat < 0.08).mean()])
    return np.array(out, np.float32)


def fit_logistic(x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.astype(np.float32))
    w, b = torch.zeros(x.shape[1], requires_grad=True), torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=200)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(xt @ w + b, yt)
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach(), b.detach()


def main(args: argparse.Namespace) -> dict:
    root = Path(args.sets_root)
    data = {split: [(colour_features(root / s, split, args.cap), s == CONTEMPT_SET)
                    for s in (CONTEMPT_SET, *OTHERS)] for split in ("train", "valid")}
    for split, parts in data.items():
        for (f, _), name in zip(parts, (CONTEMPT_SET, *OTHERS), strict=True):
            print(f"{split:<6}{name:<20} {len(f):>5} pictures, mean saturation "
                  f"{f[:, 3].mean():.3f}, grey pictures {(f[:, 3] < 0.05).mean():.3f}")

    def stack(split: str) -> tuple[np.ndarray, np.ndarray]:
        return (np.concatenate([f for f, _ in data[split]]),
                np.concatenate([np.full(len(f), pos) for f, pos in data[split]]))

    xtr, ytr = stack("train")
    xva, yva = stack("valid")
    mu, sd = xtr.mean(0), xtr.std(0) + 1e-6
    w, b = fit_logistic((xtr - mu) / sd, ytr)
    score = (torch.from_numpy((xva - mu) / sd) @ w + b).numpy()
    pos, neg = score[yva], score[~yva]
    auc = float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())
    print(f"colour alone, 'is it {CONTEMPT_SET}?' on the valid splits: AUC {auc:.3f} "
          f"(0.5 = no cue; {int(yva.sum())} of {len(yva)} pictures are of that set)")
    return {"auc": auc}


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Colour as a cue to the contempt set")
    p.add_argument("--sets-root", default="../shared/data")
    p.add_argument("--cap", type=int, default=1500, help="pictures per set and split")
    return p


if __name__ == "__main__":
    main(get_args_parser().parse_args())
