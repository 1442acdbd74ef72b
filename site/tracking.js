// Tracks: each face followed from frame to frame, carrying its smoothed probabilities. Once
// a face is found it is looked for next in an enlarged region around its last box, scaled
// up for the detector, so a small face far from the camera holds; the whole frame is
// searched when a face is lost, when none is tracked, and once a second for newcomers.

import { iou, matchBoxes, smooth } from './emotions.js';

// Region side as a multiple of the face box: room for the face to move between frames
// (a head turning fast moves about a face width in 1/15 s) while staying large enough in
// the scaled-up region for the short-range model.
const REGION_SCALE = 2.5;
const SCAN_EVERY_MS = 1000;
const TRACK_TTL_MS = 500; // a face the detector misses for this long has left
const SERVER_TRACK_TTL_MS = 3000; // boxes from the server live until its next answer
const NO_FACE_AFTER_MS = 1500;
const SAME_FACE_IOU = 0.5;
export const MAX_FACES = 6;

export class Tracker {
  constructor() {
    this.reset();
    this.frames = 0; // frames detected, so a crop knows which frame its box came from
    // Two frame buffers: the newest frame is detected in one while crops for the API are
    // cut from the other, which still holds the frame the current boxes came from.
    this.buffers = [0, 1].map(() => document.createElement('canvas'));
    this.detected = this.buffers[0];
  }

  /** The video's current frame, copied into the buffer not holding the detected frame;
   * `time` (seconds into the session) goes with it into the record. */
  snapshot(video, time) {
    const frame = this.buffers[0] === this.detected ? this.buffers[1] : this.buffers[0];
    if (frame.width !== video.videoWidth || frame.height !== video.videoHeight) {
      frame.width = video.videoWidth;
      frame.height = video.videoHeight;
    }
    // Crops are read back from it (crop.js): a context kept in memory reads back cheaply.
    frame.getContext('2d', { willReadFrequently: true }).drawImage(video, 0, 0);
    frame.time = time;
    return frame;
  }

  /** A new session: no faces, and the next one found is Face #1 again. */
  reset() {
    this.nextId = 1;
    this.clear();
  }

  clear() {
    this.found = 0; // faces the last detection found, before MAX_FACES cut it
    this.lastFaceAt = performance.now();
    this.detectedOnce = false;
    this.serverSawNoFace = false;
    this.tracks = [];
    this.mainId = null;
    this.lost = false;
    this.lastScanAt = -Infinity;
  }

  /** Runs the detector on a snapshot; returns the tracks seen in it. */
  async detect(detector, frame, now) {
    const regions = this.tracks.map((t) => regionAround(t));
    const scanWhole = !this.tracks.length || this.lost || now - this.lastScanAt > SCAN_EVERY_MS;
    if (scanWhole) this.lastScanAt = now;
    const boxes = await detector.detect(await createImageBitmap(frame), regions, scanWhole);
    this.detected = frame;
    this.frames++;
    const seen = [];
    // A region's box is its track's face; boxes from the whole frame are matched by overlap.
    let merged = 0;
    for (const box of boxes.filter((b) => b.region !== null)) {
      const track = this.find(box.region);
      if (!track) continue;
      if (seen.some((t) => iou(t.box, box) > SAME_FACE_IOU)) {
        // Two regions found one face (two tracks had converged): the older track keeps it.
        this.tracks = this.tracks.filter((t) => t !== track);
        merged++;
      } else {
        seen.push(this.place(track, box, now));
      }
    }
    this.lost = seen.length + merged < regions.length;
    const rest = this.tracks.filter((t) => !seen.includes(t));
    const whole = boxes.filter((b) => b.region === null);
    const fresh = whole.slice(0, MAX_FACES - seen.length);
    const match = matchBoxes(rest, fresh);
    fresh.forEach((box, i) => seen.push(this.place(match[i] >= 0 ? rest[match[i]] : null, box, now)));
    this.detectedOnce = true;
    this.found = seen.length + whole.length - fresh.length;
    if (seen.length) this.lastFaceAt = now;
    return seen;
  }

  /** Boxes the server found in a whole frame: a face it did not find has gone. */
  replace(boxes, now) {
    this.frames++;
    const match = matchBoxes(this.tracks, boxes);
    const tracks = boxes.map((box, i) => this.place(match[i] >= 0 ? this.tracks[match[i]] : null,
      box, now));
    this.tracks = tracks;
    this.serverSawNoFace = !tracks.length;
    return tracks;
  }

  place(track, box, now) {
    if (!track) {
      track = { id: this.nextId++, probs: null, answeredAt: 0, sentAt: 0, sentFrame: -1 };
      this.tracks.push(track);
    }
    track.box = { x: box.x, y: box.y, width: box.width, height: box.height };
    track.eyes = box.eyes ?? null;
    track.seenAt = now;
    track.frame = this.frames;
    return track;
  }

  /** Drops faces not seen for a while; true when the last one just went. */
  expire(now, serverMode) {
    const ttl = serverMode ? SERVER_TRACK_TTL_MS : TRACK_TTL_MS;
    const before = this.tracks.length;
    this.tracks = this.tracks.filter((t) => now - t.seenAt <= ttl);
    return before > 0 && this.tracks.length === 0;
  }

  /** True when the page should say no face is in view (not merely between detections). */
  noFace(now, serverMode) {
    if (this.tracks.length) return false;
    return serverMode ? this.serverSawNoFace
      : this.detectedOnce && now - this.lastFaceAt > NO_FACE_AFTER_MS;
  }

  /** The largest face leads; the current one keeps the lead unless another is clearly
   * bigger, so two similar faces don't swap the display back and forth. */
  main() {
    const area = (t) => t.box.width * t.box.height;
    let best = null;
    for (const track of this.tracks) {
      if (!best || area(track) > area(best)) best = track;
    }
    const current = this.tracks.find((t) => t.id === this.mainId);
    if (current && best && area(best) < 1.3 * area(current)) best = current;
    this.mainId = best?.id ?? null;
    return best;
  }

  find(id) {
    return this.tracks.find((t) => t.id === id) ?? null;
  }
}

export function applyPredictions(track, raw, now) {
  const dt = track.answeredAt ? (now - track.answeredAt) / 1000 : 0;
  track.probs = smooth(track.probs, raw, dt);
  track.answeredAt = now;
}

function regionAround(track) {
  const { x, y, width, height } = track.box;
  const side = Math.round(REGION_SCALE * Math.max(width, height));
  return {
    id: track.id,
    x: Math.round(x + width / 2 - side / 2),
    y: Math.round(y + height / 2 - side / 2),
    side,
  };
}
