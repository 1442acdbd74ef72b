// Labels, colours, smoothing and face tracking: the parts of the page with no DOM, kept
// apart so they read (and can be reasoned about) on their own.

import CLASSES from './vendor/labels.js';

// The API's eight labels in the model's order, their emoji and their colours: the server's
// own file, function/labels.json, which site/build.sh vendors (the emotion command's
// pictures take the same colours). Bars and timeline keep this order so rows never jump
// around as probabilities change.
export const LABELS = CLASSES.labels;
export const EMOJI = CLASSES.emoji;
// Distinct hues for bars and timeline bands; text never sits on them, so they only need to
// stand apart from each other and from the white background.
export const COLORS = CLASSES.colors;

// Time constant of the exponential moving average over each face's probabilities. Driven by
// elapsed time rather than by answer count, so the display settles equally fast on a fast
// local API and on a slow network; 0.6 s hides single-frame flicker yet follows a real
// change of expression within about a second.
export const SMOOTHING_SECONDS = 0.6;
// However long the gap before it, one answer moves the average at most halfway: on a slow
// link a single odd frame still can't flip a clear label.
export const MAX_STEP = 0.5;

/** All eight labels, missing ones as 0, so sums and comparisons are well defined. */
export function complete(probs) {
  const out = {};
  for (const label of LABELS) out[label] = Number(probs?.[label]) || 0;
  return out;
}

/**
 * One step of the moving average: moves `previous` towards `raw` by the weight that
 * `dtSeconds` earns, 1 - exp(-dt / tau), at most MAX_STEP. The first answer for a face is
 * taken as is.
 */
export function smooth(previous, raw, dtSeconds, tau = SMOOTHING_SECONDS) {
  const target = complete(raw);
  if (!previous) return target;
  const weight = Math.min(MAX_STEP, 1 - Math.exp(-Math.max(0, dtSeconds) / tau));
  const out = {};
  for (const label of LABELS) out[label] = previous[label] + weight * (target[label] - previous[label]);
  return out;
}

export function topLabel(probs) {
  let best = null;
  for (const label of LABELS) {
    if (best === null || probs[label] > probs[best]) best = label;
  }
  return best;
}

export function iou(a, b) {
  const x0 = Math.max(a.x, b.x);
  const y0 = Math.max(a.y, b.y);
  const x1 = Math.min(a.x + a.width, b.x + b.width);
  const y1 = Math.min(a.y + a.height, b.y + b.height);
  const inter = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Pairs new boxes with existing tracks, best overlap first (greedy is plenty for the
 * handful of faces a webcam sees). Returns, per box, the index of its track or -1.
 */
export function matchBoxes(tracks, boxes, minIou = 0.2) {
  const pairs = [];
  boxes.forEach((box, b) => tracks.forEach((track, t) => {
    const overlap = iou(track.box, box);
    if (overlap >= minIou) pairs.push([overlap, b, t]);
  }));
  pairs.sort((p, q) => q[0] - p[0]);
  const boxToTrack = boxes.map(() => -1);
  const taken = new Set();
  for (const [, b, t] of pairs) {
    if (boxToTrack[b] !== -1 || taken.has(t)) continue;
    boxToTrack[b] = t;
    taken.add(t);
  }
  return boxToTrack;
}
