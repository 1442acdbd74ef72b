// BlazeFace's short-range file at any input size. The server runs it at 320x240 (and other
// sizes) by resizing the interpreter's input; LiteRT.js has no such call and plans a model
// at the sizes written in the file. So the file is rewritten: every activation's size, which
// in this all-convolutional network (SAME padding, strides up to 16) is the input's scaled
// by its stage's stride, and the anchors' count in the reshaped outputs, which grows with the
// input's area. The weights are untouched. Sizes must be multiples of 16, as the server's.

'use strict';

// Field ids from tensorflow/lite/schema/schema.fbs.
const MODEL_SUBGRAPHS = 2;
const SUBGRAPH_TENSORS = 0;
const SUBGRAPH_OPERATORS = 3;
const TENSOR_SHAPE = 0;
const TENSOR_SHAPE_SIGNATURE = 7;
const OPERATOR_OPTIONS_TYPE = 3;
const OPERATOR_OPTIONS = 4;
const RESHAPE_OPTIONS = 17; // BuiltinOptions.ReshapeOptions
const RESHAPE_NEW_SHAPE = 0;
// The file's own input side.
const BASE = 128;

// Flatbuffers: a table starts with the (signed) distance back to its vtable, which lists
// each field's offset in the table (0: absent).
function field(view, table, id) {
  const vtable = table - view.getInt32(table, true);
  const at = 4 + 2 * id;
  const offset = at < view.getUint16(vtable, true) ? view.getUint16(vtable + at, true) : 0;
  return offset ? table + offset : 0;
}

function deref(view, at) {
  return at + view.getUint32(at, true);
}

function vector(view, table, id) {
  const at = field(view, table, id);
  if (!at) return null;
  const start = deref(view, at);
  return { length: view.getUint32(start, true), first: start + 4 };
}

function read(view, v) {
  return Array.from({ length: v.length }, (_, i) => view.getInt32(v.first + 4 * i, true));
}

function write(view, v, values) {
  values.forEach((d, i) => view.setInt32(v.first + 4 * i, d, true));
}

// An activation [1, h, w, c] (h, w: 128 over a stride; filters are 1, 3 or 5 wide) or the
// anchors' outputs [1, n, k] at the new size; null for anything else (weights, biases).
function resized(shape, height, width) {
  if (shape.length === 4 && shape[0] === 1 && shape[1] >= 8 && shape[2] >= 8
      && BASE % shape[1] === 0 && BASE % shape[2] === 0) {
    return [1, shape[1] * height / BASE, shape[2] * width / BASE, shape[3]];
  }
  if (shape.length === 3 && shape[0] === 1 && shape[1] >= 64) {
    return [1, shape[1] * height * width / (BASE * BASE), shape[2]];
  }
  return null;
}

/** A copy of the model file (bytes) planned for an input of [1, height, width, 3]. */
export function withInputShape(bytes, height, width) {
  if (height % 16 || width % 16 || height <= 0 || width <= 0) {
    throw new Error(`input ${width}x${height}: sides must be positive multiples of 16`);
  }
  const copy = new Uint8Array(bytes);
  const view = new DataView(copy.buffer);
  const graph = deref(view, vector(view, deref(view, 0), MODEL_SUBGRAPHS).first);
  const tensors = vector(view, graph, SUBGRAPH_TENSORS);
  for (let i = 0; i < tensors.length; i++) {
    const tensor = deref(view, tensors.first + 4 * i);
    for (const id of [TENSOR_SHAPE, TENSOR_SHAPE_SIGNATURE]) {
      const shape = vector(view, tensor, id);
      const next = shape && resized(read(view, shape), height, width);
      if (next) write(view, shape, next);
    }
  }
  // Reshapes to [1, -1, k] follow by themselves; a fixed count is rewritten.
  const ops = vector(view, graph, SUBGRAPH_OPERATORS);
  for (let i = 0; i < ops.length; i++) {
    const op = deref(view, ops.first + 4 * i);
    const type = field(view, op, OPERATOR_OPTIONS_TYPE);
    if (!type || view.getUint8(type) !== RESHAPE_OPTIONS) continue;
    const shape = vector(view, deref(view, field(view, op, OPERATOR_OPTIONS)), RESHAPE_NEW_SHAPE);
    const next = shape && resized(read(view, shape), height, width);
    if (next) write(view, shape, next);
  }
  return copy;
}
