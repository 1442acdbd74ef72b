"""A model file's network as a train.py checkpoint, its export shifts taken back out, so the
tools that read checkpoints (``training.operating_point``, ``training.soup``, a teacher)
can put the served file beside a run of the same mix on the same terms.

    python -m training.file_checkpoint models/emotion-resnet34.pt \\
        --shift prior=0.25,Contempt=-0.7,Anger=0.4 --like runs/student2/best.pth \\
        --output runs/shipped/best.pth

A model file holds neither its training mix's class prior nor the shifts its export folded
into ``fc.bias``: ``--shift`` names the shifts (the export command's ``--prior-shift``,
``--contempt-offset``, ``--class-offset``), and ``--like`` a checkpoint trained on the same
mix, whose args and prior the new checkpoint takes. Prints the valid splits' figures, as
train.py's validation gives them for its epochs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from function.model import read_info
from training.distill import export_shift
from training.mix import FERPLUS, load_valid, parse_mix
from training.resnet import from_model_file
from training.train import validate


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", help="a model file holding a plain ResNet-34")
    p.add_argument("--shift", default="",
                   help="what its export folded into fc.bias, e.g. prior=0.25,Contempt=-0.7")
    p.add_argument("--like", required=True,
                   help="a train.py checkpoint of the same mix: its args and class prior")
    p.add_argument("--output", required=True)
    p.add_argument("--no-validate", dest="validate", action="store_false",
                   help="write the checkpoint without the valid splits' figures")
    return p


def main(args: argparse.Namespace) -> dict:
    net = from_model_file(args.model)
    if net is None:
        raise SystemExit(f"{args.model} holds no plain ResNet-34 (an int8 copy or a view "
                         "average)")
    like = torch.load(args.like, map_location="cpu", weights_only=False)
    prior = like["prior"]
    with torch.no_grad():
        net.fc.bias -= export_shift(args.shift, prior)
    info = read_info(args.model)
    targs = {**like["args"], "teacher": None, "weights": args.model,
             "input_size": info.input_size}
    ckpt = {"args": targs, "mean": info.mean[0], "std": info.std[0], "prior": prior,
            "epoch": 0, "best": {"acc": 0.0, "epoch": 0, "which": "model"},
            "weights": net.state_dict(), "source": {"model": info.id, "shift": args.shift}}
    if args.validate:
        a = argparse.Namespace(**targs)
        names = list(dict.fromkeys([FERPLUS, *parse_mix(a.mix)]))
        val = validate(net, load_valid(names, a.data, a.sets_root, a.input_size, a.cache_dir),
                       a, ckpt["mean"], ckpt["std"])
        ckpt["best"]["acc"] = val["score"]
        what = "FER2013Valid accuracy" if names == [FERPLUS] else "mean UAR over the valid splits"
        print(f"{info.id}, shifts taken out: {what} {val['score']:.4f}")
        for name, m in val.items():
            if name != "score":
                print(f"  {name}: accuracy {m['accuracy']:.3f}, UAR {m['uar']:.3f}, called "
                      f"Contempt {m['false_contempt']:.3f}")
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    torch.save(ckpt, args.output)
    return ckpt


if __name__ == "__main__":
    main(get_args_parser().parse_args())
