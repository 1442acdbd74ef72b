"""What the face-pretrained teacher adds to the served file: the valid splits' figures of
a model file, of a train.py checkpoint, and of their average at a few weights.

The average is taken on log-probabilities: the file's calibrated answer (its export shifts
folded in) and the checkpoint's plain softmax, ``(1 - w) * file + w * checkpoint``. If a
mix beats both, the two networks read faces differently, and a student taught by the mix
(or a file holding both) has something to gain.

    python -m training.ensemble --model models/emotion-resnet34.pt \\
        --checkpoint runs/teacher1/best.pth --weights 0 0.25 0.5 0.75 1
    python -m training.ensemble --checkpoint runs/teacher3/best.pth --weights 0 1 --test
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from function.model import read_info
from training.distill import checkpoint_network
from training.ferplus import majority_faces
from training.metrics import metrics
from training.mix import FERPLUS, ValidSet, load_valid
from training.resnet import from_model_file
from training.train import predict


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="models/emotion-resnet34.pt", help="a model file")
    p.add_argument("--checkpoint", required=True, help="a train.py checkpoint (its best weights)")
    p.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.25, 0.5, 0.75, 1.0],
                   help="shares of the checkpoint in the average")
    p.add_argument("--data", default="../shared/data/ferplus")
    p.add_argument("--sets-root", default="../shared/data")
    p.add_argument("--cache-dir", default=".cache/ferplus")
    p.add_argument("--sets", default="ferplus,expw,taiwanese,sfew,affectnet_contempt")
    p.add_argument("--test", action="store_true",
                   help="FER2013Test (majority protocol) alone, once, instead of the valid "
                        "splits")
    return p


def log_probs_file(path: str, names: list[str], args) -> dict[str, torch.Tensor]:
    """The file's calibrated log-probabilities on each valid split (its network, eager)."""
    info, net = read_info(path), from_model_file(path)
    if net is None:
        raise SystemExit(f"{path} holds no plain ResNet-34 (an int8 copy or a view average)")
    size, mean, std = info.input_size, info.mean[0], info.std[0]
    return {v.name: torch.log_softmax(predict(net, v.images, size, mean, std)
                                      / info.temperature, 1)
            for v in splits(names, size, args)}


def splits(names: list[str], size: int, args) -> list[ValidSet]:
    """The valid splits of ``names``, or with ``--test`` FER2013Test alone."""
    if args.test:
        images, labels = majority_faces(Path(args.data) / "FER2013Test", args.cache_dir)
        return [ValidSet(FERPLUS, torch.from_numpy(images), torch.from_numpy(labels))]
    return load_valid(names, args.data, args.sets_root, size, args.cache_dir)


def main(args) -> list[dict]:
    names = [FERPLUS] if args.test else [n.strip() for n in args.sets.split(",") if n.strip()]
    base = log_probs_file(args.model, names, args)
    ckpt = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    net = checkpoint_network(ckpt)
    size = ckpt["args"]["input_size"]
    valid = {v.name: v for v in splits(names, size, args)}
    taught = {n: torch.log_softmax(predict(net, v.images, size, ckpt["mean"], ckpt["std"]), 1)
              for n, v in valid.items()}
    rows = []
    print(f"{'w':>5} {'mean UAR':>9} " + " ".join(f"{n[:12]:>14}" for n in names)
          + "  (acc / UAR per split; w: share of the checkpoint)")
    for w in args.weights:
        per = {n: metrics(((1 - w) * base[n] + w * taught[n]).softmax(1), valid[n].labels)
               for n in names}
        mean_uar = sum(m["uar"] for m in per.values()) / len(per)
        rows.append({"w": w, "mean_uar": round(mean_uar, 4), "valid": per})
        cells = " ".join(f"{100 * m['accuracy']:6.1f}/{100 * m['uar']:5.1f}  " for m in
                         per.values())
        print(f"{w:5.2f} {mean_uar:9.4f} {cells}")
    if FERPLUS in names:
        print(f"(ferplus is {'FER2013Test' if args.test else 'FER2013Valid'})")
    return rows


if __name__ == "__main__":
    main(get_args_parser().parse_args())
