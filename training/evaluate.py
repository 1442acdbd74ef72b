"""Evaluate a model file on any set's split, through the same code path as the API.

    python -m training.evaluate --split FER2013Test                 # FER+ (majority protocol)
    python -m training.evaluate --set taiwanese --split valid       # any labels.csv set
    python -m training.evaluate --table                             # every set's valid split

Prints accuracy, per-class recall, its mean (UAR), macro-F1, the confusion matrix,
calibration error (ECE), the share of other faces called Contempt, and per-face CPU
latency at 1 and 2 threads. ``--table`` prints one line per valid split instead.
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
from training.expressions import DETECT_SETS, SETS, api_crops, read_rows
from training.ferplus import SPLITS, majority_faces
from training.metrics import metrics

FERPLUS = "ferplus"
# The valid split of every set, FER+ first: what the model card's table shows.
VALID_SPLITS = ((FERPLUS, "FER2013Valid"),) + tuple((s, "valid") for s in SETS)


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Evaluate a model file on a set's split")
    p.add_argument("--model", default=None, help="model file (default: the one in models/)")
    p.add_argument("--set", default=FERPLUS, choices=(FERPLUS, *SETS))
    p.add_argument("--data", default="../shared/data/ferplus", help="the FER+ folder")
    p.add_argument("--sets-root", default="../shared/data", help="folder of the other sets")
    p.add_argument("--split", default=None,
                   help=f"FER+: one of {', '.join(SPLITS)} (default FER2013Test); "
                        "other sets: train or valid (default valid)")
    p.add_argument("--table", action="store_true",
                   help="one line per valid split of every set, no latency")
    p.add_argument("--cache-dir", default=".cache/ferplus")
    p.add_argument("--latency-runs", type=int, default=200)
    p.add_argument("--confusion-png", default=None, help="write the confusion matrix picture")
    p.add_argument("--json", default=None, help="write all figures as JSON")
    p.add_argument("--uncalibrated", action="store_true",
                   help="ignore the file's temperature (to see what calibration changed)")
    return p


def probabilities(model: EmotionModel, images: np.ndarray, batch: int = 256) -> torch.Tensor:
    return rate(model, [Image.fromarray(a) for a in images], batch)


def load_faces(args: argparse.Namespace, name: str, split: str) -> \
        tuple[list[Image.Image], torch.Tensor, int]:
    """The faces of one split as the API gets them, their labels, and how many pictures
    the detector found no face in (those are rated whole)."""
    if name == FERPLUS:
        if split not in SPLITS:
            raise SystemExit(f"--split for FER+ must be one of {', '.join(SPLITS)}")
        images, labels = majority_faces(Path(args.data) / split, args.cache_dir)
        return [Image.fromarray(a) for a in images], torch.from_numpy(labels), 0
    folder = Path(args.sets_root) / name
    rows = read_rows(folder, split)
    crops = list(api_crops(folder, rows, name in DETECT_SETS))
    return ([c for c, _ in crops], torch.tensor([lab for _, lab in rows]),
            sum(not found for _, found in crops))


def rate(model: EmotionModel, faces: list[Image.Image], batch: int = 256) -> torch.Tensor:
    return torch.cat([model.probabilities(model.preprocess(faces[i:i + batch]))
                      for i in range(0, len(faces), batch)])


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


def print_table(model: EmotionModel, args: argparse.Namespace) -> list[dict]:
    rows = []
    print(f"{model.info.id}: every set's valid split, through the API's preprocessing")
    print(f"{'split':<28}{'n':>6}{'acc':>8}{'UAR':>7}{'F1':>7}{'ECE':>7}{'->Cont':>8}  "
          "recall per class")
    for name, split in VALID_SPLITS:
        faces, labels, missed = load_faces(args, name, split)
        m = metrics(rate(model, faces), labels, model.info.labels)
        rows.append({"set": name, "split": split, "no_face": missed, **m})
        recall = " ".join(f"{k[:3]} {v:.2f}" for k, v in m["recall"].items())
        print(f"{name + '/' + split:<28}{m['n']:>6}{m['accuracy']:>8.3f}{m['uar']:>7.3f}"
              f"{m['macro_f1']:>7.3f}{m['ece']:>7.3f}{m['false_contempt']:>8.3f}  {recall}"
              + (f"  ({missed} without a face found)" if missed else ""))
    print("->Cont: share of the faces of other classes called Contempt")
    return rows


def main(args: argparse.Namespace) -> dict:
    path = Path(args.model) if args.model else default_model_path()
    model = load_model(path)
    served = model.path or path      # the int8 copy, when MODEL_PRECISION chose it
    if args.uncalibrated:
        model.info = dataclasses.replace(model.info, temperature=1.0)
    if args.table:
        rows = print_table(model, args)
        result = {"model": model.info.id, "file": served.name, "valid": rows}
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
        return result
    split = args.split or ("FER2013Test" if args.set == FERPLUS else "valid")
    faces, labels, missed = load_faces(args, args.set, split)
    probs = rate(model, faces)
    result = {"model": model.info.id, "file": served.name,
              "file_mib": round(served.stat().st_size / 2**20, 1), "set": args.set,
              "split": split, "no_face": missed, **metrics(probs, labels, model.info.labels),
              "latency_ms": {f"{t}_threads": latency_ms(path, t, args.latency_runs)
                             for t in (1, 2)} if args.latency_runs else {}}
    names = model.info.labels
    print(f"{result['model']} on {args.set}/{split} ({result['n']} faces"
          + (", majority protocol)" if args.set == FERPLUS else ")"))
    print(f"accuracy {result['accuracy']:.4f}  UAR {result['uar']:.4f}  macro-F1 "
          f"{result['macro_f1']:.4f}  ECE {result['ece']:.4f}  file {result['file_mib']} MiB")
    print("recall  " + "  ".join(f"{n} {r:.3f}" for n, r in result["recall"].items()))
    print(f"other faces called Contempt: {result['false_contempt']:.4f}"
          + (f"; no face found in {missed} pictures (rated whole)" if missed else ""))
    print("confusion (rows: true, columns: predicted)")
    print(" " * 10 + "".join(f"{n[:8]:>9}" for n in names))
    for n, row in zip(names, result["confusion"], strict=True):
        if sum(row):
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
