// Requests to the API: at most one in flight. The next leaves as soon as the last answer
// is back (a face of the latest detected frame; in the fallback, the next video frame), so
// the rate follows the network and nothing queues up. Crops go as JPEG bytes, encoded off
// the main thread (canvas.toBlob), with failures turned into messages and retries.

import { ApiError, apiLocation, getHealth, postFace, REQUEST_TIMEOUT_MS } from './api.js';
import { cropFace } from './crop.js';
import { clearMessage, showMessage } from './messages.js';

// The model reads faces at 96 px; 160 px leaves headroom and is still only ~8 KB.
const CROP_SIDE = 160;
const CROP_QUALITY = 0.85;
// Fallback frames: the server detects at 320 px at most, so more than 640 px wide is wasted
// upload.
const FRAME_WIDTH = 640;
const FRAME_QUALITY = 0.8;
const SLOW_AFTER_MS = 3000;
// A face's reading older than this, or any while the API is failing, is shown as stale: the
// page keeps following the face, but must not pass an old answer off as the current one.
export const STALE_AFTER_MS = 1500;
const MAX_BACKOFF_MS = 10000;

const sendCanvas = document.createElement('canvas');
const sendCtx = sendCanvas.getContext('2d');

// Bytes rather than the Blob itself: a fetch body from memory is the same on the wire,
// and DevTools (so the tests) can read it back.
function toJpeg(quality) {
  return new Promise((resolve, reject) => {
    sendCanvas.toBlob((blob) => (blob ? resolve(blob.arrayBuffer())
      : reject(new Error('JPEG encoding failed'))), 'image/jpeg', quality);
  });
}

/** The JPEG the page sends for a face ({box, eyes}) of `frame`: what the API gets from the
 * live page (the crop benchmark and tests call it too). */
export function cropJpeg(frame, face, framing) {
  cropFace(frame, { box: face.box, eyes: face.eyes }, framing, sendCanvas, CROP_SIDE);
  return toJpeg(CROP_QUALITY);
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

// GET /health, once the page opens: the model's name under the page, and the first word of
// an API that is missing or failing. A failed check is tried again, backing off; an API that
// cannot be reached is said at once (before any face goes out), any other failure once it
// has repeated this many times in a row, and the message goes when the check works again.
const HEALTH_FAILURES_BEFORE_MESSAGE = 3;

function healthFailure(error) {
  switch (error.kind) {
    case 'server':
    case 'client':
      return `HTTP ${error.status}${error.code ? `, ${error.code}` : ''}: ${error.message}`;
    case 'timeout':
      return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
    case 'unreachable':
      return `could not connect: ${error.message}`;
    default:
      return `an answer this page cannot read: ${error.message}`;
  }
}

/** The message for a status check that keeps failing; `answering`: faces still get answers. */
function describeHealthError(error, answering) {
  const again = 'Checking again every few seconds…';
  if (answering) {
    return `The emotion API answers, but its status check fails (${healthFailure(error)}), ` +
      `so the model's name is not shown. ${again}`;
  }
  const wrongUrl = error.kind === 'bad-answer' || error.status === 404 ?
    ' Is the API URL in config.js right?' : '';
  return `The emotion API at ${apiLocation()} is not working: its status check keeps ` +
    `failing (${healthFailure(error)}).${wrongUrl} ${again}`;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Checks GET /health until it answers, then shows the model's name (see above);
 * `requests` (a Requests) tells whether faces get answers meanwhile. */
export async function watchHealth(smoothingSeconds, requests) {
  let failures = 0;
  let saidUnreachable = false;
  for (;;) {
    try {
      const { body } = await getHealth();
      if (typeof body.model !== 'string') {
        throw new ApiError('bad-answer', 'it names no model', { status: 200 });
      }
      document.getElementById('model-info').textContent = `Model: ${body.model}. ` +
        `Predictions are smoothed over ~${smoothingSeconds} s.`;
      clearMessage('health');
      // Only this check's word: a failing POST /face keeps its own message.
      if (saidUnreachable && requests.failures === 0 && !requests.paused) clearMessage('api');
      return;
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      console.error('API status check:', error);
      failures++;
      const answering = requests.lastAnswer !== null && requests.failures === 0;
      if (error.kind === 'unreachable' && !answering) {
        showMessage('api', describeApiError(error));
        saidUnreachable = true;
      } else if (failures >= HEALTH_FAILURES_BEFORE_MESSAGE) {
        showMessage('health', describeHealthError(error, answering),
          { level: answering ? 'warning' : 'error' });
      }
      await sleep(Math.min(MAX_BACKOFF_MS, 500 * 2 ** (failures - 1)));
    }
  }
}

export class Requests {
  /** hooks.answered(body) after every answer, hooks.failed() after every failure;
   * hooks.free() when the next may leave. */
  constructor(hooks) {
    this.hooks = hooks;
    this.session = 0; // answers of an older session are dropped
    this.inFlight = false;
    this.paused = false; // after a 4xx, until the person presses Try again
    this.retryAt = 0;
    this.failures = 0;
    this.latencyMs = null;
    this.serverMs = null;
    this.answerTimes = [];
    this.lastAnswer = null;
    this.lastAnswerAt = null;
  }

  /** Whether a reading answered at `answeredAt` is out of date at `now`. */
  stale(answeredAt, now) {
    return this.failures > 0 || now - answeredAt > STALE_AFTER_MS;
  }

  canSend(now) {
    return !this.inFlight && !this.paused && now >= this.retryAt;
  }

  /** The track's face from `frame` (a canvas holding the frame its box came from), framed
   * as the server frames faces (crop.js, with the server's `framing`). */
  sendCrop(frame, track, framing, now, onAnswer) {
    track.sentAt = now;
    track.sentFrame = track.frame;
    this.send(cropJpeg(frame, track, framing), false, onAnswer);
  }

  /** The whole frame, for the server to find faces in; boxes come back in frame pixels. */
  sendFrame(frame, onAnswer) {
    const scale = Math.min(1, FRAME_WIDTH / frame.width);
    sendCanvas.width = Math.round(frame.width * scale);
    sendCanvas.height = Math.round(frame.height * scale);
    sendCtx.drawImage(frame, 0, 0, sendCanvas.width, sendCanvas.height);
    this.send(toJpeg(FRAME_QUALITY), true, (body, at) => {
      for (const face of body.faces ?? []) {
        const b = face.box;
        face.box = { x: b.x / scale, y: b.y / scale, width: b.width / scale, height: b.height / scale };
      }
      onAnswer(body, at);
    });
  }

  async send(jpegPromise, detect, onAnswer) {
    const session = this.session;
    this.inFlight = true;
    const slowTimer = setTimeout(() => {
      showMessage('api-slow', `Waiting for the API for over ${SLOW_AFTER_MS / 1000} s: it ` +
        'is slow or far away, so results lag behind.', { level: 'warning' });
    }, SLOW_AFTER_MS);
    try {
      const answer = await postFace(await jpegPromise, detect);
      if (session !== this.session) return;
      const now = performance.now();
      this.answered(answer, now);
      onAnswer(answer.body, now);
    } catch (error) {
      if (session !== this.session) return;
      if (!(error instanceof ApiError)) throw error;
      this.failed(error);
    } finally {
      clearTimeout(slowTimer);
      this.inFlight = false;
    }
    if (session === this.session) this.hooks.free();
  }

  answered({ body, latencyMs, serverMs }, now) {
    this.failures = 0;
    clearMessage('api');
    if (latencyMs > SLOW_AFTER_MS) {
      showMessage('api-slow', 'The API is slow: the last answer took ' +
        `${(latencyMs / 1000).toFixed(1)} s, so results lag behind.`, { level: 'warning' });
    } else {
      clearMessage('api-slow');
    }
    this.latencyMs = this.latencyMs === null ? latencyMs : 0.8 * this.latencyMs + 0.2 * latencyMs;
    this.serverMs = serverMs;
    tick(this.answerTimes, now);
    this.lastAnswer = body;
    this.lastAnswerAt = now;
    this.hooks.answered(body);
  }

  failed(error) {
    console.error('API error:', error);
    clearMessage('api-slow');
    this.failures++;
    this.hooks.failed?.();
    if (!error.retriable) {
      // Sending the same kind of request again would only fail the same way.
      this.paused = true;
      showMessage('api', `${describeApiError(error)} Reload the page if it keeps happening.`,
        { action: { label: 'Try again', handler: () => this.resume() } });
      return;
    }
    const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** (this.failures - 1));
    this.retryAt = performance.now() + delay;
    showMessage('api', `${describeApiError(error)} Trying again every few seconds…`);
  }

  resume() {
    this.paused = false;
    this.retryAt = 0;
    clearMessage('api');
  }

  /** A new source: answers still on their way belong to the old one (and still hold the
   * one slot until they land, so two requests are never out at once). */
  reset() {
    this.session++;
    this.latencyMs = null;
    this.serverMs = null;
    this.answerTimes = [];
    this.lastAnswerAt = null;
  }
}

/** Events per second over the last 2 s, or null with too few. */
export function rate(times, now) {
  while (times.length && now - times[0] > 2000) times.shift();
  if (times.length < 2) return null;
  return ((times.length - 1) * 1000) / (times.at(-1) - times[0]);
}

export function tick(times, now) {
  times.push(now);
  if (times.length > 120) times.shift();
}
