// The live page: camera -> faces found in the browser -> small JPEG crops to POST /face,
// one request in flight at a time -> smoothed emotions drawn over the video, as bars and
// as a 30-second timeline. If the in-browser detector can't run, whole downscaled frames
// go to the API and the server finds the faces.

import { ApiError, apiLocation, getHealth, postFace, REQUEST_TIMEOUT_MS } from './api.js';
import { loadDetector } from './detector.js';
import {
  COLORS, EMOJI, LABELS, expandBox, matchBoxes, smooth, SMOOTHING_SECONDS, topLabel,
} from './emotions.js';
import { Timeline } from './timeline.js';

// Crops should frame a face as the server's own crops do (and so as FER+ did, which the
// model learnt). The server grows OpenCV Haar boxes by 2.5% a side. BlazeFace boxes are as
// large as Haar boxes but sit ~10% of their height lower (measured on the test face at four
// sizes), so they are moved up by that much, then grown the same way.
const CROP_SHIFT_UP = 0.1;
const CROP_MARGIN = 0.025;
// The model reads faces at 64 px or so; 160 px leaves headroom and is still only ~8 KB.
const CROP_SIDE = 160;
const CROP_QUALITY = 0.85;
// Fallback frames: the server detects at ~480 px, so more than 640 px wide is wasted upload.
const FRAME_WIDTH = 640;
const FRAME_QUALITY = 0.8;
const TRACK_TTL_MS = 500; // a face the detector misses for this long has left
const SERVER_TRACK_TTL_MS = 3000; // boxes from the server live until its next answer
const NO_FACE_AFTER_MS = 1500;
const SLOW_AFTER_MS = 3000;
const MAX_BACKOFF_MS = 10000;
const MAX_FACES = 6;

const CONSTRAINTS = {
  audio: false,
  video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: 'user' },
};

const $ = (id) => document.getElementById(id);
const video = $('video');
const stage = $('stage');
const overlay = $('overlay');
const stageHint = $('stage-hint');
const messages = $('messages');
const cameraButton = $('camera-button');
const mirrorBox = $('mirror');
const emotionEl = $('emotion');
const details = $('details');
const rawJson = $('raw-json');
const timelineCanvas = $('timeline');

const frameCanvas = document.createElement('canvas');
const frameCtx = frameCanvas.getContext('2d');
const sendCanvas = document.createElement('canvas');
const sendCtx = sendCanvas.getContext('2d');

const timeline = new Timeline(timelineCanvas);
const mainBars = createBars($('bars'));

const state = {
  stream: null,
  session: 0, // bumped on every start and stop, so a loop from an old session ends itself
  running: false,
  starting: false, // waiting for getUserMedia (a permission prompt may be open)
  detector: null,
  detectorStatus: 'loading', // 'loading' | 'ready' | 'failed'
  tracks: [],
  unsent: [], // tracks of the latest detected frame whose crop has not gone out yet
  detecting: false,
  nextTrackId: 1,
  mainId: null,
  inFlight: null, // token of the one request allowed out at a time
  retryAt: 0,
  failures: 0,
  paused: false, // after a 4xx, until the person presses Try again
  startedAt: 0,
  lastFaceAt: 0,
  detectedOnce: false,
  serverSawNoFace: false,
  latencyMs: null,
  serverMs: null,
  answerTimes: [],
  frameTimes: [],
  lastAnswer: null,
  lastStatsAt: 0,
  lastTimelineAt: 0,
};

// ---------------------------------------------------------------------------------------
// Messages: one per topic (camera, api, face, ...), replaced in place, so screen readers
// hear a change once instead of a stream of repeats.

function showMessage(key, text, { level = 'error', action = null, link = null } = {}) {
  let box = messages.querySelector(`[data-key="${key}"]`);
  const signature = `${level}|${text}|${action?.label ?? ''}`;
  if (box?.dataset.signature === signature) return;
  if (!box) {
    box = document.createElement('div');
    box.dataset.key = key;
    box.setAttribute('data-testid', `message-${key}`);
    messages.append(box);
  }
  box.dataset.signature = signature;
  box.className = `message message-${level}`;
  box.setAttribute('role', level === 'error' ? 'alert' : 'status');
  const paragraph = document.createElement('p');
  paragraph.textContent = text;
  const parts = [paragraph];
  if (link) {
    const a = document.createElement('a');
    a.href = link.href;
    a.textContent = link.label;
    parts.push(a);
  }
  if (action) {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = action.label;
    button.addEventListener('click', action.handler);
    parts.push(button);
  }
  box.replaceChildren(...parts);
}

function clearMessage(key) {
  messages.querySelector(`[data-key="${key}"]`)?.remove();
}

// ---------------------------------------------------------------------------------------
// Camera

function describeCameraError(error) {
  switch (error.name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
    case 'SecurityError':
      return 'Camera access was denied. Allow the camera for this site (the camera icon ' +
        'in the address bar, or the browser\'s site settings), then press Try again.';
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return 'No camera was found. Connect a camera (or switch it on in your system ' +
        'settings), then press Try again.';
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return 'The camera is in use by another app or browser tab (or the system blocked ' +
        'it). Close the other app, then press Try again.';
    default:
      return `The camera could not start (${error.name}: ${error.message}). ` +
        'Press Try again, or reload the page.';
  }
}

async function startCamera() {
  if (state.running || state.starting) return;
  clearMessage('camera');
  if (!window.isSecureContext) {
    const https = new URL(window.location.href);
    https.protocol = 'https:';
    showMessage('camera', 'This page is not served over HTTPS, so the browser will not ' +
      'let it use the camera.', { link: { href: https.href, label: 'Open the HTTPS page' } });
    setStage('error', 'The camera needs HTTPS.');
    return;
  }
  if (!navigator.mediaDevices?.getUserMedia) {
    showMessage('camera', 'This browser cannot give web pages a camera. Try a current ' +
      'Chrome, Edge, Firefox or Safari.');
    setStage('error', 'No camera support in this browser.');
    return;
  }
  setStage('starting', 'Starting the camera…');
  cameraButton.disabled = true;
  state.starting = true;
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia(CONSTRAINTS);
  } catch (error) {
    handleCameraError(error);
    return;
  } finally {
    cameraButton.disabled = false;
    state.starting = false;
  }
  state.stream = stream;
  stream.getVideoTracks()[0]?.addEventListener('ended', handleTrackEnded);
  video.srcObject = stream;
  try {
    await video.play();
  } catch (error) {
    // Autoplay of a muted inline video is allowed everywhere; this is a real failure.
    stopCamera();
    handleCameraError(error);
    return;
  }
  startSession();
}

function handleCameraError(error) {
  console.error('getUserMedia error:', error);
  showMessage('camera', describeCameraError(error),
    { action: { label: 'Try again', handler: startCamera } });
  setStage('error', 'Camera unavailable: see the message above.');
  cameraButton.textContent = 'Start camera';
}

function handleTrackEnded() {
  stopCamera();
  showMessage('camera', 'The camera stopped: it was unplugged, switched off, or taken by ' +
    'another app. Press Try again to restart it.',
  { action: { label: 'Try again', handler: startCamera } });
}

function startSession() {
  state.session++;
  state.running = true;
  state.startedAt = performance.now();
  state.lastFaceAt = state.startedAt;
  state.detectedOnce = false;
  state.serverSawNoFace = false;
  state.tracks = [];
  state.unsent = [];
  cameraButton.textContent = 'Stop camera';
  stage.style.aspectRatio = `${video.videoWidth} / ${video.videoHeight}`;
  setStage('running', '');
  frameLoop(state.session);
}

function stopCamera() {
  state.session++;
  state.running = false;
  state.stream?.getTracks().forEach((track) => track.stop());
  state.stream = null;
  video.srcObject = null;
  state.tracks = [];
  timeline.add(performance.now(), null);
  clearMessage('face');
  cameraButton.textContent = 'Start camera';
  setStage('stopped', 'Camera stopped.');
  render(performance.now());
}

function handleCameraButton() {
  if (state.running) stopCamera();
  else startCamera();
}

function setStage(kind, hint) {
  stage.dataset.state = kind;
  stageHint.textContent = hint;
  stageHint.hidden = !hint;
}

// ---------------------------------------------------------------------------------------
// The frame loop: once per new video frame, find faces (in the browser, or by sending the
// frame), then redraw. It never waits for the API, so boxes keep video rate.

function nextVideoFrame() {
  return new Promise((resolve) => {
    if ('requestVideoFrameCallback' in video) video.requestVideoFrameCallback(() => resolve());
    else requestAnimationFrame(() => resolve());
  });
}

async function frameLoop(session) {
  while (session === state.session) {
    await nextVideoFrame();
    if (session !== state.session) return;
    const now = performance.now();
    try {
      if (video.videoWidth && state.detectorStatus !== 'loading') {
        snapshot();
        if (state.detector) {
          await detectInBrowser(now);
          if (session !== state.session) return;
        } else {
          sendFrame(now);
        }
      }
      expireTracks(now);
      updateNoFace(now);
      render(now);
    } catch (error) {
      // A bug in one frame must not end the loop for good; the next frame tries again.
      console.error('frame loop:', error);
    }
  }
}

function snapshot() {
  if (frameCanvas.width !== video.videoWidth || frameCanvas.height !== video.videoHeight) {
    frameCanvas.width = video.videoWidth;
    frameCanvas.height = video.videoHeight;
    stage.style.aspectRatio = `${video.videoWidth} / ${video.videoHeight}`;
  }
  frameCtx.drawImage(video, 0, 0);
}

async function detectInBrowser(now) {
  let boxes;
  state.detecting = true;
  try {
    boxes = await state.detector.detect(frameCanvas);
  } catch (error) {
    useServerDetection(`it stopped: ${error.message || error}`);
    return;
  } finally {
    state.detecting = false;
  }
  state.detectedOnce = true;
  tick(state.frameTimes, now);
  const tracks = updateTracks(boxes.slice(0, MAX_FACES), now);
  if (tracks.length) state.lastFaceAt = now;
  state.unsent = tracks;
  sendCrop(now);
}

// ---------------------------------------------------------------------------------------
// Tracks: a face followed from frame to frame, carrying its smoothed probabilities.

function updateTracks(boxes, now) {
  const match = matchBoxes(state.tracks, boxes);
  return boxes.map((box, i) => {
    let track = match[i] >= 0 ? state.tracks[match[i]] : null;
    if (!track) {
      track = { id: state.nextTrackId++, probs: null, answeredAt: 0, sentAt: 0 };
      state.tracks.push(track);
    }
    track.box = box;
    track.seenAt = now;
    return track;
  });
}

function expireTracks(now) {
  const ttl = state.detector ? TRACK_TTL_MS : SERVER_TRACK_TTL_MS;
  const before = state.tracks.length;
  state.tracks = state.tracks.filter((t) => now - t.seenAt <= ttl);
  if (before && !state.tracks.length) timeline.add(now, null);
}

function mainTrack() {
  // The largest face leads; the current one keeps the lead unless another is clearly
  // bigger, so two similar faces don't swap the display back and forth.
  const area = (t) => t.box.width * t.box.height;
  let best = null;
  for (const track of state.tracks) {
    if (!best || area(track) > area(best)) best = track;
  }
  const current = state.tracks.find((t) => t.id === state.mainId);
  if (current && best && area(best) < 1.3 * area(current)) best = current;
  state.mainId = best?.id ?? null;
  return best;
}

function applyPredictions(track, raw, now) {
  const dt = track.answeredAt ? (now - track.answeredAt) / 1000 : 0;
  track.probs = smooth(track.probs, raw, dt);
  track.answeredAt = now;
  if (track === mainTrack()) timeline.add(now, track.probs);
}

// ---------------------------------------------------------------------------------------
// Requests: at most one in flight. The next one leaves as soon as the last answer is back
// (face crops of the latest detected frame; in the fallback, the next video frame), so the
// rate follows the network and nothing queues up.

function canSend(now) {
  return state.inFlight === null && !state.paused && now >= state.retryAt;
}

// Called after each detection and again as soon as an answer comes back: then the faces of
// the latest frame go out at once instead of waiting for the next detection. frameCanvas
// still holds that frame unless a new detection has started on it.
function sendCrop(now) {
  const tracks = state.unsent.filter((t) => state.tracks.includes(t));
  if (!tracks.length || state.detecting || !canSend(now)) return;
  // The face that has waited longest for an answer goes next: faces share the one slot.
  const track = tracks.reduce((a, b) => (b.sentAt < a.sentAt ? b : a));
  state.unsent = tracks.filter((t) => t !== track);
  const framed = { ...track.box, y: track.box.y - CROP_SHIFT_UP * track.box.height };
  const crop = expandBox(framed, CROP_MARGIN, frameCanvas.width, frameCanvas.height);
  const scale = Math.min(1, CROP_SIDE / Math.max(crop.width, crop.height));
  sendCanvas.width = Math.max(1, Math.round(crop.width * scale));
  sendCanvas.height = Math.max(1, Math.round(crop.height * scale));
  sendCtx.drawImage(frameCanvas, crop.x, crop.y, crop.width, crop.height,
    0, 0, sendCanvas.width, sendCanvas.height);
  track.sentAt = now;
  const id = track.id;
  send(sendCanvas.toDataURL('image/jpeg', CROP_QUALITY), false, (body, at) => {
    const answered = state.tracks.find((t) => t.id === id);
    const raw = body.faces?.[0]?.predictions ?? body.predictions;
    if (answered && raw) applyPredictions(answered, raw, at);
  });
}

function sendFrame(now) {
  if (!canSend(now)) return;
  const scale = Math.min(1, FRAME_WIDTH / frameCanvas.width);
  sendCanvas.width = Math.round(frameCanvas.width * scale);
  sendCanvas.height = Math.round(frameCanvas.height * scale);
  sendCtx.drawImage(frameCanvas, 0, 0, sendCanvas.width, sendCanvas.height);
  send(sendCanvas.toDataURL('image/jpeg', FRAME_QUALITY), true, (body, at) => {
    const faces = (body.faces ?? []).slice(0, MAX_FACES);
    const boxes = faces.map(({ box }) => ({
      x: box.x / scale, y: box.y / scale, width: box.width / scale, height: box.height / scale,
    }));
    const tracks = updateTracks(boxes, at);
    // The server saw the whole frame: a face it did not find has gone.
    state.tracks = state.tracks.filter((t) => tracks.includes(t));
    tracks.forEach((track, i) => applyPredictions(track, faces[i].predictions, at));
    state.serverSawNoFace = faces.length === 0;
    if (faces.length) state.lastFaceAt = at;
    else timeline.add(at, null);
    tick(state.frameTimes, at);
  });
}

async function send(image, detect, onAnswer) {
  const token = {};
  const session = state.session;
  state.inFlight = token;
  const slowTimer = setTimeout(() => {
    showMessage('api-slow', `Waiting for the API for over ${SLOW_AFTER_MS / 1000} s: it is ` +
      'slow or far away, so results lag behind.', { level: 'warning' });
  }, SLOW_AFTER_MS);
  try {
    const answer = await postFace(image, detect);
    if (session !== state.session) return;
    const now = performance.now();
    handleAnswer(answer, now);
    onAnswer(answer.body, now);
  } catch (error) {
    if (session !== state.session) return;
    if (!(error instanceof ApiError)) throw error;
    handleApiError(error);
  } finally {
    clearTimeout(slowTimer);
    if (state.inFlight === token) state.inFlight = null;
  }
  if (state.detector && session === state.session) sendCrop(performance.now());
}

function handleAnswer({ body, latencyMs, serverMs }, now) {
  state.failures = 0;
  clearMessage('api');
  if (latencyMs > SLOW_AFTER_MS) {
    showMessage('api-slow', `The API is slow: the last answer took ` +
      `${(latencyMs / 1000).toFixed(1)} s, so results lag behind.`, { level: 'warning' });
  } else {
    clearMessage('api-slow');
  }
  state.latencyMs = state.latencyMs === null ? latencyMs : 0.8 * state.latencyMs + 0.2 * latencyMs;
  state.serverMs = serverMs;
  tick(state.answerTimes, now);
  state.lastAnswer = body;
  if (details.open) rawJson.textContent = JSON.stringify(body, null, 2);
}

function describeApiError(error) {
  const where = apiLocation();
  switch (error.kind) {
    case 'unreachable':
      return `Can't reach the emotion API at ${where}. Check your connection, or that the ` +
        'API is running.';
    case 'timeout':
      return `The emotion API at ${where} did not answer within ` +
        `${REQUEST_TIMEOUT_MS / 1000} s.`;
    case 'server':
      return `The emotion API failed (HTTP ${error.status}${error.code ? `, ${error.code}` : ''}):` +
        ` ${error.message}.`;
    case 'client':
      return `The emotion API refused the request (HTTP ${error.status}` +
        `${error.code ? `, ${error.code}` : ''}): ${error.message}.`;
    default:
      return `The emotion API at ${where} sent an answer this page cannot read ` +
        `(${error.message}). Is the API URL in config.js right?`;
  }
}

function handleApiError(error) {
  console.error('API error:', error);
  clearMessage('api-slow');
  state.failures++;
  if (!error.retriable) {
    // Sending the same kind of request again would only fail the same way.
    state.paused = true;
    showMessage('api', `${describeApiError(error)} Reload the page if it keeps happening.`,
      { action: { label: 'Try again', handler: resumeApi } });
    return;
  }
  const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** (state.failures - 1));
  state.retryAt = performance.now() + delay;
  showMessage('api', `${describeApiError(error)} Trying again every few seconds…`);
}

function resumeApi() {
  state.paused = false;
  state.retryAt = 0;
  clearMessage('api');
}

// ---------------------------------------------------------------------------------------
// Face detector: BlazeFace in the browser when it loads, else the server finds faces.

async function startDetector() {
  try {
    state.detector = await loadDetector();
    state.detectorStatus = 'ready';
    $('mode').textContent = 'in your browser (BlazeFace)';
  } catch (error) {
    useServerDetection(error.message || String(error));
  }
}

function useServerDetection(reason) {
  console.warn('In-browser face detection unavailable:', reason);
  state.detector?.close();
  state.detector = null;
  state.detectorStatus = 'failed';
  state.tracks = [];
  $('mode').textContent = 'on the server (fallback)';
  showMessage('detector', `The in-browser face finder is unavailable (${reason}), so ` +
    'downscaled frames go to the API to find faces there: boxes move less smoothly.',
  { level: 'info' });
}

function updateNoFace(now) {
  if (!state.running) return;
  const noFace = state.detector
    ? state.detectedOnce && !state.tracks.length && now - state.lastFaceAt > NO_FACE_AFTER_MS
    : state.serverSawNoFace && !state.tracks.length;
  if (noFace) {
    showMessage('face', 'No face in view. Face the camera in good light, about an arm\'s ' +
      'length away.', { level: 'info' });
  } else {
    clearMessage('face');
  }
}

// ---------------------------------------------------------------------------------------
// Drawing

function createBars(list) {
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

function render(now) {
  const main = state.running ? mainTrack() : null;
  renderBoxes(main);
  renderMain(main);
  renderOthers(main);
  if (now - state.lastStatsAt > 250) {
    state.lastStatsAt = now;
    renderStats(now);
  }
  if (now - state.lastTimelineAt > 100) {
    state.lastTimelineAt = now;
    timeline.draw(now);
    timelineCanvas.dataset.points = String(timeline.count(now));
  }
}

function renderBoxes(main) {
  const width = frameCanvas.width || video.videoWidth || 1;
  const height = frameCanvas.height || video.videoHeight || 1;
  const mirrored = mirrorBox.checked;
  const seen = new Set();
  for (const track of state.tracks) {
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
    const number = state.tracks.length > 1 ? `#${track.id} ` : '';
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

function renderMain(main) {
  const probs = main?.probs ?? null;
  const top = probs ? topLabel(probs) : '';
  if (emotionEl.textContent !== top) emotionEl.textContent = top;
  $('top-emoji').textContent = top ? EMOJI[top] : '🙂';
  $('top-confidence').textContent = top ? `${Math.round(100 * probs[top])}%` : '';
  let placeholder = 'Waiting for a face…';
  if (!state.running) placeholder = 'Camera is off.';
  else if (main) placeholder = 'Reading the face…';
  $('top-placeholder').textContent = placeholder;
  $('top-placeholder').hidden = Boolean(top);
  updateBars(mainBars, probs);
}

function renderOthers(main) {
  const others = state.tracks.filter((t) => t !== main);
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

function rate(times, now) {
  while (times.length && now - times[0] > 2000) times.shift();
  if (times.length < 2) return null;
  return ((times.length - 1) * 1000) / (times.at(-1) - times[0]);
}

function tick(times, now) {
  times.push(now);
  if (times.length > 120) times.shift();
}

function renderStats(now) {
  const latency = state.latencyMs === null ? '–' : `${Math.round(state.latencyMs)} ms` +
    (state.serverMs === null ? '' : ` (server ${Math.round(state.serverMs)} ms)`);
  $('latency').textContent = latency;
  const answers = rate(state.answerTimes, now);
  $('answer-rate').textContent = answers === null ? '–' : `${answers.toFixed(1)} per second`;
  const frames = rate(state.frameTimes, now);
  $('detect-rate').textContent = frames === null ? '–' : `${frames.toFixed(1)} fps`;
  $('timeline-summary').textContent = timeline.summary(now);
}

function createLegend() {
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

function handleDetailsToggle() {
  details.querySelector('summary').textContent = details.open ? 'Hide details' : 'Show details';
  if (details.open && state.lastAnswer) {
    rawJson.textContent = JSON.stringify(state.lastAnswer, null, 2);
  }
}

function handleMirrorChange() {
  stage.classList.toggle('mirrored', mirrorBox.checked);
  renderBoxes(state.running ? mainTrack() : null);
}

async function showModel() {
  try {
    const { body } = await getHealth();
    $('model-info').textContent = `Model: ${body.model}. Predictions are smoothed over ` +
      `~${SMOOTHING_SECONDS} s.`;
  } catch (error) {
    // An API that is down now is reported when the first face goes out; say it early too.
    if (error instanceof ApiError && error.kind === 'unreachable' && !state.lastAnswer) {
      showMessage('api', describeApiError(error));
    }
  }
}

cameraButton.addEventListener('click', handleCameraButton);
mirrorBox.addEventListener('change', handleMirrorChange);
details.addEventListener('toggle', handleDetailsToggle);
createLegend();
handleMirrorChange();
render(performance.now());
startDetector();
showModel();
startCamera();
