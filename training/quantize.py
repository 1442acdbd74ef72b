"""Make the int8 copy of a float model file: post-training static quantisation.

    python -m training.quantize [--model models/emotion-resnet34.pt] [--per-set 256]

Writes ``<model>.int8.pt`` beside the file (function.model.int8_path), which the API's
``MODEL_PRECISION=int8`` (and ``auto`` on CPUs without bf16) loads instead. The weights
are quantised per output channel, the activations per tensor with ranges observed on faces
of every set's train split (FLOAT_LAYERS stay float), through the API's preprocessing:
webcam frames are not FER+'s faces, so FER+ alone would set the ranges for one kind of
picture. PyTorch's x86 backend (FBGEMM, with oneDNN's kernels where they are faster).
Then checks the copy against the float file on every set's valid split and prints how
often they agree.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from function.model import (
    EmotionModel,
    ModelInfo,
    default_model_path,
    int8_path,
    load_model,
    read_info,
    save_model,
)
from training.expressions import SETS
from training.mix import FERPLUS, load_sources, load_valid
from training.resnet import from_model_file

BACKEND = "x86"
# Left in float: the first convolution reads the picture itself (one grey value on three
# channels) and the last layer writes the logits the temperature divides. With both in
# int8 the valid splits' UAR fell by up to 1.0 point (taiwanese, anger 0.68 -> 0.64); with
# these two in float by at most 0.4 in the first copy and 1.0 in today's (taiwanese, anger
# 0.66), at the same speed (about half of fp32's per face). Figures: models/README.md.
FLOAT_LAYERS = ("conv1", "fc")


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Make the int8 copy of a model file")
    p.add_argument("--model", default=None, help="float model file (default: the one in models/)")
    p.add_argument("--output", default=None, help="default: the model's int8 path")
    p.add_argument("--data", default="../shared/data/ferplus", help="the FER+ folder")
    p.add_argument("--sets-root", default="../shared/data", help="folder of the other sets")
    p.add_argument("--cache-dir", default=".cache/ferplus")
    p.add_argument("--per-set", type=int, default=256,
                   help="calibration faces from each set's train split, evenly spread")
    return p


def spread(images: np.ndarray, n: int) -> np.ndarray:
    return images[np.linspace(0, len(images) - 1, min(n, len(images))).astype(int)]


def preprocess(model: EmotionModel, images: np.ndarray) -> torch.Tensor:
    return model.preprocess([Image.fromarray(a) for a in images])


def quantize(net: nn.Module, calibration: torch.Tensor) -> nn.Module:
    """The network in int8, its activation ranges observed on ``calibration``."""
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    torch.backends.quantized.engine = BACKEND
    mapping = get_default_qconfig_mapping(BACKEND)
    for name in FLOAT_LAYERS:
        if hasattr(net, name):
            mapping = mapping.set_module_name(name, None)
    prepared = prepare_fx(net.eval(), mapping, example_inputs=(calibration[:1],))
    with torch.no_grad():
        for batch in calibration.split(64):
            prepared(batch)
    return convert_fx(prepared).eval()


def save_int8(q: nn.Module, example: torch.Tensor, info: ModelInfo, path: Path) -> Path:
    """The quantised network as a model file of its own (``info`` marked quantized)."""
    with torch.no_grad():
        # Frozen before it is saved: the packed int8 weights are then constants of the graph,
        # and a cold start loads and freezes the file in 0.15 s instead of 0.45 s.
        traced = torch.jit.freeze(torch.jit.trace(q, example).eval())
    return save_model(traced, dataclasses.replace(info, quantized=True), path, half=False)


def main(args: argparse.Namespace) -> Path:
    path = Path(args.model) if args.model else default_model_path()
    info = read_info(path)
    if info.quantized:
        raise SystemExit(f"{path} is already an int8 file: give its float file")
    if info.views > 1:
        raise SystemExit(f"{path} averages {info.views} views: only files of one view are "
                         "quantised (the view grid is fp32)")
    net = from_model_file(path)
    if net is None:
        raise SystemExit(f"{path} does not hold a ResNet-34")
    float_model = load_model(path, precision="fp32")
    size = info.input_size
    names = [FERPLUS, *SETS]
    sources = load_sources(dict.fromkeys(names, 1.0), args.data, args.sets_root, size,
                           args.cache_dir, smoothing=0.0)
    calibration = torch.cat([preprocess(float_model, spread(s.images.numpy(), args.per_set))
                             for s in sources])
    print(f"calibrating on {len(calibration)} train faces ({args.per_set} per set of "
          f"{', '.join(names)})")
    out = save_int8(quantize(net, calibration), calibration[:1], info,
                    Path(args.output) if args.output else int8_path(path))

    int8_model = load_model(out)
    print(f"wrote {out} ({out.stat().st_size / 2**20:.1f} MiB), {info.id} in int8; "
          "against the float file on each valid split:")
    for valid in load_valid(names, args.data, args.sets_root, size, args.cache_dir):
        name, labels = valid.name, valid.labels
        x = preprocess(float_model, valid.images.numpy())
        with torch.no_grad():
            a = torch.cat([float_model.probabilities(b) for b in x.split(256)])
            b = torch.cat([int8_model.probabilities(b) for b in x.split(256)])
        same = (a.argmax(1) == b.argmax(1)).float().mean().item()
        acc = [(p.argmax(1) == labels).float().mean().item() for p in (a, b)]
        print(f"  {name:<20} {len(x):>5} faces: same answer {same:.2%}, largest probability "
              f"difference {(a - b).abs().max().item():.3f}, accuracy {acc[0]:.4f} -> "
              f"{acc[1]:.4f}")
    return out


if __name__ == "__main__":
    main(get_args_parser().parse_args())
