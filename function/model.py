"""The emotion model: a self-describing TorchScript file, loaded once per process.

Everything needed to use the file travels inside it as ``meta.json`` (a TorchScript extra
file): labels in output order, input size, colour handling, normalisation and the
temperature that calibrates its confidence. Nothing here knows how it was trained.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from function.settings import PRECISIONS, get_settings

META_FILE = "meta.json"
# The API's eight labels, in the order the model's outputs and the page's bars keep, with the
# colours and emoji they are shown in: labels.json, which the web page reads too (site/build.sh
# vendors it) and the emotion command's pictures take their colours from.
LABELS_FILE = Path(__file__).with_name("labels.json")
LABELS: tuple[str, ...] = tuple(json.loads(LABELS_FILE.read_text(encoding="utf-8"))["labels"])
MODELS_DIR = Path(__file__).resolve().parent.parent / "models"


def available_cpus() -> int:
    """CPUs this process may really use: affinity, then the cgroup quota (containers and
    Lambda report the host's count in os.cpu_count())."""
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            n = min(n, max(1, round(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, n)


# Weights and activations of the network at run time. bf16 halves the bytes each
# convolution moves and doubles its multiply rate where the CPU has bf16 instructions
# (AVX512-BF16, AMX): 5.1 instead of 8.5 ms per face here, probabilities within 0.003
# (`python -m benchmarks.options --only bf16`, at commit 0053093), every valid split's UAR
# within 0.8 points.
# Without them oneDNN would emulate bf16, slower than fp32: "auto" takes bf16 only where the
# CPU has it.
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
# int8 is a file of its own, quantised from the float one with calibration faces
# (``python -m training.quantize``) and stored beside it: INT8_SUFFIX. Its network reads
# fp32 and quantises inside.
INT8 = "int8"
INT8_SUFFIX = ".int8.pt"
# PRECISIONS (function/settings.py, what MODEL_PRECISION may be): "auto" and these three.


def native_bf16() -> bool:
    """Whether this CPU multiplies bf16 in hardware."""
    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def int8_path(path: str | Path) -> Path:
    """Where the int8 copy of a float model file lies."""
    path = Path(path)
    return path.with_name(path.name.removesuffix(".pt") + INT8_SUFFIX)


def resolve_precision(precision: str | None = None, views: int = 1,
                      int8_available: bool = False) -> str:
    """``precision`` (else MODEL_PRECISION, else "auto") as "fp32", "bf16" or "int8" for a
    float file that averages ``views`` passes per face (``int8_available``: it has an int8
    copy). "auto": bf16 where the CPU has it, else int8 where there is a copy, else fp32."""
    precision = (precision or get_settings().model_precision).strip().lower()
    if precision not in PRECISIONS:
        raise ValueError(f"model precision {precision!r} is not one of {', '.join(PRECISIONS)}")
    # A file of several views resamples each face with a grid traced into it in fp32,
    # which a bf16 network cannot take (autocast could, about 1 ms a face slower).
    if precision == "auto":
        if native_bf16() and views == 1:
            return "bf16"
        return INT8 if int8_available else "fp32"
    if precision == INT8 and not int8_available:
        raise ValueError("model precision int8 needs the file's int8 copy "
                         f"(*{INT8_SUFFIX} beside it): make it with `python -m training.quantize`")
    if precision == "bf16" and views > 1:
        raise ValueError(f"bf16 runs files of one view per face; this one averages {views}: "
                         "use fp32")
    return precision


def configure_threads() -> int:
    """torch's threads: TORCH_THREADS, else (or 0) every CPU."""
    n = get_settings().torch_threads or available_cpus()
    torch.set_num_threads(n)
    return n


@dataclass(frozen=True)
class ModelInfo:
    name: str
    version: str
    labels: tuple[str, ...]
    input_size: int
    grayscale: bool
    mean: tuple[float, ...]
    std: tuple[float, ...]
    temperature: float
    # Test-time views the file averages per face (each one a pass of the network).
    views: int = 1
    # An int8 network (training.quantize), made from the float file of the same id.
    quantized: bool = False
    # What export added to fc.bias, so a file can be turned back into its training-time
    # network: the share of the training mix's log prior ("prior") and each class's logit
    # offset, e.g. (("prior", 0.25), ("Contempt", -0.7), ("Anger", 0.4)). Empty: none, or a
    # file exported before they were recorded (the model card gives those).
    shifts: tuple[tuple[str, float], ...] = ()

    @property
    def id(self) -> str:
        return f"{self.name}@{self.version}"

    @classmethod
    def from_json(cls, text: str | bytes) -> ModelInfo:
        m = json.loads(text)
        labels = tuple(m["labels"])
        if sorted(labels) != sorted(LABELS):
            raise ValueError(f"model labels {labels} are not the API's labels {LABELS}")
        return cls(name=m["name"], version=str(m["version"]), labels=labels,
                   input_size=int(m["input_size"]), grayscale=bool(m.get("grayscale", True)),
                   mean=tuple(m["mean"]), std=tuple(m["std"]),
                   temperature=float(m.get("temperature", 1.0)), views=int(m.get("views", 1)),
                   quantized=bool(m.get("quantized", False)),
                   shifts=tuple((str(k), float(v)) for k, v in m.get("shifts", {}).items()))

    def to_json(self) -> str:
        return json.dumps({"name": self.name, "version": self.version,
                           "labels": list(self.labels), "input_size": self.input_size,
                           "grayscale": self.grayscale, "mean": list(self.mean),
                           "std": list(self.std), "temperature": self.temperature,
                           "views": self.views, "quantized": self.quantized,
                           "shifts": dict(self.shifts)})


def face_array(face: Image.Image, size: int, grayscale: bool) -> np.ndarray:
    """A face crop as the network's pixels: (size, size) grey or (size, size, 3) RGB uint8.
    Training stores its faces through this too, so it learns on what the API feeds."""
    return np.asarray(face.convert("L" if grayscale else "RGB")
                      .resize((size, size), Image.BILINEAR, reducing_gap=2.0))


class EmotionModel:
    def __init__(self, module: torch.jit.ScriptModule, info: ModelInfo,
                 precision: str = "fp32", path: Path | None = None) -> None:
        self.module = module
        self.info = info
        self.precision = precision
        self.path = path        # the file it was loaded from (an int8 copy, where it was)
        self._dtype = DTYPES.get(precision, torch.float32)
        # One value (grey repeated on the three input channels) or one per channel.
        self._mean = torch.tensor(info.mean, dtype=torch.float32).view(1, -1, 1, 1)
        self._std = torch.tensor(info.std, dtype=torch.float32).view(1, -1, 1, 1)

    def preprocess(self, faces: list[Image.Image]) -> torch.Tensor:
        """Face crops (any size, RGB) -> normalised (N, 3, S, S) float32."""
        arrays = [face_array(f, self.info.input_size, self.info.grayscale) for f in faces]
        x = torch.from_numpy(np.stack(arrays)).float().div_(255)
        x = x.unsqueeze(1).expand(-1, 3, -1, -1) if x.dim() == 3 else x.permute(0, 3, 1, 2)
        return ((x - self._mean) / self._std).contiguous()

    @torch.inference_mode()
    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self._dtype)
        # One face per call: the executor compiled the graph for a batch of one at load, and
        # any other shape would be profiled and compiled again on a live request (and, past a
        # few shapes, run unfused). Batching buys little at the few faces a frame holds.
        logits = torch.cat([self.module(face) for face in x.split(1)]) if len(x) else \
            torch.zeros(0, len(self.info.labels))
        return torch.softmax(logits.float() / self.info.temperature, dim=1)

    def predict(self, faces: list[Image.Image]) -> list[dict[str, float]]:
        """One dict per face: every label -> probability, most likely first."""
        if not faces:
            return []
        probs = self.probabilities(self.preprocess(faces)).tolist()
        ranked = (sorted(zip(self.info.labels, p, strict=True), key=lambda kv: -kv[1])
                  for p in probs)
        return [dict(r) for r in ranked]


def float_model_files(folder: Path) -> list[Path]:
    """The model files in ``folder``, sorted, without their int8 copies."""
    return sorted(p for p in folder.glob("*.pt") if not p.name.endswith(INT8_SUFFIX))


def default_model_path() -> Path:
    """MODEL_PATH, else the one ``.pt`` file shipped in models/."""
    if get_settings().model_path:
        return get_settings().model_path
    found = float_model_files(MODELS_DIR)
    if not found:
        raise FileNotFoundError(
            f"no model file in {MODELS_DIR}: train one with `make train` (see models/README.md) "
            "or point MODEL_PATH at a TorchScript model file")
    return found[-1]


def read_info(path: str | Path) -> ModelInfo:
    """The meta.json of a model file, without loading its network."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            name = next(n for n in z.namelist() if n.endswith(f"/extra/{META_FILE}"))
            return ModelInfo.from_json(z.read(name))
    except (zipfile.BadZipFile, StopIteration) as e:
        raise ValueError(f"{path} has no {META_FILE}: not a model file of this project") from e


def load_model(path: str | Path, fuse: bool = True, precision: str | None = None) -> EmotionModel:
    """Load, cast to ``precision`` (PRECISIONS; the file may store fp16 weights), freeze and
    warm up. A float file's int8 precision loads its int8 copy (``int8_path``); an int8
    file loads as it is.

    ``fuse`` compiles the graph with oneDNN Graph (LLGA), which fuses each convolution with
    its batch norm and ReLU: 8.4 instead of 30 ms per face in fp32 at 2 threads here, the
    same outputs."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist")
    info = read_info(path)
    if info.quantized:
        if (precision or "auto").strip().lower() not in ("auto", INT8):
            raise ValueError(f"{path} is an int8 file: its precision is int8 (or auto), "
                             f"not {precision}")
        precision = INT8
    else:
        precision = resolve_precision(precision, info.views, int8_path(path).is_file())
        if precision == INT8:
            path = int8_path(path)
            info = read_info(path)
            if not info.quantized:
                raise ValueError(f"{path} is not an int8 file")
    module = torch.jit.load(str(path), map_location="cpu")
    if not info.quantized:
        module = module.to(DTYPES[precision])
    module = torch.jit.freeze(module.eval())
    model = EmotionModel(module, info, precision, path)
    # The profiling executor specialises and compiles the graph over its first calls: pay
    # that here, at cold start, not on the first requests. The fusion switch is global but
    # only read while a graph is compiled, and the compiled plan stays with this module, so
    # it is on just for these calls.
    blank = Image.new("RGB", (info.input_size, info.input_size))
    was_on = torch.jit.onednn_fusion_enabled()
    torch.jit.enable_onednn_fusion(fuse)
    try:
        for _ in range(3):
            model.predict([blank])
    finally:
        torch.jit.enable_onednn_fusion(was_on)
    return model


def save_model(module: torch.jit.ScriptModule, info: ModelInfo, path: str | Path,
               half: bool = True) -> Path:
    """Write a model file of this format; ``half`` stores weights as fp16 (load restores)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if half:
        # A traced module shares its parameters with the network it traced: halve a copy.
        buf = io.BytesIO()
        torch.jit.save(module, buf)
        buf.seek(0)
        module = torch.jit.load(buf, map_location="cpu").half()
    torch.jit.save(module, str(path), _extra_files={META_FILE: info.to_json()})
    return path
