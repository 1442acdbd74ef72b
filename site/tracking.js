// Tracks: each face followed from frame to frame, carrying its smoothed probabilities. Every
// frame is searched by the server's own detector (blazeface.js), most of them around the
// faces of the frame before (detector-worker.js); a face is the same track as the box of
// the last frame it overlaps most.

import { matchBoxes, smooth } from './emotions.js';

const TRACK_TTL_MS = 500; // a face the detector misses for this long has left
const SERVER_TRACK_TTL_MS = 3000; // boxes from the server live until its next answer
const NO_FACE_AFTER_MS = 1500;
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
    this.generation = (this.generation ?? 0) + 1;
    this.found = 0; // faces the last detection found, before MAX_FACES cut it
    this.lastFaceAt = performance.now();
    this.detectedOnce = false;
    this.serverSawNoFace = false;
    this.tracks = [];
    this.mainId = null;
  }

  /** Runs the detector on a snapshot; returns the tracks seen in it. */
  async detect(detector, frame, now) {
    const generation = this.generation;
    // A new session's first frame, or the first after the camera stopped, is searched whole.
    const boxes = await detector.detect(await createImageBitmap(frame),
      { follow: this.detectedOnce });
    // Cleared while the worker looked (the camera stopped, a new session): not this one's.
    if (generation !== this.generation) return [];
    this.detected = frame;
    this.frames++;
    const shown = boxes.slice(0, MAX_FACES);
    const matched = this.matching(shown);
    const seen = shown.map((box, i) => this.place(matched[i], box, now));
    this.detectedOnce = true;
    this.found = boxes.length;
    if (seen.length) this.lastFaceAt = now;
    return seen;
  }

  /** Boxes the server found in a whole frame: a face it did not find has gone. */
  replace(boxes, now) {
    this.frames++;
    const matched = this.matching(boxes);
    const tracks = boxes.map((box, i) => this.place(matched[i], box, now));
    // The server's answer already holds these faces' emotions: nothing of this frame is
    // left to send (its pixels are not kept for a crop either).
    for (const track of tracks) track.sentFrame = track.frame;
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

  /** The track each of `boxes` is (the one whose box it overlaps most), or null where none
   * matches: the tracks are left as they are. */
  matching(boxes) {
    return matchBoxes(this.tracks, boxes).map((i) => (i >= 0 ? this.tracks[i] : null));
  }
}

export function applyPredictions(track, raw, now) {
  const dt = track.answeredAt ? (now - track.answeredAt) / 1000 : 0;
  track.probs = smooth(track.probs, raw, dt);
  track.answeredAt = now;
}
