// Drawing the page from the tracks: a box per face over the video, the main face's label
// and bars, a card per other face, and the figures under the video.

import { COLORS, EMOJI, LABELS, topLabel } from './emotions.js';
import { rate } from './requests.js';

const $ = (id) => document.getElementById(id);

/**
 * Whether this browser draws the emoji at all: without an emoji font each one is an empty
 * box. A code point no font has shows what a missing glyph looks like; an emoji drawn the
 * same way is missing too. Where they are missing the page leaves them out (the labels
 * already say the same).
 */
function emojiRenders() {
  const canvas = document.createElement('canvas');
  canvas.width = 40;
  canvas.height = 40;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) return true;
  const font = getComputedStyle(document.querySelector('.top-emoji') ?? document.body).fontFamily;
  const draw = (text) => {
    ctx.clearRect(0, 0, 40, 40);
    ctx.font = `28px ${font}`;
    ctx.textBaseline = 'top';
    ctx.fillStyle = '#000';
    ctx.fillText(text, 2, 2);
    return ctx.getImageData(0, 0, 40, 40).data;
  };
  const missing = draw('\u{10FFFD}');
  return Object.values(EMOJI).every((emoji) => {
    const drawn = draw(emoji);
    return drawn.some((v, i) => v !== missing[i]);
  });
}

export const EMOJI_SHOWN = emojiRenders();
document.documentElement.classList.toggle('no-emoji', !EMOJI_SHOWN);

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
  if (emoji && EMOJI_SHOWN) {
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

/** How long ago a stale reading was answered, for its label. */
function staleSeconds(track, now) {
  return Math.max(1, Math.round((now - track.answeredAt) / 1000));
}

function staleText(track, now) {
  return `no answer for ${staleSeconds(track, now)} s`;
}

/** Boxes over the video for `tracks`, in `width` x `height` frame pixels; a reading the
 * API has not renewed lately (`requests.stale`) is greyed and says so. */
export function renderBoxes(overlay, tracks, main, { width, height, mirrored }, now, requests) {
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
    const stale = Boolean(track.probs) && requests.stale(track.answeredAt, now);
    box.classList.toggle('is-stale', stale);
    if (track.probs) {
      const top = topLabel(track.probs);
      const text = `${top} ${Math.round(100 * track.probs[top])}%`;
      setEmojiText(label, stale ? '' : EMOJI[top], stale ? `${text}? ${staleText(track, now)}`
        : text, number);
      box.dataset.emotion = top;
    } else {
      setEmojiText(label, '', '…', number);
    }
    keepLabelInside(overlay, box, label, left / width, b.y / height);
  }
  for (const box of overlay.querySelectorAll('.face-box')) {
    if (!seen.has(box.dataset.track)) box.remove();
  }
}

/** The label sits on the box's top edge (inside it near the picture's top): shifted so
 * the stage, which clips, shows all of it at the picture's left and right edges too. */
function keepLabelInside(overlay, box, label, leftShare, topShare) {
  const stageWidth = overlay.clientWidth;
  const stageHeight = overlay.clientHeight;
  if (!stageWidth) return;
  const inside = box.classList.contains('label-inside');
  const boxLeft = leftShare * stageWidth;
  // Where style.css puts it: on the box's outer edge, or just inside it.
  const wanted = boxLeft + (inside ? 2 * BOX_BORDER_PX : 0);
  const room = Math.max(0, stageWidth - label.offsetWidth);
  const x = Math.min(Math.max(wanted, 0), room);
  label.style.left = `${Math.round(x - boxLeft - BOX_BORDER_PX)}px`;
  // Inside the box: below the picture's top edge even when the box reaches past it.
  const boxTop = topShare * stageHeight;
  label.style.top = inside ? `${Math.round(Math.max(BOX_BORDER_PX, -boxTop + 2))}px` : '';
}

// The face box's border (style.css): the label lines up with its outer edge.
const BOX_BORDER_PX = 3;

export function renderMain(main, bars, placeholder, now, requests) {
  const probs = main?.probs ?? null;
  const top = probs ? topLabel(probs) : '';
  const stale = Boolean(probs) && requests.stale(main.answeredAt, now);
  const emotionEl = $('emotion');
  if (emotionEl.textContent !== top) emotionEl.textContent = top;
  emotionEl.dataset.stale = String(stale);
  $('results').classList.toggle('is-stale', stale);
  $('top-stale').textContent = stale ? `No answer for ${staleSeconds(main, now)} s: this is an ` +
    'old reading.' : '';
  $('top-emoji').textContent = top && EMOJI_SHOWN ? EMOJI[top] : EMOJI_SHOWN ? '🙂' : '';
  $('top-confidence').textContent = top ? `${Math.round(100 * probs[top])}%` : '';
  $('top-placeholder').textContent = main ? 'Reading the face…' : placeholder;
  $('top-placeholder').hidden = Boolean(top);
  updateBars(bars, probs);
}

export function renderOthers(tracks, main, now, requests) {
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
    const stale = Boolean(top) && requests.stale(track.answeredAt, now);
    card.classList.toggle('is-stale', stale);
    setEmojiText(card.querySelector('h4'), top && !stale ? EMOJI[top] : '',
      top ? (stale ? `${top}? ${staleText(track, now)}` : top) : 'reading…',
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
  const { latencyMs, serverMs, lastAnswerAt } = requests;
  // Failing, or waiting on one request for long: the last latency is not today's.
  const quiet = lastAnswerAt !== null && (requests.failures > 0
    || (requests.inFlight && requests.stale(lastAnswerAt, now)));
  $('latency').textContent = latencyMs === null ? '–'
    : quiet ? `no answer for ${Math.max(1, Math.round((now - lastAnswerAt) / 1000))} s`
      : `${Math.round(latencyMs)} ms` +
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
