"""The figures a model is judged by, in one place: accuracy, recall per class and its mean
(UAR, unweighted average recall: every emotion counts the same however rare), macro-F1, the
confusion matrix, calibration error, and how often faces of other classes are called
Contempt (the one class that only one set, of one look, teaches)."""

from __future__ import annotations

import torch

from function.model import LABELS

CONTEMPT = LABELS.index("Contempt")


def expected_calibration_error(probs: torch.Tensor, labels: torch.Tensor, bins: int = 15) -> float:
    conf, pred = probs.max(1)
    correct = (pred == labels).float()
    edges = torch.linspace(0, 1, bins + 1)
    ece = torch.zeros(())
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            ece += inside.float().mean() * (conf[inside].mean() - correct[inside].mean()).abs()
    return float(ece)


def metrics(probs: torch.Tensor, labels: torch.Tensor,
            names: tuple[str, ...] = LABELS) -> dict:
    """Every figure for (N, K) probabilities against (N,) labels. Recall, UAR and F1 are
    over the classes the labels hold (a set without contempt has no contempt recall)."""
    k = len(names)
    pred = probs.argmax(1)
    cm = torch.zeros(k, k, dtype=torch.long)
    for t, p in zip(labels.tolist(), pred.tolist(), strict=True):
        cm[t, p] += 1
    present = cm.sum(1) > 0
    tp = cm.diag().float()
    recall = tp / cm.sum(1).clamp(min=1)
    precision = tp / cm.sum(0).clamp(min=1)
    f1 = 2 * precision * recall / (precision + recall).clamp(min=1e-12)
    others = labels != CONTEMPT
    false_contempt = (pred[others] == CONTEMPT).float().mean().item() if others.any() else 0.0
    return {"n": len(labels), "accuracy": round((pred == labels).float().mean().item(), 4),
            "uar": round(recall[present].mean().item(), 4) if present.any() else 0.0,
            "macro_f1": round(f1[present].mean().item(), 4) if present.any() else 0.0,
            "recall": {n: round(r, 4) for n, r, p in
                       zip(names, recall.tolist(), present.tolist(), strict=True) if p},
            "false_contempt": round(false_contempt, 4),
            "ece": round(expected_calibration_error(probs, labels), 4),
            "confusion": cm.tolist()}
