"""MTCNN (Zhang et al. 2016) as a benchmark candidate: the three networks written here in
torch, their weights the ``pnet.pt``/``rnet.pt``/``onet.pt`` state dicts inside the
facenet-pytorch wheel (whose own code imports torchvision, so it is never imported):

    .venv/bin/pip install --no-deps facenet-pytorch==2.6.0

The cascade as the paper runs it: P-Net over an image pyramid, R-Net on 24x24 and O-Net on
48x48 crops of the survivors, with box regression and non-maximum suppression after each.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image
from torch import nn

from function.detect import Box, Detection

WHEEL_MODULE = "facenet_pytorch"
THRESHOLDS = (0.6, 0.7, 0.7)
PYRAMID_STEP = 0.709
# O-Net's five points: the person's right eye (picture left) first.
POINTS = ("right_eye", "left_eye", "nose", "mouth_right", "mouth_left")


def _caffe_flatten(x: torch.Tensor) -> torch.Tensor:
    # The weights come from Caffe, whose flatten runs over (W, H, C).
    return x.permute(0, 3, 2, 1).reshape(x.shape[0], -1)


class PNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 10, 3), nn.PReLU(10)
        self.conv2, self.prelu2 = nn.Conv2d(10, 16, 3), nn.PReLU(16)
        self.conv3, self.prelu3 = nn.Conv2d(16, 32, 3), nn.PReLU(32)
        self.conv4_1, self.conv4_2 = nn.Conv2d(32, 2, 1), nn.Conv2d(32, 4, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = nn.functional.max_pool2d(self.prelu1(self.conv1(x)), 2, 2, ceil_mode=True)
        x = self.prelu3(self.conv3(self.prelu2(self.conv2(x))))
        return self.conv4_2(x), torch.softmax(self.conv4_1(x), 1)[:, 1]


class RNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 28, 3), nn.PReLU(28)
        self.conv2, self.prelu2 = nn.Conv2d(28, 48, 3), nn.PReLU(48)
        self.conv3, self.prelu3 = nn.Conv2d(48, 64, 2), nn.PReLU(64)
        self.dense4, self.prelu4 = nn.Linear(576, 128), nn.PReLU(128)
        self.dense5_1, self.dense5_2 = nn.Linear(128, 2), nn.Linear(128, 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pool = nn.functional.max_pool2d
        x = pool(self.prelu1(self.conv1(x)), 3, 2, ceil_mode=True)
        x = pool(self.prelu2(self.conv2(x)), 3, 2, ceil_mode=True)
        x = self.prelu4(self.dense4(_caffe_flatten(self.prelu3(self.conv3(x)))))
        return self.dense5_2(x), torch.softmax(self.dense5_1(x), 1)[:, 1]


class ONet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 32, 3), nn.PReLU(32)
        self.conv2, self.prelu2 = nn.Conv2d(32, 64, 3), nn.PReLU(64)
        self.conv3, self.prelu3 = nn.Conv2d(64, 64, 3), nn.PReLU(64)
        self.conv4, self.prelu4 = nn.Conv2d(64, 128, 2), nn.PReLU(128)
        self.dense5, self.prelu5 = nn.Linear(1152, 256), nn.PReLU(256)
        self.dense6_1, self.dense6_2 = nn.Linear(256, 2), nn.Linear(256, 4)
        self.dense6_3 = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        pool = nn.functional.max_pool2d
        x = pool(self.prelu1(self.conv1(x)), 3, 2, ceil_mode=True)
        x = pool(self.prelu2(self.conv2(x)), 3, 2, ceil_mode=True)
        x = pool(self.prelu3(self.conv3(x)), 2, 2, ceil_mode=True)
        x = self.prelu5(self.dense5(_caffe_flatten(self.prelu4(self.conv4(x)))))
        return self.dense6_2(x), self.dense6_3(x), torch.softmax(self.dense6_1(x), 1)[:, 1]


def weights_dir() -> Path | None:
    spec = importlib.util.find_spec(WHEEL_MODULE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float, by_min: bool = False) -> np.ndarray:
    """Indices kept, best first; ``by_min`` divides the overlap by the smaller box."""
    order, keep = np.argsort(-scores), []
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(i)
        wh = np.clip(np.minimum(boxes[i, 2:], boxes[rest, 2:])
                     - np.maximum(boxes[i, :2], boxes[rest, :2]), 0, None)
        inter = wh[:, 0] * wh[:, 1]
        denom = np.minimum(area[i], area[rest]) if by_min else area[i] + area[rest] - inter
        order = rest[inter / np.maximum(denom, 1e-9) <= iou]
    return np.array(keep, int)


def _square(boxes: np.ndarray) -> np.ndarray:
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    x0, y0 = boxes[:, 0] + (w - side) / 2, boxes[:, 1] + (h - side) / 2
    return np.stack([x0, y0, x0 + side, y0 + side], axis=1)


def _regress(boxes: np.ndarray, reg: np.ndarray) -> np.ndarray:
    wh = np.concatenate([boxes[:, 2:4] - boxes[:, 0:2]] * 2, axis=1)
    return boxes[:, :4] + reg * wh


class MTCNN:
    def __init__(self, min_face: int = 32) -> None:
        folder = weights_dir()
        if folder is None:
            raise FileNotFoundError("MTCNN needs the facenet-pytorch wheel's weights: "
                                    ".venv/bin/pip install --no-deps facenet-pytorch==2.6.0")
        self.nets = []
        for cls, name in ((PNet, "pnet"), (RNet, "rnet"), (ONet, "onet")):
            net = cls()
            net.load_state_dict(torch.load(folder / f"{name}.pt", weights_only=True))
            self.nets.append(net.eval())
        self.min_face = min_face
        self.name = f"mtcnn@{min_face}px"

    @staticmethod
    def _input(pixels: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(pixels)).float()
        return ((x - 127.5) / 128).permute(0, 3, 1, 2)

    def _crops(self, rgb: np.ndarray, boxes: np.ndarray, size: int) -> torch.Tensor:
        h, w = rgb.shape[:2]
        out = []
        for x0, y0, x1, y1 in boxes.round().astype(int):
            patch = np.zeros((max(1, y1 - y0), max(1, x1 - x0), 3), np.uint8)
            sx0, sy0, sx1, sy1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
            if sx1 > sx0 and sy1 > sy0:
                patch[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = rgb[sy0:sy1, sx0:sx1]
            out.append(cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA))
        return self._input(np.stack(out))

    @torch.inference_mode()
    def detect(self, image: Image.Image) -> list[Detection]:
        rgb = np.asarray(image.convert("RGB"))
        h, w = rgb.shape[:2]
        pnet, rnet, onet = self.nets
        found = []
        scale = 12 / self.min_face
        while min(h, w) * scale >= 12:
            size = (max(1, int(w * scale + 1)), max(1, int(h * scale + 1)))
            reg, prob = pnet(self._input(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)[None]))
            ys, xs = np.nonzero(prob[0].numpy() > THRESHOLDS[0])
            if len(ys):
                cells = np.stack([xs, ys, xs, ys], axis=1) * 2 + np.array([1, 1, 12, 12])
                b = np.concatenate([cells / scale, reg[0].numpy()[:, ys, xs].T], axis=1)
                s = prob[0].numpy()[ys, xs]
                k = nms(b[:, :4], s, 0.5)
                found.append(np.concatenate([b[k], s[k, None]], axis=1))
            scale *= PYRAMID_STEP
        if not found:
            return []
        cand = np.concatenate(found)
        cand = cand[nms(cand[:, :4], cand[:, 8], 0.7)]
        boxes = _square(_regress(cand[:, :4], cand[:, 4:8]))
        for net, size, thr in ((rnet, 24, THRESHOLDS[1]), (onet, 48, THRESHOLDS[2])):
            if not len(boxes):
                return []
            outs = net(self._crops(rgb, boxes, size))
            score = outs[-1].numpy()
            keep = score > thr
            boxes, score = boxes[keep], score[keep]
            reg = outs[0].numpy()[keep]
            if net is onet:
                pts = outs[1].numpy()[keep]
                wh = boxes[:, 2:4] - boxes[:, 0:2]
                px = boxes[:, 0:1] + pts[:, :5] * wh[:, 0:1]
                py = boxes[:, 1:2] + pts[:, 5:] * wh[:, 1:2]
                boxes = _regress(boxes, reg)
                k = nms(boxes, score, 0.7, by_min=True)
                return sorted((self._detection(boxes[i], px[i], py[i], score[i], w, h)
                               for i in k), key=lambda d: -d.box.width * d.box.height)
            k = nms(boxes, score, 0.7)
            boxes = _square(_regress(boxes[k], reg[k]))
        return []

    @staticmethod
    def _detection(b: np.ndarray, px: np.ndarray, py: np.ndarray, score: float,
                   w: int, h: int) -> Detection:
        x0, y0 = max(0, round(b[0])), max(0, round(b[1]))
        x1, y1 = min(w, round(b[2])), min(h, round(b[3]))
        marks = {n: (float(x), float(y)) for n, x, y in zip(POINTS, px, py, strict=True)}
        return Detection(Box(x0, y0, max(1, x1 - x0), max(1, y1 - y0)), marks, float(score))
