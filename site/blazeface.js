// The server's face detector (function/detect/, FaceDetector.detect on a picture up to
// 640 px: its whole-picture passes), step for step, so the page finds each face, and its
// eyes, where the server would in the same frame: the same BlazeFace short-range file run by
// LiteRT's XNNPACK kernels at the same input sizes (320 and 128 px on the long side), fed by
// OpenCV's INTER_AREA resizing as the server calls it, the same anchors, score threshold and
// weighted non-maximum suppression. Functions on the frame's pixels (their buffers reused
// from frame to frame where the caller asks); `runNet` runs the network
// (detector-worker.js). function/detect/blazeface.py is this file's Python side: the same
// steps, named alike, in the same order; searchWindows and smallerPassesSee, for following
// a video, are the page's alone.

'use strict';

// BlazeFace's numbers are the server's own file, function/detect/blazeface.json, which
// site/build.sh copies into vendor/ (as crop.js reads framing.json): one definition for
// both. Read as this module loads: without them it cannot decode anything.
const NUMBERS_URL = new URL('./vendor/blazeface.json', import.meta.url);
const NUMBERS = await fetch(NUMBERS_URL).then((response) => {
  if (!response.ok) throw new Error(`${NUMBERS_URL.pathname}: HTTP ${response.status}`);
  return response.json();
});

// The whole-picture passes: (input side, minimum score).
export const PASSES = NUMBERS.passes.map(({ side, min_score: minScore }) => ({ side, minScore }));
const ANCHORS = NUMBERS.anchors;  // (stride, anchors per cell), in output order
const STRIDE = NUMBERS.stride;
const NMS_IOU = NUMBERS.nms_iou;
const POSITIONS = NUMBERS.point_rows;  // rows of a prediction that are points
// Where each eye is among a prediction's 16 numbers (rows: centre, size, then landmarks).
const RIGHT_EYE = 2 * (2 + NUMBERS.landmarks.indexOf('right_eye'));
const LEFT_EYE = 2 * (2 + NUMBERS.landmarks.indexOf('left_eye'));
// The whole-picture passes cover a picture whose smallest face (40 px) is at least 20 px of
// the 320 px pass: up to 640 px on its long side. The server tiles larger pictures.
export const LARGEST_PICTURE = Math.max(...PASSES.map((p) => p.side))
  * NUMBERS.min_face / NUMBERS.min_face_input;
// Input shapes whose network stays compiled, per pass (detector-worker.js).
export const MAX_SHAPES = NUMBERS.max_shapes;

/** The picture as the passes read it, {data, width, height, channels, bgr}, straight from
 * RGBA pixels (ImageData), or BGRA ones (`bgr`: a VideoFrame's copy in the browser's own
 * order): the fourth byte is stepped over and the order kept through every resize, each
 * channel being resized alike, and undone only as the network's input is written. That
 * saves copying the frame to RGB first (1-2 ms of a 640x480 frame). */
export function pixelsOf(data, width, height, bgr = false) {
  return { data, width, height, channels: 4, bgr };
}

// Python's round(), and OpenCV's cvRound: halves to even, as the server rounds its box
// corners and its resizes' pixels. Adding 1.5 x 2^52 leaves a double no bits for a fraction,
// so the addition itself rounds, to even as IEEE 754 does (exact for |x| < 2^51): the 128 px
// pass's resize in half the time of Math.round and a test for halves.
const ROUNDING = 1.5 * 2 ** 52;

function roundEven(x) {
  return (x + ROUNDING) - ROUNDING;
}

// OpenCV's computeResizeAreaTab: the source pixels each output pixel averages, weighted by
// how much of it falls in the output pixel's cell.
function areaTable(ssize, dsize) {
  const scale = ssize / dsize;
  const rows = [];
  for (let d = 0; d < dsize; d++) {
    const f1 = d * scale;
    const f2 = f1 + scale;
    const cell = Math.min(scale, ssize - f1);
    const s2 = Math.min(Math.floor(f2), ssize - 1);
    const s1 = Math.min(Math.ceil(f1), s2);
    const taps = [];
    if (s1 - f1 > 1e-3) taps.push([s1 - 1, (s1 - f1) / cell]);
    for (let s = s1; s < s2; s++) taps.push([s, 1 / cell]);
    if (f2 - s2 > 1e-3) taps.push([s2, Math.min(f2 - s2, 1, cell) / cell]);
    rows.push(taps);
  }
  return rows;
}

// areaTable flattened into typed arrays (each output pixel's first tap, taps, weights), kept
// per size pair: a camera's frames shrink the same way every frame.
const flatTables = new Map();

function flatAreaTable(ssize, dsize) {
  const key = `${ssize}>${dsize}`;
  let table = flatTables.get(key);
  if (!table) {
    const rows = areaTable(ssize, dsize);
    const first = new Int32Array(dsize + 1);
    rows.forEach((taps, d) => { first[d + 1] = first[d] + taps.length; });
    const at = new Int32Array(first[dsize]);
    const weight = new Float64Array(first[dsize]);
    rows.flat().forEach(([src, w], i) => { at[i] = src; weight[i] = w; });
    table = { first, at, weight };
    if (flatTables.size >= 16) flatTables.delete(flatTables.keys().next().value);
    flatTables.set(key, table);
  }
  return table;
}

// A buffer for one resize's output or sums: from `scratch`, a Map the caller keeps from frame
// to frame (detector-worker.js), so a camera's frames reuse the same ones: a new 300 kB
// typed array takes V8 about 0.2 ms, half as long as the 640x480 frame's halving into it.
// The caller reads a frame's levels before the next frame is resized. Without it, a new one.
function buffer(scratch, Type, length, name) {
  if (!scratch) return new Type(length);
  const key = `${name} ${Type.name} ${length}`;
  let found = scratch.get(key);
  if (!found) {
    if (scratch.size >= 32) scratch.clear();
    found = new Type(length);
    scratch.set(key, found);
  }
  return found;
}

// OpenCV's exact 2x INTER_AREA (its SIMD path): each pixel (sum of the four under it + 2)
// >> 2. From RGBA the result is RGBA too, summed four pixels at a time as 32-bit words (red
// and blue, then green and alpha, in 16-bit lanes that cannot overflow: 4 x 255 + 2 < 2^16),
// so the next halving reads it the same way: a third of the loads of a channel at a time.
function halve(src, width, height, scratch) {
  if ((src.channels ?? 3) === 4) {
    const s = new Uint32Array(src.data.buffer, src.data.byteOffset, src.width * src.height);
    const out = buffer(scratch, Uint32Array, width * height, 'level');
    const M = 0x00ff00ff;
    const ROUND = 0x00020002;
    let o = 0;
    for (let y = 0; y < height; y++) {
      let a = 2 * y * src.width;
      for (let x = 0; x < width; x++, a += 2) {
        const b = a + src.width;
        const p = s[a];
        const q = s[a + 1];
        const r = s[b];
        const t = s[b + 1];
        const rb = (p & M) + (q & M) + (r & M) + (t & M) + ROUND;
        const ga = ((p >>> 8) & M) + ((q >>> 8) & M) + ((r >>> 8) & M) + ((t >>> 8) & M) + ROUND;
        out[o++] = ((rb >>> 2) & 0xff) | (((ga >>> 2) & 0xff) << 8) | (((rb >>> 18) & 0xff) << 16)
          | 0xff000000;
      }
    }
    return { data: new Uint8Array(out.buffer), width, height, channels: 4, bgr: src.bgr };
  }
  const out = buffer(scratch, Uint8Array, width * height * 3, 'level');
  const s = src.data;
  const row = src.width * 3;
  let o = 0;
  for (let y = 0; y < height; y++) {
    let a = 2 * y * row;
    for (let x = 0; x < width; x++, a += 6, o += 3) {
      const b = a + row;
      out[o] = (s[a] + s[a + 3] + s[b] + s[b + 3] + 2) >> 2;
      out[o + 1] = (s[a + 1] + s[a + 4] + s[b + 1] + s[b + 4] + 2) >> 2;
      out[o + 2] = (s[a + 2] + s[a + 5] + s[b + 2] + s[b + 5] + 2) >> 2;
    }
  }
  return { data: out, width, height, bgr: src.bgr };
}

// OpenCV's INTER_AREA when shrinking both ways: each output pixel the area-weighted mean of
// the source pixels under it, rounded. The sums run in the order the server's port always
// had (tap by tap, in doubles), so the pixels stay the same to the bit; each source row's
// horizontal sums are made once, for every output row that reads it.
function shrinkArea(src, width, height, scratch) {
  if (src.width === 2 * width && src.height === 2 * height) {
    return halve(src, width, height, scratch);
  }
  const out = buffer(scratch, Uint8Array, width * height * 3, 'level');
  const s = src.data;
  const sc = src.channels ?? 3;
  const xs = flatAreaTable(src.width, width);
  const ys = flatAreaTable(src.height, height);
  const n = width * 3;
  const lines = buffer(scratch, Float64Array, src.height * n, 'sums');
  const { first, at, weight } = xs;
  for (let sy = ys.at[0]; sy <= ys.at[ys.at.length - 1]; sy++) {
    const base = sy * src.width * sc;
    let o = sy * n;
    for (let x = 0; x < width; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let k = first[x]; k < first[x + 1]; k++) {
        const p = base + at[k] * sc;
        const alpha = weight[k];
        r += s[p] * alpha;
        g += s[p + 1] * alpha;
        b += s[p + 2] * alpha;
      }
      lines[o++] = r;
      lines[o++] = g;
      lines[o++] = b;
    }
  }
  const acc = buffer(scratch, Float64Array, n, 'sum');
  for (let y = 0; y < height; y++) {
    acc.fill(0);
    for (let t = ys.first[y]; t < ys.first[y + 1]; t++) {
      const line = ys.at[t] * n;
      const beta = ys.weight[t];
      for (let i = 0; i < n; i++) acc[i] += lines[line + i] * beta;
    }
    for (let i = 0; i < n; i++) out[y * n + i] = roundEven(acc[i]);
  }
  return { data: out, width, height, bgr: src.bgr };
}

// OpenCV's INTER_AREA when enlarging (either way): linear interpolation whose weights put
// each output pixel's cell on the source grid, in its fixed point (11-bit weights).
function areaCoefficients(ssize, dsize) {
  const scale = ssize / dsize;
  const inv = dsize / ssize;
  const taps = [];
  for (let d = 0; d < dsize; d++) {
    let s = Math.floor(d * scale);
    let f = (d + 1) - (s + 1) * inv;
    f = f <= 0 ? 0 : f - Math.floor(f);
    if (s < 0) { f = 0; s = 0; }
    if (s >= ssize - 1) { f = 0; s = ssize - 1; }
    const b = Math.round(f * 2048);
    taps.push([s, Math.min(s + 1, ssize - 1), 2048 - b, b]);
  }
  return taps;
}

function enlargeArea(src, width, height) {
  const out = new Uint8Array(width * height * 3);
  const s = src.data;
  const sc = src.channels ?? 3;
  const xs = areaCoefficients(src.width, width);
  const ys = areaCoefficients(src.height, height);
  const horizontal = (sy) => {
    const row = new Int32Array(width * 3);
    const base = sy * src.width * sc;
    for (let x = 0; x < width; x++) {
      const [a, b, wa, wb] = xs[x];
      for (let c = 0; c < 3; c++) {
        row[x * 3 + c] = s[base + a * sc + c] * wa + s[base + b * sc + c] * wb;
      }
    }
    return row;
  };
  const rows = new Map();
  const rowOf = (sy) => {
    if (!rows.has(sy)) rows.set(sy, horizontal(sy));
    return rows.get(sy);
  };
  for (let y = 0; y < height; y++) {
    const [a, b, wa, wb] = ys[y];
    const r0 = rowOf(a);
    const r1 = rowOf(b);
    const o = y * width * 3;
    // OpenCV's SIMD rows (VResizeLinearVec_32s8u): each term shifted down 4 bits, then
    // multiplied keeping the high 16 bits, then rounded from 2 fractional bits.
    for (let i = 0; i < width * 3; i++) {
      const v = (((r0[i] >> 4) * wa) >> 16) + (((r1[i] >> 4) * wb) >> 16) + 2 >> 2;
      out[o + i] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return { data: out, width, height, bgr: src.bgr };
}

/** cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA); `scratch`: buffer's. */
export function resizeArea(src, width, height, scratch = null) {
  if (src.width === width && src.height === height) return src;
  if (src.width >= width && src.height >= height) return shrinkArea(src, width, height, scratch);
  return enlargeArea(src, width, height);
}

/** blazeface.py's Pyramid: halvings while at least twice the size, then one INTER_AREA step. */
export class Pyramid {
  constructor(image, scratch = null) {
    this.levels = [image];
    this.scratch = scratch;
  }

  resized(width, height) {
    let level = 0;
    let im = this.levels[0];
    while (im.width >= 2 * width && im.height >= 2 * height) {
      if (level + 1 === this.levels.length) {
        this.levels.push(resizeArea(im, Math.floor(im.width / 2), Math.floor(im.height / 2),
          this.scratch));
      }
      level++;
      im = this.levels[level];
    }
    return resizeArea(im, width, height, this.scratch);
  }
}

/** One pass's input: where the picture goes in it, and the network's input size. */
export function passLayout(width, height, side) {
  const s = side / Math.max(width, height);
  const nw = Math.max(1, roundEven(width * s));
  const nh = Math.max(1, roundEven(height * s));
  const cw = Math.ceil(nw / STRIDE) * STRIDE;
  const ch = Math.ceil(nh / STRIDE) * STRIDE;
  return { s, nw, nh, cw, ch, ox: Math.floor((cw - nw) / 2), oy: Math.floor((ch - nh) / 2) };
}

// What the network reads for each 8-bit value, [-1, 1]: blazeface.py's PIXELS, the same
// float32 numbers, looked up instead of divided per pixel.
const PIXELS = Float32Array.from({ length: 256 }, (_, v) => v / 127.5 - 1);
// Input buffers, one per shape, refilled each frame: runNet copies the input into the
// runtime's tensor before it returns, so a buffer is free again by the next pass.
const inputs = new Map();

/**
 * The network's input in [-1, 1], the letterbox's bars black: the whole (1, ch, cw, 3), or
 * only `window` ({x, y, width, height} in the input's pixels) of it. The array is reused by
 * the next call for the same shape.
 */
export function passInput(small, layout, window = null) {
  const { cw, ch, ox, oy } = layout;
  const { x: wx, y: wy, width: w, height: h } = window ?? { x: 0, y: 0, width: cw, height: ch };
  const key = `${w}x${h}`;
  let input = inputs.get(key);
  if (!input) {
    if (inputs.size >= 16) inputs.delete(inputs.keys().next().value);
    input = new Float32Array(w * h * 3);
    inputs.set(key, input);
  }
  const s = small.data;
  const sc = small.channels ?? 3;
  const [r, b] = small.bgr ? [2, 0] : [0, 2];
  // The window's columns that hold the picture; the rest is bar.
  const u0 = Math.min(w, Math.max(0, ox - wx));
  const u1 = Math.max(u0, Math.min(w, ox + small.width - wx));
  const black = PIXELS[0];
  for (let v = 0; v < h; v++) {
    const y = wy + v - oy;
    let o = v * w * 3;
    const end = o + w * 3;
    if (y < 0 || y >= small.height) {
      input.fill(black, o, end);
      continue;
    }
    input.fill(black, o, o + u0 * 3);
    o += u0 * 3;
    let i = (y * small.width + wx + u0 - ox) * sc;
    for (let u = u0; u < u1; u++, i += sc) {
      input[o++] = PIXELS[s[i + r]];
      input[o++] = PIXELS[s[i + 1]];
      input[o++] = PIXELS[s[i + b]];
    }
    input.fill(black, o, end);
  }
  return input;
}

const anchorCache = new Map();

function anchors(width, height) {
  const key = `${width}x${height}`;
  if (!anchorCache.has(key)) {
    const out = [];
    for (const [stride, n] of ANCHORS) {
      for (let y = 0; y < Math.floor(height / stride); y++) {
        for (let x = 0; x < Math.floor(width / stride); x++) {
          for (let k = 0; k < n; k++) out.push(x * stride + stride / 2, y * stride + stride / 2);
        }
      }
    }
    anchorCache.set(key, Float32Array.from(out));
  }
  return anchorCache.get(key);
}

/** The faces over the pass's score threshold, as {pts: 16 numbers (centre, size, six
 * landmarks) in the picture's pixels, score}. */
export function decode(logits, raw, layout, minScore) {
  const { cw, ch, ox, oy, s } = layout;
  const a = anchors(cw, ch);
  const threshold = Math.log(minScore / (1 - minScore));
  const found = [];
  for (let i = 0; i < logits.length; i++) {
    if (!(logits[i] > threshold)) continue;
    const pts = Array.from(raw.subarray(i * 16, i * 16 + 16));
    for (const row of POSITIONS) {
      pts[2 * row] += a[2 * i] - ox;
      pts[2 * row + 1] += a[2 * i + 1] - oy;
    }
    found.push({ pts: pts.map((v) => v / s), score: 1 / (1 + Math.exp(-logits[i])) });
  }
  return found;
}

/** blazeface.py's blend: each group overlapping the best remaining face by more than NMS_IOU
 * becomes their score-weighted mean; largest first. */
export function blend(found) {
  const order = [...found].sort((p, q) => q.score - p.score);
  const edges = order.map(({ pts }) => [pts[0] - pts[2] / 2, pts[1] - pts[3] / 2,
    pts[0] + pts[2] / 2, pts[1] + pts[3] / 2]);
  const left = order.map(() => true);
  const out = [];
  for (let i = 0; i < order.length; i++) {
    if (!left[i]) continue;
    const [ax0, ay0, ax1, ay1] = edges[i];
    const area = order[i].pts[2] * order[i].pts[3];
    const sum = new Array(16).fill(0);
    let weight = 0;
    for (let j = 0; j < order.length; j++) {
      if (!left[j]) continue;
      const [bx0, by0, bx1, by1] = edges[j];
      const iw = Math.max(0, Math.min(ax1, bx1) - Math.max(ax0, bx0));
      const ih = Math.max(0, Math.min(ay1, by1) - Math.max(ay0, by0));
      const inter = iw * ih;
      const union = area + order[j].pts[2] * order[j].pts[3] - inter + 1e-9;
      if (j !== i && !(inter / union > NMS_IOU)) continue;
      left[j] = false;
      const w = order[j].score;
      order[j].pts.forEach((v, k) => { sum[k] += v * w; });
      weight += w;
    }
    out.push({ pts: sum.map((v) => v / weight), score: order[i].score });
  }
  return out.sort((p, q) => q.pts[2] * q.pts[3] - p.pts[2] * p.pts[3]);
}

/** blazeface.py's to_detection: the box in whole pixels, clipped; the eyes as found. */
export function toFace({ pts, score }, width, height) {
  const [cx, cy, bw, bh] = pts;
  const x0 = Math.min(width - 1, Math.max(0, roundEven(cx - bw / 2)));
  const y0 = Math.min(height - 1, Math.max(0, roundEven(cy - bh / 2)));
  const x1 = Math.min(width, roundEven(cx + bw / 2));
  const y1 = Math.min(height, roundEven(cy + bh / 2));
  return {
    x: x0, y: y0, width: Math.max(1, x1 - x0), height: Math.max(1, y1 - y0), score,
    // The person's right eye (the picture's left) first, as the server's landmarks.
    eyes: {
      right: { x: pts[RIGHT_EYE], y: pts[RIGHT_EYE + 1] },
      left: { x: pts[LEFT_EYE], y: pts[LEFT_EYE + 1] },
    },
  };
}

// Following a video (detector-worker.js): the pass with the largest input, which finds the
// small faces and costs most of a frame (a 320x240 input: 14 of 20 ms in Chromium), may
// search only windows of its input around the faces of the frame before. A window's corner
// is on the coarsest anchors' grid, so its anchors are the whole input's, reading the same
// pixels; only what lies beyond its edge is missing, and the less of a face's surroundings
// it holds, the further its detection is from the whole input's. The margins below are the
// least that kept the page's crops on the API's label as often as a whole search
// (benchmarks.page_crops --in-frame, its --scale for large faces); a large face needs no
// more room around it than a 64 px one of the input. The smaller pass always searches
// whole: in a window of its own, or carried over from the frame before, it cost labels or
// moved the eyes. docs/page-tracking.md#following has the figures for each choice.
const WINDOWED_SIDE = Math.max(...PASSES.map((p) => p.side));
// Of a face's longer side, counted as at most WINDOW_FACE_MAX: left and right of its box,
// and above and below it.
const WINDOW_ACROSS = 1.0;
const WINDOW_DOWN = 0.75;
const WINDOW_FACE_MAX = 64; // px of the input
const WINDOW_MIN = 128;     // px of the input, each way
// Windows covering this much of the input or more save too little to be worth networks of
// their own shapes: the whole input is searched instead (a face from about 225 px of a
// 640x480 frame).
const WINDOW_MAX_SHARE = 0.7;

/**
 * Where the largest pass searches a `width` x `height` picture around `faces` (boxes in its
 * pixels): windows {x, y, width, height} in that pass's input, multiples of STRIDE, one per
 * face or per group of faces whose windows would overlap; or null for the whole input.
 * `keep`, the sizes used before: a window takes the first of them it fits in while it fills
 * at least two thirds of it, as every new size is a network compiled anew.
 */
export function searchWindows(faces, width, height, keep = []) {
  if (!faces.length) return null;
  const layout = passLayout(width, height, WINDOWED_SIDE);
  const grown = ([x0, y0, x1, y1]) => {
    const w = Math.max(WINDOW_MIN, x1 - x0);
    const h = Math.max(WINDOW_MIN, y1 - y0);
    return [(x0 + x1 - w) / 2, (y0 + y1 - h) / 2, (x0 + x1 + w) / 2, (y0 + y1 + h) / 2];
  };
  let regions = faces.map((f) => {
    const side = Math.min(Math.max(f.width, f.height), WINDOW_FACE_MAX / layout.s);
    const mx = WINDOW_ACROSS * side;
    const my = WINDOW_DOWN * side;
    return [(f.x - mx) * layout.s + layout.ox, (f.y - my) * layout.s + layout.oy,
      (f.x + f.width + mx) * layout.s + layout.ox, (f.y + f.height + my) * layout.s + layout.oy];
  });
  // Overlapping windows become one: a face searched twice would weigh twice in the blend.
  for (let merged = true; merged;) {
    merged = false;
    for (let i = 0; i < regions.length && !merged; i++) {
      for (let j = i + 1; j < regions.length && !merged; j++) {
        const [a, b] = [grown(regions[i]), grown(regions[j])];
        if (a[0] < b[2] + STRIDE && b[0] < a[2] + STRIDE && a[1] < b[3] + STRIDE
          && b[1] < a[3] + STRIDE) {
          const [p, q] = [regions[i], regions[j]];
          regions[i] = [Math.min(p[0], q[0]), Math.min(p[1], q[1]), Math.max(p[2], q[2]),
            Math.max(p[3], q[3])];
          regions.splice(j, 1);
          merged = true;
        }
      }
    }
  }
  regions = regions.map(grown);
  // Whether windows are worth it goes by the sizes the faces need, not by the sizes kept.
  let area = 0;
  const windows = regions.map(([x0, y0, x1, y1]) => {
    let w = Math.ceil((x1 - x0) / STRIDE) * STRIDE;
    let h = Math.ceil((y1 - y0) / STRIDE) * STRIDE;
    area += w * h;
    const kept = keep.find((k) => k.width >= w && k.height >= h
      && 2 * k.width * k.height <= 3 * w * h);
    if (kept) ({ width: w, height: h } = kept);
    const place = (lo, hi, size, room) => Math.min(room - size,
      Math.max(0, Math.round(((lo + hi) / 2 - size / 2) / STRIDE) * STRIDE));
    return { x: place(x0, x1, w, layout.cw), y: place(y0, y1, h, layout.ch), width: w, height: h };
  });
  if (windows.some((w) => w.width > layout.cw || w.height > layout.ch)
    || area >= WINDOW_MAX_SHARE * layout.cw * layout.ch) {
    return null;
  }
  return windows;
}

// The smaller passes find a face from about 17 px of their input (the astronaut's face at
// 88 px of a 640x480 frame in the 128 px pass; none at 80 px; every taiwanese head, from
// 96 px); below that they add nothing to it. 14 px leaves a face approaching the camera
// room to be seen by them before they would find it.
const SMALLER_PASS_SEES = 14;

/** Whether a smaller pass could find any of `faces` (boxes in a `width` x `height`
 * picture's pixels): while none could, following a video may skip them. */
export function smallerPassesSee(faces, width, height) {
  return PASSES.some(({ side }) => side !== WINDOWED_SIDE && faces.some((f) => (
    f.width * passLayout(width, height, side).s >= SMALLER_PASS_SEES)));
}

/**
 * The faces in a picture (pixelsOf, or RGB; at most LARGEST_PICTURE px on its long side),
 * largest first, as the server finds them. `runNet(input, width, height)` resolves to the
 * network's {logits, raw} for an input of that size. With `windows` (searchWindows'), the
 * largest pass searches only those parts of its input; with `smaller` false, it runs alone.
 * `scratch`: buffer's.
 */
export async function detectFaces(image, runNet,
  { windows = null, smaller = true, scratch = null } = {}) {
  const pyramid = new Pyramid(image, scratch);
  const found = [];
  for (const { side, minScore } of PASSES) {
    if (side !== WINDOWED_SIDE && !smaller) continue;
    const layout = passLayout(image.width, image.height, side);
    const small = pyramid.resized(layout.nw, layout.nh);
    const parts = side === WINDOWED_SIDE && windows ? windows : [null];
    for (const part of parts) {
      const input = passInput(small, layout, part);
      // A window is an input of its own, with the picture where it lies in it.
      const seen = part ? {
        ...layout, cw: part.width, ch: part.height, ox: layout.ox - part.x, oy: layout.oy - part.y,
      } : layout;
      const { logits, raw } = await runNet(input, seen.cw, seen.ch);
      found.push(...decode(logits, raw, seen, minScore));
    }
  }
  return blend(found).map((f) => toFace(f, image.width, image.height));
}
