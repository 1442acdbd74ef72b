"""What to analyse: the paths given (files, folders searched recursively), each with the
name its outputs take, and what kind of file each is (read from its bytes, not its name)."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".webm", ".avi", ".mkv", ".mpg", ".mpeg", ".wmv",
                  ".flv", ".3gp", ".ts", ".mts", ".m2ts", ".ogv"}
# The API's formats, by their first bytes: anything else is tried as a video.
_IMAGE_MAGIC = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))


@dataclass(frozen=True)
class Input:
    given: str                  # as on the command line (a folder's files: their path)
    path: Path | None           # None: it does not exist
    name: str = ""              # outputs are DIR/<name>.csv, .json, .png


def image_type(head: bytes) -> str | None:
    """The image MIME type of a JPEG, PNG or WebP from its first 12 bytes, else None."""
    for magic, mime in _IMAGE_MAGIC:
        if head.startswith(magic):
            return mime
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def find_inputs(paths: list[str], skip: Path | None = None) -> list[Input]:
    """Every input the paths name, in order, each once: a file as given, a folder's images
    and videos (by suffix, hidden files left out) sorted; ``skip`` (the output folder) is
    not searched."""
    found: list[tuple[str, Path | None, Path]] = []     # given, path, what names it
    seen: set[Path] = set()
    skip = skip.resolve() if skip else None
    for given in paths:
        p = Path(given)
        if not p.exists():
            found.append((given, None, Path(p.name or given)))
            continue
        if p.is_dir():
            before = len(found)
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                                 and Path(root, d).resolve() != skip)
                for f in sorted(files):
                    if f.startswith(".") or Path(f).suffix.lower() not in (
                            IMAGE_SUFFIXES | VIDEO_SUFFIXES):
                        continue
                    path = Path(root, f)
                    if path.resolve() not in seen:
                        seen.add(path.resolve())
                        found.append((str(path), path, path.relative_to(p.parent)))
            if len(found) == before:    # nothing in it: said in the summary, not skipped
                found.append((given, p, Path(p.resolve().name)))
        elif p.resolve() not in seen:
            seen.add(p.resolve())
            found.append((given, p, Path(p.name)))
    names = output_names([rel for _, _, rel in found])
    return [Input(g, p, n) for (g, p, _), n in zip(found, names, strict=True)]


def output_names(paths: list[Path]) -> list[str]:
    """A file's outputs are named after it without its suffix (interview.mp4 ->
    interview); where two inputs would share a name, each takes its path instead
    (a/interview.mp4 -> a__interview.mp4), and a number if that is shared too."""
    stems = Counter(p.stem for p in paths)
    names = [p.stem if stems[p.stem] == 1 else "__".join(p.parts) for p in paths]
    counts, taken, out = Counter(names), Counter(), []
    for n in names:
        taken[n] += 1
        out.append(n if counts[n] == 1 else f"{n}-{taken[n]}")
    return [n.lstrip(".") or "input" for n in out]
