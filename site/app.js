// The live page: a source (camera or video file) -> faces found and tracked in a worker ->
// small JPEG crops to POST /face, one request in flight at a time -> smoothed emotions
// drawn over the video, as bars and as a 30-second timeline, and kept in the session
// record. If the in-browser detector can't run, whole downscaled frames go to the API and
// the server finds the faces. This file wires the modules together and runs the loop.

import { loadFraming } from './crop.js';
import { loadDetector, showDetectorLoading, showDetectorMode } from './detector.js';
import { SMOOTHING_SECONDS } from './emotions.js';
import { clearMessage, showMessage } from './messages.js';
import {
  createBars, createLegend, renderBoxes, renderMain, renderOthers, renderStats, showDetails,
} from './render.js';
import { Requests, tick, watchHealth } from './requests.js';
import { renderSummary, SessionRecord } from './session.js';
import { Source } from './source.js';
import { Timeline } from './timeline.js';
import { applyPredictions, MAX_FACES, Tracker } from './tracking.js';

const $ = (id) => document.getElementById(id);
const video = $('video');
const stage = $('stage');
const details = $('details');
const timelineCanvas = $('timeline');

const timeline = new Timeline(timelineCanvas);
const mainBars = createBars($('bars'));
const tracker = new Tracker();
const record = new SessionRecord();
const requests = new Requests({ answered: handleAnswered, free: sendNext, failed: handleFailed });
const source = new Source(video, { started: handleStarted, stopped: handleStopped });

// How long a playing video may go without a requestVideoFrameCallback call before the page
// takes it that the browser never makes one (nextVideoFrame): several frames of a camera.
const FRAME_CALLBACK_WAIT_MS = 1000;
// Going by animation frames, how long to wait for one that shows a new video frame before
// taking the next regardless (nextAnimationFrame): a count that stands still stalls nothing.
const NEW_FRAME_WAIT_MS = 200;
// A frame that throws is logged and the next one tries again; this many in a row (about
// 2 s of frames) are said on the page, so nobody is left watching a frozen picture.
const FRAME_ERRORS_BEFORE_MESSAGE = 30;

const state = {
  loop: 0, // bumped on every start and stop, so a loop from an old source ends itself
  detector: null,
  framing: null, // the server's crop framing (crop.js), loaded with the detector
  detectorStatus: 'loading', // 'loading' | 'ready' | 'failed'
  serverWhileLoading: false, // the server has been finding faces while the detector loads
  frameErrors: 0, // frames in a row whose work threw
  frameCallbacks: 'unknown', // 'called' | 'silent': does requestVideoFrameCallback deliver?
  shownFrames: 0, // the video's frames shown when the last one was taken (nextAnimationFrame)
  frameTimes: [],
  lastStatsAt: 0,
  lastTimelineAt: 0,
  lastSummaryAt: 0,
};

// Each start of a source is a session of its own: faces numbered from #1, an empty
// timeline, and a record (what the downloads hold) of this session only.
function handleStarted() {
  state.loop++;
  requests.reset();
  tracker.reset();
  timeline.clear();
  record.clear(source.name);
  clearMessage('faces');
  renderSession();
  handleMirrorChange();
  frameLoop(state.loop);
}

function handleStopped() {
  state.loop++;
  tracker.clear();
  timeline.add(performance.now(), null);
  clearMessage('face');
  clearMessage('faces');
  renderSession();
  render(performance.now());
}

// ---------------------------------------------------------------------------------------
// The frame loop: once per new video frame, find faces (in the worker, or by sending the
// frame), then redraw. It never waits for the API, so boxes keep the detector's rate.

// Resolves on the video's next frame, or at once once the loop is over. Where a browser
// has requestVideoFrameCallback but never calls it (WebKitGTK without its DMA-BUF
// renderer does so), a video that plays on without one for FRAME_CALLBACK_WAIT_MS means
// that, and the loop goes by animation frames from then on rather than stall.
function nextVideoFrame(loop) {
  return new Promise((resolve) => {
    if (!('requestVideoFrameCallback' in video) || state.frameCallbacks === 'silent') {
      nextAnimationFrame(loop, resolve);
      return;
    }
    let watch = null;
    const handle = video.requestVideoFrameCallback(() => {
      clearInterval(watch);
      state.frameCallbacks = 'called';
      resolve();
    });
    if (state.frameCallbacks === 'called') return;
    const since = performance.now();
    const from = video.currentTime;
    watch = setInterval(() => {
      if (loop !== state.loop) {
        clearInterval(watch);
        resolve();
      } else if (!video.paused && video.currentTime !== from
          && performance.now() - since > FRAME_CALLBACK_WAIT_MS) {
        clearInterval(watch);
        video.cancelVideoFrameCallback(handle);
        state.frameCallbacks = 'silent';
        resolve();
      }
    }, 100);
  });
}

// By animation frames: the next one that shows a new video frame, where the browser counts
// them (getVideoPlaybackQuality), so a 30 fps camera is not searched 60 times a second;
// after NEW_FRAME_WAIT_MS the next one regardless, should the count stand still.
function nextAnimationFrame(loop, resolve) {
  const since = performance.now();
  const step = () => {
    const shown = video.getVideoPlaybackQuality?.().totalVideoFrames || 0;
    if (loop !== state.loop || !shown || shown !== state.shownFrames
        || performance.now() - since > NEW_FRAME_WAIT_MS) {
      state.shownFrames = shown;
      resolve();
    } else {
      requestAnimationFrame(step);
    }
  };
  requestAnimationFrame(step);
}

async function frameLoop(loop) {
  while (loop === state.loop) {
    await nextVideoFrame(loop);
    if (loop !== state.loop) return;
    const now = performance.now();
    try {
      if (video.videoWidth) {
        const frame = tracker.snapshot(video, source.time(now));
        if (state.detector) await detectFrame(frame, now, loop);
        else if (requests.canSend(now)) sendFrame(frame);
      }
      // Against the frame's own time, the one its boxes were stamped with: where detection
      // takes longer than a track lives (WebKit, a slow phone), the clock after it would
      // expire every face before its answer came back.
      if (tracker.expire(now, !state.detector)) timeline.add(now, null);
      updateNoFace(now);
      render(now);
      if (state.frameErrors >= FRAME_ERRORS_BEFORE_MESSAGE) clearMessage('page');
      state.frameErrors = 0;
    } catch (error) {
      // A bug in one frame must not end the loop for good; the next frame tries again.
      console.error('frame loop:', error);
      if (++state.frameErrors === FRAME_ERRORS_BEFORE_MESSAGE) {
        showMessage('page', `Something on this page fails on every frame ` +
          `(${error.message || error}), so the picture is not being analysed. It keeps ` +
          'trying; if this stays, reload the page.');
      }
    }
  }
}

// Until the in-browser detector is ready (on every visit: its runtime starts and its
// networks compile even from the cache), or where it cannot run, whole downscaled frames go
// to the server, which finds the faces: the first emotion never waits for the detector.
function sendFrame(frame) {
  if (state.detectorStatus === 'loading' && !state.serverWhileLoading) {
    state.serverWhileLoading = true;
    showDetectorLoading();
  }
  // The answer is the frame's: recorded at its time (a file's clock runs on meanwhile).
  const { time } = frame;
  requests.sendFrame(frame, (body, at) => handleServerFaces(body, at, time));
}

async function detectFrame(frame, now, loop) {
  try {
    await tracker.detect(state.detector, frame, now);
  } catch (error) {
    useServerDetection(`it stopped: ${error.message || error}`);
    return;
  }
  if (loop !== state.loop) return;
  tick(state.frameTimes, now);
  showFaceCount(tracker.found, tracker.tracks.length);
  sendNext();
}

/** When more faces are in view than are followed: "N faces, M shown". */
function showFaceCount(found, shown) {
  if (found > shown) {
    showMessage('faces', `${found} faces, ${shown} shown (the largest).`, { level: 'info' });
  } else {
    clearMessage('faces');
  }
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
  const { detected } = tracker;
  const time = detected.time;
  requests.sendCrop(detected, track, state.framing, now, (body, at) => {
    const answered = tracker.find(id);
    const raw = body.faces?.[0]?.predictions ?? body.predictions;
    if (answered && raw) recordAnswer(answered, raw, at, time);
  });
}

function handleServerFaces(body, at, time) {
  const faces = (body.faces ?? []).slice(0, MAX_FACES);
  if (state.detector) {
    // Sent before the detector was ready: its boxes lead now, but the emotions the server
    // found still count, for the faces they match.
    const tracks = tracker.matching(faces.map((f) => f.box));
    faces.forEach((face, i) => {
      if (tracks[i]) recordAnswer(tracks[i], face.predictions, at, time);
    });
    return;
  }
  const tracks = tracker.replace(faces.map((f) => f.box), at);
  tracks.forEach((track, i) => recordAnswer(track, faces[i].predictions, at, time));
  if (!faces.length) timeline.add(at, null);
  tick(state.frameTimes, at);
  // faces_found counts every face the server found (it answers for the 16 largest).
  showFaceCount(Math.max(Number(body.faces_found) || 0, (body.faces ?? []).length), faces.length);
}

function recordAnswer(track, raw, at, time) {
  applyPredictions(track, raw, at);
  record.add(time, track.id, track.probs);
  if (track === tracker.main()) timeline.add(at, track.probs);
}

function handleAnswered(body) {
  record.model = body.model ?? record.model;
  showDetails(details, body);
}

// No answer: the timeline breaks here, rather than carrying the last emotion across.
function handleFailed() {
  timeline.add(performance.now(), null);
}

// Face detector: BlazeFace in a worker when it loads, else the server finds faces.

async function startDetector() {
  const detector = loadDetector();
  try {
    [state.detector, state.framing] = await Promise.all([detector, loadFraming()]);
    state.detectorStatus = 'ready';
    showDetectorMode(null);
  } catch (error) {
    // Without the framing, crops would not be the server's: the server finds faces then.
    (await detector.catch(() => null))?.close();
    useServerDetection(error.message || String(error));
  }
}

function useServerDetection(reason) {
  state.detector?.close();
  state.detector = null;
  state.detectorStatus = 'failed';
  tracker.clear();
  showDetectorMode(reason);
}

function updateNoFace(now) {
  if (source.running && tracker.noFace(now, !state.detector)) {
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
  const frame = { width: video.videoWidth || tracker.detected.width,
    height: video.videoHeight || tracker.detected.height, mirrored: $('mirror').checked };
  renderBoxes($('overlay'), tracker.tracks, main, frame, now, requests);
  renderMain(main, mainBars, source.running ? 'Waiting for a face…' : 'No video playing.', now,
    requests);
  renderOthers(tracker.tracks, main, now, requests);
  if (now - state.lastStatsAt > 250) {
    state.lastStatsAt = now;
    renderStats(now, requests, state.frameTimes, timeline);
  }
  if (now - state.lastTimelineAt > 100) {
    state.lastTimelineAt = now;
    timeline.draw(now);
    timelineCanvas.dataset.points = String(timeline.count(now));
    timelineCanvas.dataset.runs = String(timeline.countRuns(now));
    timelineCanvas.dataset.drawnAt = String(now); // where "now" is on it, for the tests
  }
  if (now - state.lastSummaryAt > 1000) renderSession();
}

function renderSession() {
  state.lastSummaryAt = performance.now();
  renderSummary(record);
}

function handleMirrorChange() {
  stage.classList.toggle('mirrored', $('mirror').checked);
  render(performance.now());
}

$('mirror').addEventListener('change', handleMirrorChange);
$('download-csv').addEventListener('click', () => record.download('csv'));
$('download-json').addEventListener('click', () => record.download('json'));
details.addEventListener('toggle', () => showDetails(details, requests.lastAnswer));
createLegend();
handleMirrorChange();
startDetector();
watchHealth(SMOOTHING_SECONDS, requests);
source.startCamera();
