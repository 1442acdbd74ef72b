// The session record: every answer the page applied, per face, kept in this tab only
// (nothing is stored on the server). It downloads as CSV or JSON, and sums up as the share
// of time each face spent in each emotion, drawn as one stacked bar per face.

import { COLORS, LABELS, topLabel } from './emotions.js';

// A face unseen for longer than this between two answers was away: the gap is not
// counted as time in its last emotion.
const MAX_GAP_S = 1;
// Probabilities as the API gives them (4 decimals); seconds to the millisecond.
const round = (x, digits) => Math.round(x * 10 ** digits) / 10 ** digits;

export class SessionRecord {
  constructor() {
    this.clear();
  }

  clear(source = '', startedAt = new Date()) {
    this.source = source;
    this.startedAt = startedAt;
    this.model = '';
    this.samples = []; // { t: seconds into the session, face, probs, label }
  }

  add(t, face, probs) {
    const kept = Object.fromEntries(LABELS.map((l) => [l, round(probs[l], 4)]));
    this.samples.push({ t: round(t, 3), face, probs: kept, label: topLabel(probs) });
  }

  get empty() {
    return this.samples.length === 0;
  }

  /** Per face: seconds followed, and the share of that time in each emotion. */
  summary() {
    const byFace = new Map();
    for (const s of this.samples) {
      if (!byFace.has(s.face)) byFace.set(s.face, []);
      byFace.get(s.face).push(s);
    }
    return [...byFace].map(([face, samples]) => {
      const seconds = Object.fromEntries(LABELS.map((l) => [l, 0]));
      samples.forEach((s, i) => {
        const next = samples[i + 1] ?? samples[i - 1];
        const step = next ? Math.abs(next.t - s.t) : 0;
        seconds[s.label] += Math.min(MAX_GAP_S, step);
      });
      const total = LABELS.reduce((sum, l) => sum + seconds[l], 0);
      const share = Object.fromEntries(LABELS.map((l) => [l, total ? seconds[l] / total : 0]));
      return { face, answers: samples.length, seconds: round(total, 3),
        share: Object.fromEntries(LABELS.map((l) => [l, round(share[l], 4)])) };
    });
  }

  /** One row per answer; `started` (the session's start, UTC) on every row, so a row
   * read on its own still says when it was. */
  csv() {
    const started = this.startedAt.toISOString();
    const rows = [['started', 'time_s', 'face', ...LABELS, 'label'].join(',')];
    for (const s of this.samples) {
      rows.push([started, s.t.toFixed(3), s.face, ...LABELS.map((l) => s.probs[l].toFixed(4)),
        s.label].join(','));
    }
    return `${rows.join('\n')}\n`;
  }

  json() {
    return JSON.stringify({
      source: this.source,
      started: this.startedAt.toISOString(),
      model: this.model,
      labels: LABELS,
      samples: this.samples,
      summary: this.summary(),
    }, null, 1);
  }

  download(kind) {
    const blob = new Blob([kind === 'csv' ? this.csv() : this.json()],
      { type: kind === 'csv' ? 'text/csv' : 'application/json' });
    const stamp = this.startedAt.toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
    const link = document.createElement('a');
    link.href = URL.createObjectURL(blob);
    link.download = `emotion-session-${stamp}.${kind}`;
    document.body.append(link);
    link.click();
    link.remove();
    // The click has started the download; the URL is no longer needed after this turn.
    setTimeout(() => URL.revokeObjectURL(link.href), 0);
  }
}

/** One row per face: a stacked bar of its time per emotion, and the shares as text; the
 * downloads are offered once there is something to download. */
export function renderSummary(record) {
  const $ = (id) => document.getElementById(id);
  $('summary-empty').hidden = !record.empty;
  $('download-csv').disabled = record.empty;
  $('download-json').disabled = record.empty;
  const rows = record.summary().map(({ face, seconds, share }) => {
    const item = document.createElement('li');
    item.className = 'summary-face';
    item.dataset.face = String(face);
    const title = document.createElement('h4');
    title.textContent = `Face #${face}: ${seconds.toFixed(1)} s`;
    const bar = document.createElement('div');
    bar.className = 'summary-bar';
    bar.setAttribute('aria-hidden', 'true');
    const text = document.createElement('p');
    text.className = 'summary-text';
    const parts = [];
    for (const label of [...LABELS].sort((a, b) => share[b] - share[a])) {
      if (share[label] <= 0) continue;
      const segment = document.createElement('span');
      segment.style.width = `${100 * share[label]}%`;
      segment.style.background = COLORS[label];
      segment.title = `${label} ${Math.round(100 * share[label])}%`;
      bar.append(segment);
      parts.push(`${label} ${Math.round(100 * share[label])}%`);
    }
    text.textContent = parts.join(', ');
    item.append(title, bar, text);
    return item;
  });
  $('summary').replaceChildren(...rows);
}
