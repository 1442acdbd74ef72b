// The live page: a source (camera or video file) -> faces found and tracked in a worker ->
// small JPEG crops to POST /face, one request in flight at a time -> smoothed emotions
// drawn over the video, as bars and as a 30-second timeline, and kept in the session
// record. If the in-browser detector can't run, whole downscaled frames go to the API and
// the server finds the faces. This file wires the modules together and runs the loop.

import { ApiError, getHealth } from './api.js';
import { loadDetector } from './detector.js';
import { SMOOTHING_SECONDS } from './emotions.js';
import { clearMessage, showMessage } from './messages.js';
import {
  createBars, createLegend, renderBoxes, renderMain, renderOthers,
} from './render.js';
import { rate, reportUnreachable, Requests, tick } from './requests.js';
import { renderSummary, SessionRecord } from './session.js';
import { Source } from './source.js';
import { Timeline } from './timeline.js';
import { applyPredictions, MAX_FACES, Tracker } from './tracking.js';

const NO_FACE_AFTER_MS = 1500;

const $ = (id) => document.getElementById(id);
const video = $('video');
const stage = $('stage');
const details = $('details');
const timelineCanvas = $('timeline');
const cameraButton = $('camera-button');

// Two frame buffers: the newest frame is detected in one while crops for the API are cut
// from the other, which still holds the frame the current boxes came from.
const frames = [0, 1].map(() => document.createElement('canvas'));
let detected = frames[0];

const timeline = new Timeline(timelineCanvas);
const mainBars = createBars($('bars'));
const tracker = new Tracker();
const record = new SessionRecord();
const requests = new Requests({ answered: handleAnswered, free: sendNext });
const source = new Source(video, {
  stage: setStage, started: handleStarted, stopped: handleStopped, ended: handleEnded,
});

const state = {
  loop: 0, // bumped on every start and stop, so a loop from an old source ends itself
  detector: null,
  detectorStatus: 'loading', // 'loading' | 'ready' | 'failed'
  lastFaceAt: 0,
  detectedOnce: false,
  serverSawNoFace: false,
  frameTimes: [],
  lastStatsAt: 0,
  lastTimelineAt: 0,
  lastSummaryAt: 0,
};

function setStage(kind, hint) {
  stage.dataset.state = kind;
  $('stage-hint').textContent = hint;
  $('stage-hint').hidden = !hint;
  cameraButton.disabled = kind === 'starting';
}

function handleStarted(kind) {
  state.loop++;
  requests.reset();
  tracker.clear();
  timeline.add(performance.now(), null);
  record.clear(kind === 'camera' ? 'camera' : $('file-input').files[0]?.name ?? 'file');
  renderSession();
  state.lastFaceAt = performance.now();
  state.detectedOnce = false;
  state.serverSawNoFace = false;
  cameraButton.textContent = kind === 'camera' ? 'Stop camera' : 'Use the camera';
  video.setAttribute('aria-label', kind === 'camera' ? 'Your camera' : 'The video file');
  // A recording is shown as it was filmed; a camera as a mirror, unless told otherwise.
  $('mirror').checked = kind === 'camera';
  handleMirrorChange();
  setStage('running', '');
  frameLoop(state.loop);
}

function handleStopped(kind) {
  state.loop++;
  tracker.clear();
  timeline.add(performance.now(), null);
  clearMessage('face');
  cameraButton.textContent = kind === 'camera' ? 'Start camera' : 'Use the camera';
  setStage('stopped', kind === 'camera' ? 'Camera stopped.' : 'The video has ended.');
  renderSession();
  render(performance.now());
}

function handleEnded() {
  showMessage('file', 'The video has ended: its summary is under "This session", ready to ' +
    'download.', { level: 'info' });
  $('summary').scrollIntoView?.({ block: 'nearest' });
}

function handleCameraButton() {
  if (source.kind === 'camera') source.stop();
  else source.startCamera();
}

function handleFileChange() {
  const file = $('file-input').files[0];
  if (file) source.startFile(file);
}

// ---------------------------------------------------------------------------------------
// The frame loop: once per new video frame, find faces (in the worker, or by sending the
// frame), then redraw. It never waits for the API, so boxes keep the detector's rate.

function nextVideoFrame() {
  return new Promise((resolve) => {
    if ('requestVideoFrameCallback' in video) video.requestVideoFrameCallback(() => resolve());
    else requestAnimationFrame(() => resolve());
  });
}

async function frameLoop(loop) {
  while (loop === state.loop) {
    await nextVideoFrame();
    if (loop !== state.loop) return;
    const now = performance.now();
    try {
      if (video.videoWidth && state.detectorStatus !== 'loading') {
        const frame = snapshot();
        if (state.detector) await detectFrame(frame, now, loop);
        else if (requests.canSend(now)) requests.sendFrame(frame, handleServerFaces);
      }
      if (tracker.expire(performance.now(), !state.detector)) timeline.add(now, null);
      updateNoFace(now);
      render(now);
    } catch (error) {
      // A bug in one frame must not end the loop for good; the next frame tries again.
      console.error('frame loop:', error);
    }
  }
}

function snapshot() {
  const frame = frames[0] === detected ? frames[1] : frames[0];
  if (frame.width !== video.videoWidth || frame.height !== video.videoHeight) {
    frame.width = video.videoWidth;
    frame.height = video.videoHeight;
    stage.style.aspectRatio = `${video.videoWidth} / ${video.videoHeight}`;
  }
  frame.getContext('2d').drawImage(video, 0, 0);
  frame.time = source.time(performance.now());
  return frame;
}

async function detectFrame(frame, now, loop) {
  let tracks;
  try {
    tracks = await tracker.detect(state.detector, await createImageBitmap(frame), now);
  } catch (error) {
    useServerDetection(`it stopped: ${error.message || error}`);
    return;
  }
  if (loop !== state.loop) return;
  detected = frame;
  state.detectedOnce = true;
  tick(state.frameTimes, now);
  if (tracks.length) state.lastFaceAt = now;
  sendNext();
}

// After each detection and as soon as an answer is back: a face of the latest detected
// frame not yet sent goes out, the one that has waited longest first (faces share the slot).
function sendNext() {
  const now = performance.now();
  if (!state.detector || !source.running || !requests.canSend(now)) return;
  const ready = tracker.tracks.filter((t) => t.frame === tracker.frames && t.sentFrame < t.frame);
  if (!ready.length) return;
  const track = ready.reduce((a, b) => (b.sentAt < a.sentAt ? b : a));
  const { id } = track;
  const time = detected.time;
  requests.sendCrop(detected, track, now, (body, at) => {
    const answered = tracker.find(id);
    const raw = body.faces?.[0]?.predictions ?? body.predictions;
    if (answered && raw) recordAnswer(answered, raw, at, time);
  });
}

function handleServerFaces(body, at) {
  const faces = (body.faces ?? []).slice(0, MAX_FACES);
  const time = source.time(at);
  const tracks = tracker.replace(faces.map((f) => f.box), at);
  tracks.forEach((track, i) => recordAnswer(track, faces[i].predictions, at, time));
  state.serverSawNoFace = faces.length === 0;
  if (faces.length) state.lastFaceAt = at;
  else timeline.add(at, null);
  tick(state.frameTimes, at);
}

function recordAnswer(track, raw, at, time) {
  applyPredictions(track, raw, at);
  record.add(time, track.id, track.probs);
  if (track === tracker.main()) timeline.add(at, track.probs);
}

function handleAnswered(body) {
  record.model = body.model ?? record.model;
  if (details.open) $('raw-json').textContent = JSON.stringify(body, null, 2);
}

// ---------------------------------------------------------------------------------------
// Face detector: BlazeFace in a worker when it loads, else the server finds faces.

async function startDetector() {
  try {
    state.detector = await loadDetector();
    state.detectorStatus = 'ready';
    $('mode').textContent = 'in your browser (BlazeFace, tracked)';
  } catch (error) {
    useServerDetection(error.message || String(error));
  }
}

function useServerDetection(reason) {
  console.warn('In-browser face detection unavailable:', reason);
  state.detector?.close();
  state.detector = null;
  state.detectorStatus = 'failed';
  tracker.clear();
  $('mode').textContent = 'on the server (fallback)';
  showMessage('detector', `The in-browser face finder is unavailable (${reason}), so ` +
    'downscaled frames go to the API to find faces there: boxes move less smoothly.',
  { level: 'info' });
}

function updateNoFace(now) {
  const noFace = state.detector
    ? state.detectedOnce && !tracker.tracks.length && now - state.lastFaceAt > NO_FACE_AFTER_MS
    : state.serverSawNoFace && !tracker.tracks.length;
  if (source.running && noFace) {
    showMessage('face', 'No face in view. Face the camera in good light; from far away, ' +
      'move a little closer.', { level: 'info' });
  } else {
    clearMessage('face');
  }
}

// ---------------------------------------------------------------------------------------
// Drawing

function render(now) {
  const main = source.running ? tracker.main() : null;
  const frame = { width: video.videoWidth || detected.width,
    height: video.videoHeight || detected.height, mirrored: $('mirror').checked };
  renderBoxes($('overlay'), tracker.tracks, main, frame);
  renderMain(main, mainBars, source.running ? 'Waiting for a face…' : 'No video playing.');
  renderOthers(tracker.tracks, main);
  if (now - state.lastStatsAt > 250) {
    state.lastStatsAt = now;
    renderStats(now);
  }
  if (now - state.lastTimelineAt > 100) {
    state.lastTimelineAt = now;
    timeline.draw(now);
    timelineCanvas.dataset.points = String(timeline.count(now));
  }
  if (now - state.lastSummaryAt > 1000) renderSession();
}

function renderStats(now) {
  const { latencyMs, serverMs } = requests;
  $('latency').textContent = latencyMs === null ? '–' : `${Math.round(latencyMs)} ms` +
    (serverMs === null ? '' : ` (server ${Math.round(serverMs)} ms)`);
  const answers = rate(requests.answerTimes, now);
  $('answer-rate').textContent = answers === null ? '–' : `${answers.toFixed(1)} per second`;
  const fps = rate(state.frameTimes, now);
  $('detect-rate').textContent = fps === null ? '–' : `${fps.toFixed(1)} fps`;
  $('timeline-summary').textContent = timeline.summary(now);
}

function renderSession() {
  state.lastSummaryAt = performance.now();
  renderSummary($('summary'), record.summary());
  $('summary-empty').hidden = !record.empty;
  $('download-csv').disabled = record.empty;
  $('download-json').disabled = record.empty;
}

function handleDetailsToggle() {
  details.querySelector('summary').textContent = details.open ? 'Hide details' : 'Show details';
  if (details.open && requests.lastAnswer) {
    $('raw-json').textContent = JSON.stringify(requests.lastAnswer, null, 2);
  }
}

function handleMirrorChange() {
  stage.classList.toggle('mirrored', $('mirror').checked);
  render(performance.now());
}

async function showModel() {
  try {
    const { body } = await getHealth();
    $('model-info').textContent = `Model: ${body.model}. Predictions are smoothed over ` +
      `~${SMOOTHING_SECONDS} s.`;
  } catch (error) {
    // An API that is down now is reported when the first face goes out; say it early too.
    if (error instanceof ApiError && !requests.lastAnswer) reportUnreachable(error);
  }
}

cameraButton.addEventListener('click', handleCameraButton);
$('file-input').addEventListener('change', handleFileChange);
$('mirror').addEventListener('change', handleMirrorChange);
$('download-csv').addEventListener('click', () => record.download('csv'));
$('download-json').addEventListener('click', () => record.download('json'));
details.addEventListener('toggle', handleDetailsToggle);
createLegend();
handleMirrorChange();
startDetector();
showModel();
source.startCamera();
