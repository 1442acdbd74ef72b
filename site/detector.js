// The main thread's side of the face detector (detector-worker.js): frames go to the worker
// as ImageBitmaps, boxes come back. One frame at a time; the page never waits on it to
// draw or to handle an API answer.

import { showMessage } from './messages.js';

const LOAD_TIMEOUT_MS = 20000;

/** Says where faces are found: in the browser, or (with the reason) on the server. */
export function showDetectorMode(unavailableBecause) {
  const mode = document.getElementById('mode');
  if (!unavailableBecause) {
    mode.textContent = "in your browser (the server's BlazeFace passes)";
    return;
  }
  console.warn('In-browser face detection unavailable:', unavailableBecause);
  mode.textContent = 'on the server (fallback)';
  showMessage('detector', `The in-browser face finder is unavailable (${unavailableBecause}), ` +
    'so downscaled frames go to the API to find faces there: boxes move less smoothly.',
  { level: 'info' });
}

/** Says that the server finds the faces until the in-browser detector has loaded. */
export function showDetectorLoading() {
  document.getElementById('mode').textContent = 'on the server until the in-browser one loads';
}

/**
 * Resolves to { detect(frame, {follow}) -> boxes, close() }, or rejects when the detector
 * cannot run here (missing files, no module workers, old browser). `frame` is an ImageBitmap
 * the worker takes over; boxes {x, y, width, height, score, eyes} come largest first.
 * `follow`: the frame is the next of the video whose frame was detected last, so the
 * worker may search it around the faces found there (detector-worker.js); without it,
 * as for unrelated pictures, every frame is searched whole. `searched`: where the last
 * frame was searched, for the tests and benchmarks (null: whole; else the largest pass's
 * windows, [{x, y, width, height}] of its input).
 */
export function loadDetector() {
  // Where build.sh put the detector's files (a name with their hash), fetched while the
  // worker's script loads.
  const files = import('./vendor/detector-files.js');
  files.catch(() => {});
  return new Promise((resolve, reject) => {
    let worker;
    try {
      worker = new Worker(new URL('./detector-worker.js', import.meta.url));
    } catch (error) {
      reject(error);
      return;
    }
    let pending = null;
    let nextId = 1;
    const timer = setTimeout(() => {
      worker.terminate();
      reject(new Error(`loading the face detector took longer than ${LOAD_TIMEOUT_MS / 1000} s`));
    }, LOAD_TIMEOUT_MS);

    const detector = {
      searched: null,
      detect(frame, { follow = false } = {}) {
        return new Promise((done, fail) => {
          pending = { id: nextId++, done, fail };
          worker.postMessage({ type: 'detect', id: pending.id, frame, follow }, [frame]);
        });
      },
      close() {
        worker.terminate();
        pending?.fail(new Error('the face detector was closed'));
        pending = null;
      },
    };

    function handleWorkerMessage({ data }) {
      if (data.type === 'ready') {
        clearTimeout(timer);
        resolve(detector);
      } else if (data.type === 'failed') {
        clearTimeout(timer);
        worker.terminate();
        reject(new Error(data.message));
      } else if (pending?.id === data.id) {
        const { done, fail } = pending;
        pending = null;
        if (data.type === 'boxes') {
          detector.searched = data.windows;
          done(data.boxes);
        }
        else fail(new Error(data.message));
      }
    }

    function handleWorkerError(event) {
      // A worker script that fails to load or import reports here, not as a message.
      event.preventDefault?.();
      const error = new Error(event.message || 'the face detector worker failed to start');
      clearTimeout(timer);
      pending?.fail(error);
      pending = null;
      reject(error);
    }

    worker.addEventListener('message', handleWorkerMessage);
    worker.addEventListener('error', handleWorkerError);
    files.then(({ DETECTOR_FILES }) => worker.postMessage({ type: 'load', files: DETECTOR_FILES }),
      (error) => {
        clearTimeout(timer);
        worker.terminate();
        reject(new Error(`the face detector's files are missing (${error.message || error})`));
      });
  });
}
