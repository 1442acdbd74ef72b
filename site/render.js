// Drawing the page from the tracks: a box per face over the video, the main face's label
// and bars, a card per other face, and the figures under the video.

import { COLORS, EMOJI, LABELS, topLabel } from './emotions.js';
import { rate } from './requests.js';

const $ = (id) => document.getElementById(id);

export function createBars(list) {
  const rows = {};
  for (const label of LABELS) {
    const item = document.createElement('li');
    item.className = 'bar-row';
    const name = document.createElement('span');
    name.className = 'bar-label';
    setEmojiText(name, EMOJI[label], label);
    const track = document.createElement('span');
    track.className = 'bar-track';
    track.setAttribute('role', 'meter');
    track.setAttribute('aria-label', label);
    track.setAttribute('aria-valuemin', '0');
    track.setAttribute('aria-valuemax', '100');
    track.setAttribute('aria-valuenow', '0');
    const fill = document.createElement('span');
    fill.className = 'bar-fill';
    fill.style.background = COLORS[label];
    track.append(fill);
    const value = document.createElement('span');
    value.className = 'bar-value';
    value.textContent = '–';
    item.append(name, track, value);
    list.append(item);
    rows[label] = { item, track, fill, value };
  }
  return rows;
}

/**
 * prefix + emoji + text, the emoji in its own span: colour-emoji fonts apply to it, and
 * screen readers skip it (the label already says the same). Untouched when unchanged.
 */
function setEmojiText(element, emoji, text, prefix = '') {
  const key = `${prefix}|${emoji}|${text}`;
  if (element.dataset.content === key) return;
  element.dataset.content = key;
  const parts = [];
  if (prefix) parts.push(prefix);
  if (emoji) {
    const span = document.createElement('span');
    span.className = 'emoji';
    span.setAttribute('aria-hidden', 'true');
    span.textContent = emoji;
    parts.push(span, ' ');
  }
  parts.push(text);
  element.replaceChildren(...parts);
}

function updateBars(rows, probs) {
  const top = probs ? topLabel(probs) : null;
  for (const label of LABELS) {
    const row = rows[label];
    const pct = probs ? Math.round(100 * probs[label]) : 0;
    row.fill.style.width = `${probs ? 100 * probs[label] : 0}%`;
    row.track.setAttribute('aria-valuenow', String(pct));
    row.value.textContent = probs ? `${pct}%` : '–';
    row.item.classList.toggle('is-top', label === top);
  }
}

/** Boxes over the video for `tracks`, in `width` x `height` frame pixels. */
export function renderBoxes(overlay, tracks, main, { width, height, mirrored }) {
  const seen = new Set();
  for (const track of tracks) {
    seen.add(String(track.id));
    let box = overlay.querySelector(`[data-track="${track.id}"]`);
    if (!box) {
      box = document.createElement('div');
      box.className = 'face-box';
      box.dataset.track = String(track.id);
      box.setAttribute('data-testid', 'face-box');
      const label = document.createElement('span');
      label.className = 'face-label';
      box.append(label);
      overlay.append(box);
    }
    const b = track.box;
    const left = mirrored ? width - b.x - b.width : b.x;
    box.style.left = `${(100 * left) / width}%`;
    box.style.top = `${(100 * b.y) / height}%`;
    box.style.width = `${(100 * b.width) / width}%`;
    box.style.height = `${(100 * b.height) / height}%`;
    box.classList.toggle('is-main', track === main);
    box.classList.toggle('label-inside', b.y < 0.12 * height);
    const label = box.firstChild;
    const number = tracks.length > 1 ? `#${track.id} ` : '';
    if (track.probs) {
      const top = topLabel(track.probs);
      setEmojiText(label, EMOJI[top], `${top} ${Math.round(100 * track.probs[top])}%`, number);
      box.dataset.emotion = top;
    } else {
      setEmojiText(label, '', '…', number);
    }
  }
  for (const box of overlay.querySelectorAll('.face-box')) {
    if (!seen.has(box.dataset.track)) box.remove();
  }
}

export function renderMain(main, bars, placeholder) {
  const probs = main?.probs ?? null;
  const top = probs ? topLabel(probs) : '';
  const emotionEl = $('emotion');
  if (emotionEl.textContent !== top) emotionEl.textContent = top;
  $('top-emoji').textContent = top ? EMOJI[top] : '🙂';
  $('top-confidence').textContent = top ? `${Math.round(100 * probs[top])}%` : '';
  $('top-placeholder').textContent = main ? 'Reading the face…' : placeholder;
  $('top-placeholder').hidden = Boolean(top);
  updateBars(bars, probs);
}

export function renderOthers(tracks, main) {
  const others = tracks.filter((t) => t !== main);
  const list = $('other-face-list');
  $('other-faces').hidden = others.length === 0;
  const keep = new Set(others.map((t) => String(t.id)));
  for (const card of list.querySelectorAll('li[data-track]')) {
    if (!keep.has(card.dataset.track)) card.remove();
  }
  for (const track of others) {
    let card = list.querySelector(`li[data-track="${track.id}"]`);
    if (!card) {
      card = document.createElement('li');
      card.dataset.track = String(track.id);
      card.className = 'face-card';
      const title = document.createElement('h4');
      const bars = document.createElement('ul');
      bars.className = 'bars bars-small';
      card.append(title, bars);
      card.bars = createBars(bars);
      list.append(card);
    }
    const top = track.probs ? topLabel(track.probs) : null;
    setEmojiText(card.querySelector('h4'), top ? EMOJI[top] : '', top ?? 'reading…',
      `Face #${track.id}: `);
    updateBars(card.bars, track.probs);
  }
}

export function createLegend() {
  const legend = $('legend');
  for (const label of LABELS) {
    const item = document.createElement('li');
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = COLORS[label];
    item.append(swatch, label);
    legend.append(item);
  }
}

/** Latency, answers and detection rates under the video; the timeline's text summary. */
export function renderStats(now, requests, frameTimes, timeline) {
  const { latencyMs, serverMs } = requests;
  $('latency').textContent = latencyMs === null ? '–' : `${Math.round(latencyMs)} ms` +
    (serverMs === null ? '' : ` (server ${Math.round(serverMs)} ms)`);
  const answers = rate(requests.answerTimes, now);
  $('answer-rate').textContent = answers === null ? '–' : `${answers.toFixed(1)} per second`;
  const fps = rate(frameTimes, now);
  $('detect-rate').textContent = fps === null ? '–' : `${fps.toFixed(1)} fps`;
  $('timeline-summary').textContent = timeline.summary(now);
}

/** "Show details": the API's last answer as sent, while the details are open. */
export function showDetails(details, answer) {
  details.querySelector('summary').textContent = details.open ? 'Hide details' : 'Show details';
  if (details.open && answer) $('raw-json').textContent = JSON.stringify(answer, null, 2);
}
