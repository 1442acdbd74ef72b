"""Evaluate a model file on a FER+ split, through the same code path as the API.

    python -m training.evaluate --model models/ferplus-resnet34.pt --split FER2013Test

Prints majority-protocol accuracy, per-class recall, macro-F1, the confusion matrix,
calibration error (ECE) and per-face CPU latency at 1 and 2 threads.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from function.model import EmotionModel, default_model_path, load_model
from training.export import expected_calibration_error
from training.ferplus import SPLITS, majority_labels, read_split


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Evaluate a model file on FER+")
    p.add_argument("--model", default=None, help="model file (default: the one in models/)")
    p.add_argument("--data", default="../shared/data/ferplus")
    p.add_argument("--split", default="FER2013Test", choices=SPLITS)
    p.add_argument("--cache-dir", default=".cache/ferplus")
    p.add_argument("--latency-runs", type=int, default=200)
    p.add_argument("--confusion-png", default=None, help="write the confusion matrix picture")
    p.add_argument("--json", default=None, help="write all figures as JSON")
    p.add_argument("--uncalibrated", action="store_true",
                   help="ignore the file's temperature (to see what calibration changed)")
    return p


def probabilities(model: EmotionModel, images: np.ndarray, batch: int = 256) -> torch.Tensor:
    out = []
    for i in range(0, len(images), batch):
        faces = [Image.fromarray(a) for a in images[i:i + batch]]
        out.append(model.probabilities(model.preprocess(faces)))
    return torch.cat(out)


def metrics(probs: torch.Tensor, labels: torch.Tensor, names: tuple[str, ...]) -> dict:
    k = len(names)
    pred = probs.argmax(1)
    cm = torch.zeros(k, k, dtype=torch.long)
    for t, p in zip(labels.tolist(), pred.tolist(), strict=True):
        cm[t, p] += 1
    tp = cm.diag().float()
    recall = tp / cm.sum(1).clamp(min=1)
    precision = tp / cm.sum(0).clamp(min=1)
    f1 = 2 * precision * recall / (precision + recall).clamp(min=1e-12)
    return {"n": len(labels), "accuracy": round((pred == labels).float().mean().item(), 4),
            "macro_f1": round(f1.mean().item(), 4),
            "recall": {n: round(r, 4) for n, r in zip(names, recall.tolist(), strict=True)},
            "ece": round(expected_calibration_error(probs, labels), 4),
            "confusion": cm.tolist()}


def latency_ms(path: Path, threads: int, runs: int) -> dict:
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    # Loaded afresh, as the server does after setting its threads: the graph is compiled
    # at load for the thread count of the moment.
    model = load_model(path)
    face = [Image.fromarray(np.random.default_rng(0).integers(0, 255, (96, 96, 3), np.uint8))]
    x = model.preprocess(face)
    for _ in range(10):
        model.probabilities(x)
    fwd, full = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        model.probabilities(x)
        t1 = time.perf_counter()
        model.predict(face)
        t2 = time.perf_counter()
        fwd.append((t1 - t0) * 1e3)
        full.append((t2 - t1) * 1e3)
    torch.set_num_threads(before)
    q = lambda v: round(statistics.quantiles(v, n=100)[98], 2)  # noqa: E731
    return {"model_p50": round(statistics.median(fwd), 2), "model_p99": q(fwd),
            "with_preprocess_p50": round(statistics.median(full), 2)}


def draw_confusion(cm: list[list[int]], names: tuple[str, ...], path: str) -> None:
    """Row-normalised confusion matrix as a PNG (PIL only: no plotting stack needed)."""
    k, cell, left, top = len(names), 64, 110, 110
    img = Image.new("RGB", (left + k * cell + 10, top + k * cell + 30), "white")
    d = ImageDraw.Draw(img)
    for i, row in enumerate(cm):
        total = max(1, sum(row))
        for j, v in enumerate(row):
            share = v / total
            shade = int(255 * (1 - share))
            x0, y0 = left + j * cell, top + i * cell
            d.rectangle([x0, y0, x0 + cell - 1, y0 + cell - 1], fill=(shade, shade, 255))
            d.text((x0 + 8, y0 + 18), f"{share:.2f}", fill="white" if share > 0.5 else "black")
            d.text((x0 + 8, y0 + 34), f"({v})", fill="white" if share > 0.5 else "black")
        d.text((8, top + i * cell + 26), names[i], fill="black")
    for j, n in enumerate(names):
        d.text((left + j * cell + 4, top - 20), n[:9], fill="black")
    d.text((left, 10), "true label (rows) vs predicted (columns), share of each row", fill="black")
    d.text((left, top + k * cell + 10), "predicted", fill="black")
    img.save(path)


def main(args: argparse.Namespace) -> dict:
    path = Path(args.model) if args.model else default_model_path()
    model = load_model(path)
    if args.uncalibrated:
        model.info = dataclasses.replace(model.info, temperature=1.0)
    split = read_split(Path(args.data) / args.split, args.cache_dir)
    labels = majority_labels(split.votes)
    keep = labels >= 0
    probs = probabilities(model, split.images[keep])
    result = {"model": model.info.id, "file": path.name,
              "file_mib": round(path.stat().st_size / 2**20, 1), "split": args.split,
              **metrics(probs, torch.from_numpy(labels[keep]), model.info.labels),
              "latency_ms": {f"{t}_threads": latency_ms(path, t, args.latency_runs)
                             for t in (1, 2)}}
    names = model.info.labels
    print(f"{result['model']} on {args.split} ({result['n']} faces, majority protocol)")
    print(f"accuracy {result['accuracy']:.4f}  macro-F1 {result['macro_f1']:.4f}  "
          f"ECE {result['ece']:.4f}  file {result['file_mib']} MiB")
    print("recall  " + "  ".join(f"{n} {r:.3f}" for n, r in result["recall"].items()))
    print("confusion (rows: true, columns: predicted)")
    print(" " * 10 + "".join(f"{n[:8]:>9}" for n in names))
    for n, row in zip(names, result["confusion"], strict=True):
        print(f"{n[:10]:<10}" + "".join(f"{v:>9}" for v in row))
    for t, lat in result["latency_ms"].items():
        print(f"latency per face, {t}: model p50 {lat['model_p50']} ms, p99 "
              f"{lat['model_p99']} ms; with preprocessing p50 {lat['with_preprocess_p50']} ms")
    if args.confusion_png:
        draw_confusion(result["confusion"], names, args.confusion_png)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main(get_args_parser().parse_args())
