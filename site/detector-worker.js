// The face detector, off the main thread: MediaPipe's Tasks FaceDetector (BlazeFace, wasm
// on the CPU) in a module worker, so detection never delays the handling of an API answer
// or the drawing of the page. Two models: full range searches the whole frame (it finds
// faces down to ~30 px of a 640x480 picture, in ~20 ms here); short range looks again in
// an enlarged region around each face already tracked, scaled up (~5 ms), as MediaPipe's
// own tracking pipelines do. Everything it loads comes from this site (vendor/), and it sends
// nothing anywhere (own-origin.js).

import './own-origin.js';
import { FaceDetector, FilesetResolver } from './vendor/tasks-vision/vision_bundle_esm.js';

const VENDOR = new URL('./vendor/', import.meta.url).href;
// The short-range model reads 128 px; a region scaled to this leaves it some detail.
const REGION_SIDE = 160;
// One face found by both searches: keep the region's box (the tighter model for faces).
const SAME_FACE_IOU = 0.3;

let whole = null;
let near = null;

async function load() {
  // The wasm "module" build: it is the one a module worker can import.
  const fileset = await FilesetResolver.forVisionTasks(`${VENDOR}tasks-vision`, true);
  const options = (model, minDetectionConfidence) => ({
    baseOptions: { modelAssetPath: `${VENDOR}models/${model}`, delegate: 'CPU' },
    runningMode: 'IMAGE',
    minDetectionConfidence,
  });
  whole = await FaceDetector.createFromOptions(fileset,
    options('blaze_face_full_range.tflite', 0.5));
  // Each task takes the wasm factory that the loader script leaves in self.ModuleFactory,
  // then clears it; a module is evaluated once, so the second task needs it put back.
  self.ModuleFactory = (await import(fileset.wasmLoaderPath)).default;
  // A region is known to hold a face: a lower threshold keeps it through a turn or blur.
  near = await FaceDetector.createFromOptions(fileset,
    options('blaze_face_short_range.tflite', 0.4));
}

// Boxes and eyes in the frame's pixels. Keypoints come normalised to the image the model
// was given (the region scaled to REGION_SIDE, or the whole frame); MediaPipe's order is the
// person's right eye, left eye, nose, mouth, right ear, left ear, as on the server.
function toBoxes(result, region, frame) {
  const scale = region ? region.side / REGION_SIDE : 1;
  const dx = region ? region.x : 0;
  const dy = region ? region.y : 0;
  const w = region ? REGION_SIDE : frame.width;
  const h = region ? REGION_SIDE : frame.height;
  const point = (k) => ({ x: dx + k.x * w * scale, y: dy + k.y * h * scale });
  return result.detections.map(({ boundingBox: b, categories, keypoints }) => ({
    x: dx + b.originX * scale,
    y: dy + b.originY * scale,
    width: b.width * scale,
    height: b.height * scale,
    score: categories[0]?.score ?? 0,
    eyes: keypoints?.length >= 2 ? { right: point(keypoints[0]), left: point(keypoints[1]) }
      : null,
  }));
}

function iou(a, b) {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  const inter = Math.max(0, w) * Math.max(0, h);
  return inter / (a.width * a.height + b.width * b.height - inter || 1);
}

async function detect(frame, regions, scanWhole) {
  const found = [];
  for (const region of regions) {
    // Out-of-frame parts of a region come out transparent black, which the model ignores.
    const crop = await createImageBitmap(frame, region.x, region.y, region.side, region.side,
      { resizeWidth: REGION_SIDE, resizeHeight: REGION_SIDE, resizeQuality: 'medium' });
    const boxes = toBoxes(near.detect(crop), region, null);
    crop.close();
    // The best box of a region is its face; others belong to their own regions or scans.
    boxes.sort((a, b) => b.score - a.score);
    if (boxes.length) found.push({ ...boxes[0], region: region.id });
  }
  if (scanWhole) {
    for (const box of toBoxes(whole.detect(frame), null, frame)) {
      if (!found.some((f) => iou(f, box) > SAME_FACE_IOU)) found.push({ ...box, region: null });
    }
  }
  return found;
}

async function handleMessage({ data }) {
  if (data.type === 'load') {
    try {
      await load();
      postMessage({ type: 'ready' });
    } catch (error) {
      postMessage({ type: 'failed', message: error.message || String(error) });
    }
    return;
  }
  const { id, frame, regions, scanWhole } = data;
  try {
    const boxes = await detect(frame, regions, scanWhole);
    postMessage({ type: 'boxes', id, boxes });
  } catch (error) {
    postMessage({ type: 'error', id, message: error.message || String(error) });
  } finally {
    frame.close();
  }
}

self.addEventListener('message', handleMessage);
