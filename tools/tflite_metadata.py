"""Gives MediaPipe's BlazeFace (short range) file the TFLite metadata that the Tasks API's
FaceDetector needs, at build time (site/build.sh):

    python3 tools/tflite_metadata.py IN.tflite OUT.tflite

Why: npm ships this model only in the legacy @mediapipe/face_detection package, without
metadata; @mediapipe/tasks-vision refuses a float input without "NormalizationOptions"
(how pixels map to the input range), and its own copy of the model is on Google's storage,
which the page must not fetch from. The weights and graph are untouched: the file's root
table is rewritten in front of the original bytes, with one buffer and one metadata entry
("TFLITE_METADATA") added, as the TFLite metadata writer would. Stdlib only, so the build
needs no extra package.

The metadata says: one RGB image input, normalised as (pixel - 127.5) / 127.5, i.e. to
[-1, 1], which is what the legacy graph's ImageToTensorCalculator does for this model.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

# Field ids from the schemas (tensorflow/lite/schema/schema.fbs, metadata_schema.fbs).
MODEL_BUFFERS, MODEL_METADATA = 4, 6
MODEL_FIELDS = 8
UNION_NORMALIZATION, UNION_IMAGE_PROPERTIES, COLOR_RGB = 1, 2, 1
# Data of a new buffer sits this far into the file at most, and the old bytes keep their
# alignment (TFLite aligns buffers to 16) when shifted by a multiple of it.
ALIGN = 64


class Writer:
    """A flatbuffer laid out front to back: an object is written before the objects it
    points to, so every offset is forward, as flatbuffers require of uoffsets."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.patches: list[tuple[int, object]] = []  # (slot, object whose position it needs)

    def pad(self, align: int) -> None:
        self.buf.extend(b"\0" * (-len(self.buf) % align))

    def table(self, fields: dict[int, object], n_fields: int) -> int:
        """fields: id -> int (uint32), ('u8', v), ('ref', obj). Returns the table's position."""
        vtable = [0] * n_fields
        slots = sorted(fields)
        self.pad(2)
        vt_pos = len(self.buf)
        vt_size = 4 + 2 * n_fields
        self.buf.extend(b"\0" * vt_size)
        self.pad(4)
        table_pos = len(self.buf)
        self.buf.extend(struct.pack("<i", table_pos - vt_pos))
        for field in slots:
            value = fields[field]
            vtable[field] = len(self.buf) - table_pos
            if isinstance(value, tuple) and value[0] == "u8":
                self.buf.extend(struct.pack("<B3x", value[1]))
            elif isinstance(value, tuple) and value[0] == "ref":
                self.patches.append((len(self.buf), value[1]))
                self.buf.extend(b"\0\0\0\0")
            else:
                self.buf.extend(struct.pack("<I", value))
        struct.pack_into(f"<HH{n_fields}H", self.buf, vt_pos, vt_size,
                         len(self.buf) - table_pos, *vtable)
        return table_pos

    def slot_to(self, slot: int, target: int) -> None:
        struct.pack_into("<I", self.buf, slot, target - slot)


class Obj:
    """Something written later than the table that points to it."""

    def __init__(self, write) -> None:
        self.write = write
        self.pos: int | None = None


def string(text: str) -> Obj:
    def write(w: Writer) -> int:
        w.pad(4)
        pos = len(w.buf)
        data = text.encode()
        w.buf.extend(struct.pack("<I", len(data)) + data + b"\0")
        return pos
    return Obj(write)


def floats(values: list[float]) -> Obj:
    def write(w: Writer) -> int:
        w.pad(4)
        pos = len(w.buf)
        w.buf.extend(struct.pack(f"<I{len(values)}f", len(values), *values))
        return pos
    return Obj(write)


def bytes_vector(data: bytes, align: int = 16) -> Obj:
    def write(w: Writer) -> int:
        # The length word sits just before data aligned to `align`.
        while (len(w.buf) + 4) % align:
            w.buf.append(0)
        pos = len(w.buf)
        w.buf.extend(struct.pack("<I", len(data)) + data)
        return pos
    return Obj(write)


def table(fields: dict[int, object], n_fields: int) -> Obj:
    return Obj(lambda w: w.table(fields, n_fields))


def vector(items: list[object]) -> Obj:
    """A vector of offsets: Obj items, or ('abs', position) for objects already written."""
    def write(w: Writer) -> int:
        w.pad(4)
        pos = len(w.buf)
        w.buf.extend(struct.pack("<I", len(items)))
        for item in items:
            w.patches.append((len(w.buf), item))
            w.buf.extend(b"\0\0\0\0")
        return pos
    return Obj(write)


def finish(w: Writer, root: Obj, identifier: bytes) -> None:
    """Root offset and identifier, then every object breadth first."""
    w.buf.extend(b"\0\0\0\0" + identifier)
    w.patches.append((0, root))
    done = 0
    while done < len(w.patches):
        slot, target = w.patches[done]
        done += 1
        if isinstance(target, tuple):  # ('abs', position): already in the file
            w.slot_to(slot, target[1])
            continue
        if target.pos is None:
            target.pos = target.write(w)
        w.slot_to(slot, target.pos)


def metadata_bytes() -> bytes:
    normalization = table({0: ("ref", floats([127.5])), 1: ("ref", floats([127.5]))}, 2)
    process_unit = table({0: ("u8", UNION_NORMALIZATION), 1: ("ref", normalization)}, 2)
    image = table({0: COLOR_RGB}, 2)
    content = table({0: ("u8", UNION_IMAGE_PROPERTIES), 1: ("ref", image)}, 3)
    tensor = table({0: ("ref", string("image")), 3: ("ref", content),
                    4: ("ref", vector([process_unit]))}, 7)
    subgraph = table({2: ("ref", vector([tensor]))}, 10)
    model = table({0: ("ref", string("BlazeFace (short range)")),
                   3: ("ref", vector([subgraph])),
                   7: ("ref", string("1.0.0"))}, 8)
    w = Writer()
    finish(w, model, b"M001")
    return bytes(w.buf)


def _read_table(data: bytes, pos: int) -> dict[int, int]:
    """Field id -> absolute position of the field's slot."""
    vt = pos - struct.unpack_from("<i", data, pos)[0]
    vt_size = struct.unpack_from("<H", data, vt)[0]
    out = {}
    for i in range((vt_size - 4) // 2):
        off = struct.unpack_from("<H", data, vt + 4 + 2 * i)[0]
        if off:
            out[i] = pos + off
    return out


def _deref(data: bytes, slot: int) -> int:
    return slot + struct.unpack_from("<I", data, slot)[0]


def _vector_targets(data: bytes, vec: int) -> list[int]:
    n = struct.unpack_from("<I", data, vec)[0]
    return [_deref(data, vec + 4 + 4 * i) for i in range(n)]


def add_metadata(model: bytes) -> bytes:
    if model[4:8] != b"TFL3":
        raise ValueError("not a TFLite flatbuffer (no TFL3 identifier)")
    root = _deref(model, 0)
    fields = _read_table(model, root)
    if MODEL_METADATA in fields and any(
            _read_string(model, _deref(model, _read_table(model, m)[0])) == "TFLITE_METADATA"
            for m in _vector_targets(model, _deref(model, fields[MODEL_METADATA]))):
        return model  # already has metadata
    buffers = _vector_targets(model, _deref(model, fields[MODEL_BUFFERS]))
    old_meta = (_vector_targets(model, _deref(model, fields[MODEL_METADATA]))
                if MODEL_METADATA in fields else [])

    # The front part's size does not depend on the shift (offsets are fixed-width), so a
    # first layout with no shift gives the shift the real one needs.
    shift = len(_front(model, fields, buffers, old_meta, 0))
    front = _front(model, fields, buffers, old_meta, shift)
    assert len(front) == shift
    return front + model


def _front(model: bytes, fields: dict[int, int], buffers: list[int], old_meta: list[int],
           shift: int) -> bytes:
    """The new root table and what it adds, for the old file placed `shift` bytes in."""
    new_fields: dict[int, object] = {}
    for field, slot in fields.items():
        if field == 0:  # version, a scalar
            new_fields[0] = struct.unpack_from("<I", model, slot)[0]
        elif field not in (MODEL_BUFFERS, MODEL_METADATA):
            new_fields[field] = ("ref", Obj(lambda w, s=slot: _deref(model, s) + shift))
    new_buffer = table({0: ("ref", bytes_vector(metadata_bytes()))}, 3)
    new_fields[MODEL_BUFFERS] = ("ref", vector([("abs", b + shift) for b in buffers]
                                               + [new_buffer]))
    entry = table({0: ("ref", string("TFLITE_METADATA")), 1: len(buffers)}, 2)
    new_fields[MODEL_METADATA] = ("ref", vector([("abs", m + shift) for m in old_meta] + [entry]))
    w = Writer()
    finish(w, table(new_fields, max(MODEL_FIELDS, max(fields) + 1)), b"TFL3")
    w.pad(ALIGN)
    return bytes(w.buf)


def _read_string(data: bytes, pos: int) -> str:
    n = struct.unpack_from("<I", data, pos)[0]
    return data[pos + 4:pos + 4 + n].decode()


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit(__doc__.split("\n\n")[1])
    source, dest = Path(sys.argv[1]), Path(sys.argv[2])
    dest.write_bytes(add_metadata(source.read_bytes()))


if __name__ == "__main__":
    main()
