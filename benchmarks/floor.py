"""Per-face classification latency against the compute floor of this CPU.

    python -m benchmarks.floor [--model PATH] [--runs 100] [--size 2048]

floor = the model file's FLOPs for one face / the fp32 GFLOP/s a matrix product reaches
here at the same thread count: torch.mm, and the same product through oneDNN. FLOPs are
counted twice, independently: forward hooks on an eager ResNet-34 holding the file's
weights (Conv2d and Linear MACs x 2, times the test-time views the file says it averages),
and PyTorch's FlopCounterMode on the loaded file itself.
Not a test: figures for docs/performance.md (machines are noisy).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.common import machine, median_ms
from function.model import default_model_path, load_model
from training.resnet import from_model_file


def hook_flops(net: nn.Module, x: torch.Tensor) -> int:
    """Conv2d and Linear MACs x 2 of one forward pass, read off forward hooks."""
    total = 0

    def conv(m: nn.Conv2d, _: tuple, out: torch.Tensor) -> None:
        nonlocal total
        k = m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
        total += 2 * out.numel() * k

    def linear(m: nn.Linear, _: tuple, out: torch.Tensor) -> None:
        nonlocal total
        total += 2 * out.numel() * m.in_features

    handles = [m.register_forward_hook(conv if isinstance(m, nn.Conv2d) else linear)
               for m in net.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    with torch.inference_mode():
        net(x)
    for h in handles:
        h.remove()
    return total


def matmul_gflops(threads: int, n: int, runs: int = 10) -> tuple[float, float]:
    """fp32 GFLOP/s of an n x n matrix product: torch.mm (MKL), and the same product
    through oneDNN (torch's mkldnn linear). MKL takes its AVX2 path on AMD CPUs while
    oneDNN, which runs the convolutions, uses AVX-512: only the faster is a floor."""
    import torch.utils.mkldnn as mkldnn

    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    mm = median_ms(lambda: torch.mm(a, b), runs, warmup=2)
    linear = nn.Linear(n, n, bias=False).eval()
    with torch.no_grad():
        linear.weight.copy_(b.t())
        dnn_linear, a_dnn = mkldnn.to_mkldnn(linear), a.to_mkldnn()
        dnn = median_ms(lambda: dnn_linear(a_dnn), runs, warmup=2)
    return 2 * n**3 / (mm / 1e3) / 1e9, 2 * n**3 / (dnn / 1e3) / 1e9


def per_face_ms(path: Path, threads: int, runs: int) -> tuple[float, float]:
    """Median ms of the network alone and of predict() (with preprocessing), batch of 1."""
    from PIL import Image

    torch.set_num_threads(threads)
    # Compiled for this thread count, as the server loads it; fp32, as the floor is.
    model = load_model(path, precision="fp32")
    face = Image.new("RGB", (160, 160), (120, 110, 100))
    x = model.preprocess([face])
    return (median_ms(lambda: model.probabilities(x), runs),
            median_ms(lambda: model.predict([face]), runs))


def count_flops(path: Path) -> dict:
    # FlopCounterMode sees aten ops only, and oneDNN's fused groups are not: count unfused.
    model = load_model(path, fuse=False, precision="fp32")
    s = model.info.input_size
    x = torch.zeros(1, 3, s, s)
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model.module(x)
    passes, eager = model.info.views, from_model_file(path)
    hooks = hook_flops(eager, x) * passes if eager is not None else None
    return {"passes": passes, "hooks": hooks, "counter": counter.get_total_flops()}


def main(args: argparse.Namespace) -> None:
    path = Path(args.model) if args.model else default_model_path()
    model = load_model(path)
    flops = count_flops(path)
    s = model.info.input_size
    hooks = f"{flops['hooks'] / 1e9:.3f}" if flops["hooks"] else "n/a (not a ResNet-34)"
    print(f"{model.info.id}: {s}x{s} input, {flops['passes']} network pass(es) per face")
    print(f"GFLOP per face: forward hooks {hooks}; FlopCounterMode on the file "
          f"{flops['counter'] / 1e9:.3f}")
    print(machine())
    print("| threads | torch.mm GFLOP/s | oneDNN GFLOP/s | floor ms (torch.mm / oneDNN) | "
          "network ms | ratio (torch.mm / oneDNN) | predict() ms |")
    print("|---|---|---|---|---|---|---|")
    for t in (1, 2):
        rates = matmul_gflops(t, args.size)
        floors = [flops["counter"] / (r * 1e9) * 1e3 for r in rates]
        net, full = per_face_ms(path, t, args.runs)
        print(f"| {t} | {rates[0]:.0f} | {rates[1]:.0f} | {floors[0]:.2f} / {floors[1]:.2f} | "
              f"{net:.2f} | {net / floors[0]:.1f}x / {net / floors[1]:.1f}x | {full:.2f} |")


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None, help="model file (default: the one in models/)")
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--size", type=int, default=2048, help="side of the torch.mm matrices")
    return p


if __name__ == "__main__":
    main(get_args_parser().parse_args())
