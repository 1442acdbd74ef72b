// The last WINDOW_SECONDS of the main face's smoothed probabilities as stacked bands, one
// colour per emotion, newest on the right. Gaps stay blank: no face, no answer from the API
// (each failure breaks the line), or answers further apart than MAX_STEP_MS: a band is only
// drawn between two answers close enough that nothing much can have happened in between.

import { COLORS, LABELS, topLabel } from './emotions.js';

export const WINDOW_SECONDS = 30;
const MAX_STEP_MS = 2000;

export class Timeline {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d');
    this.points = []; // { t: ms, probs } or { t: ms, probs: null } for a gap
  }

  /** A new session: nothing drawn. */
  clear() {
    this.points = [];
  }

  add(t, probs) {
    const last = this.points.at(-1);
    if (probs === null && (!last || last.probs === null)) return;
    this.points.push({ t, probs });
  }

  prune(now) {
    const cutoff = now - WINDOW_SECONDS * 1000;
    // Keep one point before the window so the left edge is drawn from it, not left blank.
    let first = 0;
    while (first + 1 < this.points.length && this.points[first + 1].t < cutoff) first++;
    if (first > 0) this.points.splice(0, first);
  }

  /** Points inside the window that carry probabilities (what the tests count). */
  count(now) {
    const cutoff = now - WINDOW_SECONDS * 1000;
    return this.points.filter((p) => p.probs && p.t >= cutoff).length;
  }

  /** A sentence for screen readers: which emotion led over the window. */
  summary(now) {
    const cutoff = now - WINDOW_SECONDS * 1000;
    const totals = Object.fromEntries(LABELS.map((l) => [l, 0]));
    let n = 0;
    for (const p of this.points) {
      if (!p.probs || p.t < cutoff) continue;
      for (const label of LABELS) totals[label] += p.probs[label];
      n++;
    }
    if (!n) return `No face in the last ${WINDOW_SECONDS} seconds.`;
    const lead = topLabel(totals);
    return `Last ${WINDOW_SECONDS} seconds: mostly ${lead} ` +
      `(${Math.round((100 * totals[lead]) / n)}% on average).`;
  }

  draw(now) {
    this.prune(now);
    const { canvas, ctx } = this;
    const dpr = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(canvas.clientWidth * dpr));
    const height = Math.max(1, Math.round(canvas.clientHeight * dpr));
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    ctx.clearRect(0, 0, width, height);

    const span = WINDOW_SECONDS * 1000;
    const xOf = (t) => width - ((now - t) / span) * width;

    // Faint quarter lines so heights can be read without an axis.
    ctx.strokeStyle = '#e2e6ea';
    ctx.lineWidth = 1;
    for (const q of [0.25, 0.5, 0.75]) {
      ctx.beginPath();
      ctx.moveTo(0, Math.round(height * q) + 0.5);
      ctx.lineTo(width, Math.round(height * q) + 0.5);
      ctx.stroke();
    }

    for (const run of this.runs()) {
      // A lone point still gets a sliver, so the first answer is visible at once.
      const xs = run.map((p) => xOf(p.t));
      if (run.length === 1) xs.push(xs[0] + 2 * dpr);
      const points = run.length === 1 ? [run[0], run[0]] : run;
      const below = points.map(() => 0);
      for (const label of LABELS) {
        ctx.beginPath();
        points.forEach((p, i) => {
          const y = height * (1 - below[i] - p.probs[label]);
          if (i === 0) ctx.moveTo(xs[i], y);
          else ctx.lineTo(xs[i], y);
        });
        for (let i = points.length - 1; i >= 0; i--) ctx.lineTo(xs[i], height * (1 - below[i]));
        ctx.closePath();
        ctx.fillStyle = COLORS[label];
        ctx.fill();
        points.forEach((p, i) => { below[i] += p.probs[label]; });
      }
    }
  }

  /** Runs inside the window (what the tests count: a gap makes two). */
  countRuns(now) {
    const cutoff = now - WINDOW_SECONDS * 1000;
    return this.runs().filter((run) => run.at(-1).t >= cutoff).length;
  }

  /** Consecutive points with probabilities, split at gaps and at long silences. */
  runs() {
    const runs = [];
    let current = [];
    for (const p of this.points) {
      if (p.probs && current.length && p.t - current.at(-1).t > MAX_STEP_MS) {
        runs.push(current);
        current = [];
      }
      if (p.probs) {
        current.push(p);
      } else if (current.length) {
        runs.push(current);
        current = [];
      }
    }
    if (current.length) runs.push(current);
    return runs;
  }
}
