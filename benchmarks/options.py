"""Ways to run the same classifier faster on CPU, each measured the same way.

    python -m benchmarks.options [--model PATH] [--data ../shared/data/ferplus]
                                 [--only NAME ...] [--runs 50] [--no-detector]

Every option computes what the model file computes (the network, averaged with its
mirror when the file does). Per option: per-face latency (batch of 1, network only) at 1
and 2 threads, the p50 of a whole 640x480 frame (decode, detect, classify) at 2 threads,
the largest probability difference from the shipped file on 64 real faces, and, with
--data, majority-protocol accuracy on FER2013Valid and FER2013Test for the options that
change the arithmetic (bf16, int8). Then benchmarks.detector's table of face detectors.
Not a test: figures for docs/performance.md (machines are noisy).
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from benchmarks.common import machine, median_ms, webcam_frame
from function.model import EmotionModel, default_model_path, load_model
from training.resnet import from_model_file

Forward = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class Context:
    path: Path
    shipped: EmotionModel
    eager: nn.Module          # fp32 eager network with the file's weights (and views)
    example: torch.Tensor     # one preprocessed face
    calibration: torch.Tensor  # preprocessed training faces, for int8 calibration
    tmp: Path


def _trace_freeze(module: nn.Module, example: torch.Tensor) -> torch.jit.ScriptModule:
    with torch.no_grad():
        traced = torch.jit.trace(module.eval(), example)
    return torch.jit.freeze(traced.eval())


def fused(ctx: Context, _: int) -> Forward:
    # Loaded again, after measure() set the threads: the graph is compiled at load.
    return load_model(ctx.path, precision="fp32").module


def fused_bf16(ctx: Context, _: int) -> Forward:
    module = load_model(ctx.path, precision="bf16").module
    return lambda x: module(x.to(torch.bfloat16)).float()


def unfused(ctx: Context, _: int) -> Forward:
    return load_model(ctx.path, fuse=False, precision="fp32").module


def optimize_for_inference(ctx: Context, _: int) -> Forward:
    script = torch.jit.load(str(ctx.path), map_location="cpu").float().eval()
    return torch.jit.optimize_for_inference(torch.jit.freeze(script))


def channels_last(ctx: Context, _: int, optimize: bool = False) -> Forward:
    net = _copy(ctx.eager).to(memory_format=torch.channels_last)
    module = _trace_freeze(net, ctx.example.to(memory_format=torch.channels_last))
    if optimize:
        module = torch.jit.optimize_for_inference(module)
    return lambda x: module(x.contiguous(memory_format=torch.channels_last))


def bf16_autocast(ctx: Context, _: int) -> Forward:
    net = ctx.eager

    def run(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            return net(x).float()
    return run


def bf16_traced(ctx: Context, _: int) -> Forward:
    # cache_enabled=False: the cast weights must not be cached outside the traced graph.
    with torch.autocast("cpu", dtype=torch.bfloat16, cache_enabled=False):
        module = _trace_freeze(_copy(ctx.eager), ctx.example)
    return lambda x: module(x).float()


def int8_dynamic(ctx: Context, _: int) -> Forward:
    """Dynamic quantisation covers Linear layers only: here just the final fc."""
    from torch.ao.quantization import quantize_dynamic

    q = quantize_dynamic(_copy(ctx.eager), {nn.Linear}, dtype=torch.qint8)
    return lambda x: q(x)


def int8_static_fx(ctx: Context, _: int) -> Forward:
    """Post-training static int8 (FX graph mode, x86 backend), calibrated on training faces."""
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    torch.backends.quantized.engine = "x86"
    prepared = prepare_fx(_copy(ctx.eager), get_default_qconfig_mapping("x86"),
                          example_inputs=(ctx.example,))
    with torch.no_grad():
        for batch in ctx.calibration.split(64):
            prepared(batch)
    return _trace_freeze(convert_fx(prepared), ctx.example)


def _onnx_file(ctx: Context) -> Path:
    out = ctx.tmp / "model.onnx"
    if not out.is_file():
        torch.onnx.export(ctx.eager, (ctx.example,), str(out), dynamo=False, opset_version=17,
                          input_names=["x"], output_names=["logits"],
                          dynamic_axes={"x": {0: "n"}, "logits": {0: "n"}})
    return out


def _ort_forward(path: Path, threads: int) -> Forward:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Idle ORT threads spin by default, stealing the CPU the face detector needs next.
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    return lambda x: torch.from_numpy(sess.run(None, {"x": x.numpy()})[0])


def onnxruntime_fp32(ctx: Context, threads: int) -> Forward:
    return _ort_forward(_onnx_file(ctx), threads)


def onnxruntime_int8(ctx: Context, threads: int) -> Forward:
    """ONNX Runtime static int8 (QDQ, per-channel weights), same calibration faces."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    out = ctx.tmp / "model-int8.onnx"
    if not out.is_file():
        class Reader(CalibrationDataReader):
            def __init__(self) -> None:
                self.batches = iter(ctx.calibration.split(64))

            def get_next(self) -> dict | None:
                b = next(self.batches, None)
                return None if b is None else {"x": b.numpy()}

        logging.disable(logging.WARNING)   # one line per folded conv bias: noise here
        try:
            quantize_static(str(_onnx_file(ctx)), str(out), Reader(),
                            quant_format=QuantFormat.QDQ, per_channel=True,
                            weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8)
        finally:
            logging.disable(logging.NOTSET)
    return _ort_forward(out, threads)


def _copy(net: nn.Module) -> nn.Module:
    import copy

    return copy.deepcopy(net).eval()


# name -> (builder, changes the arithmetic: accuracy is measured)
OPTIONS: dict[str, tuple[Callable[[Context, int], Forward], bool]] = {
    "TorchScript, frozen, oneDNN fusion (LLGA), fp32 (shipped without bf16 CPUs)": (
        fused, False),
    "the same in bf16 (shipped where the CPU has bf16 instructions)": (fused_bf16, True),
    "bf16 autocast, traced + frozen": (bf16_traced, True),
    "TorchScript, frozen, no fusion": (unfused, False),
    "+ optimize_for_inference": (optimize_for_inference, False),
    "channels_last": (channels_last, False),
    "channels_last + optimize_for_inference": (
        lambda c, t: channels_last(c, t, optimize=True), False),
    "bf16 autocast, eager": (bf16_autocast, True),
    "int8 dynamic (Linear only)": (int8_dynamic, True),
    "int8 static PTQ (FX, x86)": (int8_static_fx, True),
    "ONNX Runtime fp32": (onnxruntime_fp32, False),
    "ONNX Runtime int8 static (QDQ)": (onnxruntime_int8, True),
}


def as_model(forward: Forward, like: EmotionModel) -> EmotionModel:
    """The shipped pre- and post-processing around another forward function."""
    return EmotionModel(forward, like.info)  # type: ignore[arg-type]


def frame_p50(model: EmotionModel, runs: int) -> float:
    from function.detect import FaceDetector
    from function.service import analyse

    jpeg, detector = webcam_frame(), FaceDetector(threads=torch.get_num_threads())
    return median_ms(lambda: analyse(jpeg, True, model, detector), runs)


def accuracy(model: EmotionModel, data: Path, split: str) -> float:
    from training.evaluate import probabilities
    from training.ferplus import majority_labels, read_split
    from training.metrics import metrics

    s = read_split(data / split, ".cache/ferplus")
    labels = majority_labels(s.votes)
    keep = labels >= 0
    with torch.no_grad():
        probs = probabilities(model, s.images[keep])
    return metrics(probs, torch.from_numpy(labels[keep]), model.info.labels)["accuracy"]


def faces(model: EmotionModel, images: np.ndarray) -> torch.Tensor:
    from PIL import Image

    return model.preprocess([Image.fromarray(a) for a in images])


def make_context(path: Path, data: Path | None, calibration: int, tmp: Path) -> Context:
    from training.export import ViewAverage

    model = load_model(path, precision="fp32")     # the reference: the file's own arithmetic
    net, views = from_model_file(path), model.info.views
    if net is None:
        raise SystemExit(f"{path} does not hold a ResNet-34: the options need its weights")
    eager = (ViewAverage(net, model.info.input_size, views) if views > 1 else net).eval()
    calib = faces(model, _faces(data, "FER2013Train", max(1, calibration)))
    return Context(path, model, eager, calib[:1].clone(), calib, tmp)


def _faces(data: Path | None, split: str, n: int) -> np.ndarray:
    """n faces spread over a split (random noise when no data was given)."""
    if data is None:
        return np.random.default_rng(0).integers(0, 255, (n, 48, 48), np.uint8)
    from training.ferplus import read_split

    images = read_split(data / split, ".cache/ferplus").images
    return images[np.linspace(0, len(images) - 1, n).astype(int)]


def measure(name: str, ctx: Context, args: argparse.Namespace, probe: torch.Tensor,
            reference: torch.Tensor) -> dict:
    build, lossy = OPTIONS[name]
    row: dict = {"option": name}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        forward = build(ctx, threads)
        row[f"ms{threads}"] = median_ms(lambda f=forward: f(ctx.example), args.runs)
    model = as_model(forward, ctx.shipped)   # the 2-thread build from here on
    row["frame"] = frame_p50(model, args.frame_runs)
    with torch.no_grad():
        row["diff"] = (model.probabilities(probe) - reference).abs().max().item()
    if args.data and (lossy or args.accuracy == "all"):
        for split in ("FER2013Valid", "FER2013Test"):
            row[split] = accuracy(model, Path(args.data), split)
    return row


def print_table(rows: list[dict]) -> None:
    base = rows[0]
    print("| option | per-face ms, 1 thread | per-face ms, 2 threads | frame p50 ms | "
          "max prob diff | Valid acc | Test acc |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        acc = [f"{r[s]:.4f} ({(r[s] - base[s]) * 100:+.2f})" if s in r and s in base
               else (f"{r[s]:.4f}" if s in r else "-") for s in ("FER2013Valid", "FER2013Test")]
        print(f"| {r['option']} | {r['ms1']:.2f} | {r['ms2']:.2f} | {r['frame']:.1f} | "
              f"{r['diff']:.4f} | {acc[0]} | {acc[1]} |")


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None, help="model file (default: the one in models/)")
    p.add_argument("--data", default=None, help="FER+ folder: measure accuracy too")
    p.add_argument("--accuracy", choices=("lossy", "all"), default="lossy")
    p.add_argument("--only", action="append", help="option names (substring match)")
    p.add_argument("--runs", type=int, default=50, help="timed batch-of-1 calls per option")
    p.add_argument("--frame-runs", type=int, default=30)
    p.add_argument("--calibration", type=int, default=512, help="training faces for int8")
    p.add_argument("--no-detector", action="store_true")
    return p


def main(args: argparse.Namespace) -> None:
    path = Path(args.model) if args.model else default_model_path()
    data = Path(args.data) if args.data else None
    with tempfile.TemporaryDirectory(prefix="options-") as tmp:
        ctx = make_context(path, data, args.calibration, Path(tmp))
        probe = faces(ctx.shipped, _faces(data, "FER2013Valid", 64))
        torch.set_num_threads(2)
        reference = ctx.shipped.probabilities(probe)
        names = [n for n in OPTIONS if n == next(iter(OPTIONS))
                 or not args.only or any(o.lower() in n.lower() for o in args.only)]
        rows = []
        for name in names:
            t0 = time.perf_counter()
            rows.append(measure(name, ctx, args, probe, reference))
            print(f"measured {name} in {time.perf_counter() - t0:.0f} s", flush=True)
        if data and "FER2013Valid" not in rows[0]:
            for split in ("FER2013Valid", "FER2013Test"):
                rows[0][split] = accuracy(ctx.shipped, data, split)
    print(f"\n{ctx.shipped.info.id}; {machine()}")
    print_table(rows)
    if not args.no_detector:
        from benchmarks import detector

        print()
        detector.main(detector.get_args_parser().parse_args(["--runs", str(args.frame_runs)]))


if __name__ == "__main__":
    main(get_args_parser().parse_args())
