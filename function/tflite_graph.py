"""A TFLite file as a torch module: the operators BlazeFace uses (convolutions, depthwise
convolutions, padding, max pooling, bilinear upsampling, additions, ReLU, reshapes), with
the float16 weights dequantized. Read with the ``tflite`` package's flatbuffer classes.

Torch runs the graph through oneDNN like the classifier, and at any input size that is a
multiple of 16 (the file itself is fixed at 192 px; OpenCV's DNN module, which reads the
file as it is, was also slower: README)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tflite
import torch
import torch.nn.functional as F
from tflite.BuiltinOperator import BuiltinOperator as Op
from tflite.Padding import Padding

_TYPES = {tflite.TensorType.FLOAT32: np.float32, tflite.TensorType.FLOAT16: np.float16,
          tflite.TensorType.INT32: np.int32, tflite.TensorType.INT64: np.int64}
_ACT = {0: None, 1: "relu"}     # tflite ActivationFunctionType: NONE, RELU


class TFLiteGraph(torch.nn.Module):
    """Input NCHW float32, outputs as the file lists them, channels last (N, H, W, C)
    flattened like its reshapes: (N, cells, C)."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        model = tflite.Model.GetRootAsModel(path.read_bytes(), 0)
        g = model.Subgraphs(0)
        self._consts: dict[int, np.ndarray] = {}
        for i in range(g.TensorsLength()):
            t = g.Tensors(i)
            data = model.Buffers(t.Buffer()).DataAsNumpy()
            if isinstance(data, np.ndarray) and data.size:
                shape = tuple(t.ShapeAsNumpy()) if t.ShapeLength() else ()
                self._consts[i] = data.view(_TYPES[t.Type()]).reshape(shape)
        self.input = int(g.InputsAsNumpy()[0])
        self.outputs = [int(i) for i in g.OutputsAsNumpy()]
        self.steps: list[tuple] = []
        self.params = torch.nn.ParameterList()
        for k in range(g.OperatorsLength()):
            self._add(model, g, g.Operators(k))

    def _param(self, value: np.ndarray) -> int:
        self.params.append(torch.nn.Parameter(torch.from_numpy(np.ascontiguousarray(
            value, dtype=np.float32)), requires_grad=False))
        return len(self.params) - 1

    def _add(self, model, g, op) -> None:  # noqa: ANN001 - flatbuffer tables
        code = model.OperatorCodes(op.OpcodeIndex()).BuiltinCode()
        ins = [int(i) for i in op.InputsAsNumpy()]
        out = int(op.OutputsAsNumpy()[0])
        if code == Op.DEQUANTIZE:
            self._consts[out] = self._consts[ins[0]].astype(np.float32)
            return
        opts = op.BuiltinOptions()
        if code in (Op.CONV_2D, Op.DEPTHWISE_CONV_2D):
            o = (tflite.Conv2DOptions if code == Op.CONV_2D else tflite.DepthwiseConv2DOptions)()
            o.Init(opts.Bytes, opts.Pos)
            kernel = self._consts[ins[1]]          # OHWI; depthwise: 1HW(C*multiplier)
            if code == Op.CONV_2D:
                weight, groups = kernel.transpose(0, 3, 1, 2), 1
            else:
                weight = kernel.transpose(3, 0, 1, 2)
                groups = weight.shape[0] // o.DepthMultiplier()
            step = ("conv", ins[0], out, self._param(weight), self._param(self._consts[ins[2]]),
                    o.StrideH(), groups, o.Padding() == Padding.SAME,
                    _ACT[o.FusedActivationFunction()])
        elif code == Op.RELU:
            step = ("relu", ins[0], out)
        elif code == Op.ADD:
            o = tflite.AddOptions()
            o.Init(opts.Bytes, opts.Pos)
            step = ("add", ins[0], ins[1], out, _ACT[o.FusedActivationFunction()])
        elif code == Op.MAX_POOL_2D:
            o = tflite.Pool2DOptions()
            o.Init(opts.Bytes, opts.Pos)
            step = ("maxpool", ins[0], out, o.FilterHeight(), o.StrideH())
        elif code == Op.PAD:
            (n0, n1), (h0, h1), (w0, w1), (c0, c1) = self._consts[ins[1]].tolist()
            step = ("pad", ins[0], out, (w0, w1, h0, h1, c0, c1))
        elif code == Op.RESIZE_BILINEAR:
            o = tflite.ResizeBilinearOptions()
            o.Init(opts.Bytes, opts.Pos)
            if o.AlignCorners() or not o.HalfPixelCenters():
                raise ValueError("only half-pixel-centre bilinear resizes are supported")
            step = ("up2", ins[0], out)        # BlazeFace's resizes double the size
        elif code == Op.RESHAPE:
            step = ("flatten", ins[0], out, int(g.Tensors(out).ShapeAsNumpy()[-1]))
        elif code == Op.CONCATENATION:
            o = tflite.ConcatenationOptions()
            o.Init(opts.Bytes, opts.Pos)
            if o.Axis() != 1:
                raise ValueError("only concatenations of flattened outputs are supported")
            step = ("concat", tuple(ins), out)
        else:
            raise ValueError(f"TFLite operator {code} is not supported")
        self.steps.append(step)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        env = {self.input: x}
        for step in self.steps:
            kind = step[0]
            if kind == "conv":
                _, a, out, w, b, stride, groups, same, act = step
                y = env[a]
                weight = self.params[w]
                if same:
                    y = _same_pad(y, weight.shape[-1], stride)
                y = F.conv2d(y, weight, self.params[b], stride, groups=groups)
                env[out] = F.relu(y) if act else y
            elif kind == "relu":
                env[step[2]] = F.relu(env[step[1]])
            elif kind == "add":
                y = env[step[1]] + env[step[2]]
                env[step[3]] = F.relu(y) if step[4] else y
            elif kind == "maxpool":
                env[step[2]] = F.max_pool2d(env[step[1]], step[3], step[4])
            elif kind == "pad":
                env[step[2]] = F.pad(env[step[1]], step[3])
            elif kind == "up2":
                env[step[2]] = F.interpolate(env[step[1]], scale_factor=2.0, mode="bilinear",
                                             align_corners=False)
            elif kind == "flatten":
                y = env[step[1]]
                env[step[2]] = y.permute(0, 2, 3, 1).reshape(y.shape[0], -1, step[3])
            elif kind == "concat":
                env[step[2]] = torch.cat([env[i] for i in step[1]], dim=1)
        return [env[i] for i in self.outputs]


def _same_pad(x: torch.Tensor, k: int, stride: int) -> torch.Tensor:
    """TensorFlow's SAME padding: the odd pixel goes after, not before."""
    h, w = x.shape[-2:]
    ph = max((-(-h // stride) - 1) * stride + k - h, 0)
    pw = max((-(-w // stride) - 1) * stride + k - w, 0)
    return F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))
