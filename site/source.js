// Where frames come from: the camera, or a video file played in place of it. A file is
// played from memory through an object URL: it never leaves the browser, only face crops
// go to the API, as with the camera.

import { clearMessage, showMessage } from './messages.js';

const CONSTRAINTS = {
  audio: false,
  video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: 'user' },
};

export function describeCameraError(error) {
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

const $ = (id) => document.getElementById(id);
// A playing file's end, beside its 'ended' event (watchForEnd): looked at this often, and
// a clock stopped this long within this much of the end is the end.
const END_CHECK_MS = 250;
const STUCK_AT_END_MS = 1000;
const END_SLACK_S = 0.05;

/** Why a chosen file would not play, and what would. An MP4 or MOV is a container: the
 * browser can play the format and still not its video, most often H.265 (HEVC) from a
 * phone, so "try an MP4" would send the person round in circles. */
export function describeUnplayable(name, type, error) {
  const what = `This browser cannot play ${name || 'that file'}`;
  const isMp4 = /\.(mp4|m4v|mov)$/i.test(name) || /mp4|quicktime/.test(type);
  if (isMp4) {
    return `${what}: it cannot decode the video inside (often H.265/HEVC, as phones record). ` +
      'Convert it to H.264 (for example ffmpeg -i input.mov -c:v libx264 output.mp4) or ' +
      'VP9 WebM, or open this page in a browser that plays it.';
  }
  return `${what} (${error.message || error.name}). Browsers play H.264 MP4 and VP8/VP9 ` +
    'WebM videos.';
}

/**
 * One source at a time on `video`, with its controls (the camera button, the file input)
 * and the stage's state. `hooks`: started() once frames flow, stopped() when they end.
 */
export class Source {
  constructor(video, hooks) {
    this.video = video;
    this.hooks = hooks;
    this.name = '';
    this.kind = null; // 'camera' | 'file' while running
    this.starting = false; // waiting for getUserMedia (a permission prompt may be open)
    this.stream = null;
    this.fileUrl = null;
    this.startedAt = 0;
    this.plays = 0; // numbers each play(), so one overtaken by a newer source gives way
    video.addEventListener('ended', () => this.ended());
    $('camera-button').addEventListener('click', () => this.handleCameraButton());
    $('file-input').addEventListener('change', () => this.handleFileChange());
  }

  handleCameraButton() {
    if (this.kind === 'camera') this.stop();
    else this.startCamera();
  }

  handleFileChange() {
    const input = $('file-input');
    const file = input.files[0];
    // Cleared, so choosing the same file again (to replay it) is a change too.
    input.value = '';
    if (file) this.startFile(file);
  }

  stage(kind, hint) {
    const stage = $('stage');
    stage.dataset.state = kind;
    $('stage-hint').textContent = hint;
    $('stage-hint').hidden = !hint;
    $('camera-button').disabled = kind === 'starting';
    if (kind === 'running') {
      stage.style.aspectRatio = `${this.video.videoWidth} / ${this.video.videoHeight}`;
    }
  }

  get running() {
    return this.kind !== null;
  }

  /** Seconds into the session of the frame on screen: the file's own clock for a file. */
  time(now) {
    return this.kind === 'file' ? this.video.currentTime : (now - this.startedAt) / 1000;
  }

  async startCamera() {
    if (this.starting) return;
    this.stop();
    clearMessage('camera');
    clearMessage('file');
    if (!window.isSecureContext) {
      const https = new URL(window.location.href);
      https.protocol = 'https:';
      showMessage('camera', 'This page is not served over HTTPS, so the browser will not ' +
        'let it use the camera.', { link: { href: https.href, label: 'Open the HTTPS page' } });
      this.stage('error', 'The camera needs HTTPS.');
      return;
    }
    if (!navigator.mediaDevices?.getUserMedia) {
      showMessage('camera', 'This browser cannot give web pages a camera. Try a current ' +
        'Chrome, Edge, Firefox or Safari.');
      this.stage('error', 'No camera support in this browser.');
      return;
    }
    this.stage('starting', 'Starting the camera…');
    this.starting = true;
    const turn = this.plays;
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia(CONSTRAINTS);
    } catch (error) {
      this.cameraFailed(error);
      return;
    } finally {
      this.starting = false;
    }
    if (this.kind || turn !== this.plays) {
      // A file was chosen while the permission prompt was open: it stays, or, if it could
      // not be played, its message does, with the camera left for the user to start.
      stream.getTracks().forEach((track) => track.stop());
      return;
    }
    this.stream = stream;
    stream.getVideoTracks()[0]?.addEventListener('ended', () => this.trackEnded());
    this.video.loop = false;
    this.video.srcObject = stream;
    await this.play('camera');
  }

  async startFile(file) {
    this.stop();
    clearMessage('camera');
    clearMessage('file');
    this.fileUrl = URL.createObjectURL(file);
    this.video.srcObject = null;
    this.video.loop = false;
    this.video.src = this.fileUrl;
    this.stage('starting', `Opening ${file.name}…`);
    await this.play('file', file.name, file.type);
  }

  async play(kind, name = '', type = '') {
    const turn = ++this.plays;
    try {
      await this.video.play();
    } catch (error) {
      // A file chosen while the camera was still starting pauses the camera's play(): that
      // AbortError is not a failure, and stopping here would close the newer source.
      if (turn !== this.plays) return;
      // Autoplay of a muted inline video is allowed everywhere; this is a real failure.
      this.stop();
      if (kind === 'camera') {
        this.cameraFailed(error);
      } else {
        showMessage('file', describeUnplayable(name, type, error));
        $('camera-button').textContent = 'Start camera';
        this.stage('error', 'The video could not be played.');
      }
      return;
    }
    if (turn !== this.plays) return;
    this.kind = kind;
    this.name = kind === 'camera' ? 'camera' : name;
    this.startedAt = performance.now();
    $('camera-button').textContent = kind === 'camera' ? 'Stop camera' : 'Use the camera';
    this.video.setAttribute('aria-label', kind === 'camera' ? 'Your camera' : 'The video file');
    // A recording is shown as it was filmed; a camera as a mirror, unless told otherwise.
    $('mirror').checked = kind === 'camera';
    this.stage('running', '');
    this.hooks.started();
    if (kind === 'file') this.watchForEnd(turn);
  }

  // The end of a file is not left to its 'ended' event alone: WebKitGTK now and then stops
  // a hair short of the end (a billionth of a second), still playing, and never ends.
  // A file whose clock has stood still that close to its end is over, too.
  watchForEnd(turn) {
    const video = this.video;
    let last = -1;
    let movedAt = performance.now();
    const watch = setInterval(() => {
      if (turn !== this.plays || this.kind !== 'file') {
        clearInterval(watch);
        return;
      }
      const now = performance.now();
      if (video.currentTime !== last) {
        last = video.currentTime;
        movedAt = now;
      }
      const stuck = video.duration - video.currentTime < END_SLACK_S
        && now - movedAt > STUCK_AT_END_MS;
      if (video.ended || stuck) this.ended();
    }, END_CHECK_MS);
  }

  stop() {
    const kind = this.kind;
    this.kind = null;
    this.stream?.getTracks().forEach((track) => track.stop());
    this.stream = null;
    this.video.pause();
    this.video.srcObject = null;
    if (this.fileUrl) {
      this.video.removeAttribute('src');
      this.video.load();
      URL.revokeObjectURL(this.fileUrl);
      this.fileUrl = null;
    }
    if (!kind) return;
    $('camera-button').textContent = kind === 'file' ? 'Use the camera' : 'Start camera';
    this.stage('stopped', kind === 'file' ? 'Video closed.' : 'Camera stopped.');
    this.hooks.stopped();
  }

  ended() {
    if (this.kind !== 'file') return;
    this.kind = null;
    this.video.pause();
    $('camera-button').textContent = 'Use the camera';
    this.stage('stopped', 'The video has ended.');
    this.hooks.stopped();
    showMessage('file', 'The video has ended: its summary is under "This session", ready ' +
      'to download.', { level: 'info' });
    $('summary').scrollIntoView?.({ block: 'nearest' });
  }

  cameraFailed(error) {
    console.error('getUserMedia error:', error);
    showMessage('camera', describeCameraError(error),
      { action: { label: 'Try again', handler: () => this.startCamera() } });
    this.stage('error', 'Camera unavailable: see the message above.');
    $('camera-button').textContent = 'Start camera';
  }

  trackEnded() {
    this.stop();
    showMessage('camera', 'The camera stopped: it was unplugged, switched off, or taken by ' +
      'another app. Press Try again to restart it.',
    { action: { label: 'Try again', handler: () => this.startCamera() } });
  }
}
