"""tools/tflite_metadata.py: the BlazeFace files from npm gain the metadata the Tasks API's
FaceDetector needs, and nothing else changes. (That the page's detector then loads them is
the browser tests' part: without it the page falls back to the server.)"""

from __future__ import annotations

import struct

import pytest

from tests.site import harness
from tools import tflite_metadata as tm

MODELS = harness.REPO / "site" / "node_modules" / "@mediapipe" / "face_detection"


@pytest.fixture(scope="module", params=["short", "full"])
def original(request) -> bytes:
    harness.build_site()  # npm ci, as `make test` runs it
    return (MODELS / f"face_detection_{request.param}_range.tflite").read_bytes()


def metadata_entries(model: bytes) -> dict[str, bytes]:
    """name -> the bytes of the buffer a Model.metadata entry points to."""
    root = tm._deref(model, 0)
    fields = tm._read_table(model, root)
    buffers = tm._vector_targets(model, tm._deref(model, fields[tm.MODEL_BUFFERS]))
    out: dict[str, bytes] = {}
    if tm.MODEL_METADATA not in fields:
        return out
    for entry in tm._vector_targets(model, tm._deref(model, fields[tm.MODEL_METADATA])):
        entry_fields = tm._read_table(model, entry)
        name = tm._read_string(model, tm._deref(model, entry_fields[0]))
        index = struct.unpack_from("<I", model, entry_fields[1])[0]
        buffer_fields = tm._read_table(model, buffers[index])
        data = b""
        if 0 in buffer_fields:
            vec = tm._deref(model, buffer_fields[0])
            data = model[vec + 4:vec + 4 + struct.unpack_from("<I", model, vec)[0]]
        out[name] = data
    return out


def test_adds_normalisation_metadata_and_keeps_the_model(original):
    patched = tm.add_metadata(original)
    assert patched[4:8] == b"TFL3"
    # The original file follows the new root table untouched, at an aligned offset.
    shift = len(patched) - len(original)
    assert patched[shift:] == original and shift % 16 == 0
    entries = metadata_entries(patched)
    # Whatever metadata the file already had is still there.
    assert set(metadata_entries(original)) <= set(entries)
    meta = entries["TFLITE_METADATA"]
    assert meta[4:8] == b"M001"
    assert meta.count(struct.pack("<f", 127.5)) == 2  # mean and std: pixels to [-1, 1]
    assert b"BlazeFace" in meta


def test_is_idempotent_and_refuses_other_files(original):
    patched = tm.add_metadata(original)
    assert tm.add_metadata(patched) == patched
    with pytest.raises(ValueError):
        tm.add_metadata(b"\0" * 64)
