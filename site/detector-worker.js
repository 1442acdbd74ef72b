'use strict';

// The face detector, off the main thread: the server's own detector (blazeface.js, a step
// for step copy of function/detect/'s whole-picture passes) in a module worker, so
// detection never delays the handling of an API answer or the drawing of the page, and the
// page finds each face and its eyes where the server would in the same frame. The network
// runs in LiteRT.js, the web build of the runtime the server uses (the same XNNPACK
// kernels): the same file gives the server's numbers. Everything it loads comes from this
// site (vendor/), and it sends nothing anywhere (own-origin.js).

// A classic worker, not a module one: LiteRT.js runs its wasm's loader script with
// importScripts, which module workers lack; its ES modules come in by import().
let litert = null;
let blazeface = null;
let withInputShape = null;
// The runtime starts as soon as own-origin.js is in, without waiting for this site's own
// modules (and blazeface.js's numbers), which download beside it: on a network with a long
// round trip, each wait in turn would cost one.
async function importModules(files) {
  const ours = Promise.all([import('./blazeface.js'), import('./tflite-shape.js')])
    .then(([decoding, shape]) => {
      blazeface = decoding;
      ({ withInputShape } = shape);
    });
  ours.catch(() => {});
  await import('./own-origin.js');  // before the libraries: nothing after it may fetch off the site
  litert = await import(`${files}litert/litert.js`);
  return { ours }; // wrapped, so the caller's await is for the libraries alone
}
// A blank camera frame, detected at load: its two passes' networks compiled, and the
// decoding's own code run once, so the first real frame does not wait for either.
const WARM_UP = [640, 480];

let modelBytes = null;
let canvas = null;
const compiled = new Map();

// `dir`: the detector's files, vendor/detector-<hash>/ (vendor/detector-files.js names it).
async function load(dir) {
  const files = new URL(`./vendor/${dir}`, self.location.href).href;
  if (!files.startsWith(new URL('./vendor/detector-', self.location.href).href)) {
    throw new Error(`no detector files at ${dir}`);
  }
  // The model's bytes download while the runtime's wasm streams in and compiles.
  const model = fetch(`${files}models/face_detection_short_range.tflite`);
  model.catch(() => {});
  const { ours } = await importModules(files);
  // The wasm beside its loader script (emscripten looks beside the worker's own script);
  // the runtime's start-up chatter (INFO lines on stderr) kept out of the console.
  self.Module = {
    locateFile: (file) => `${files}litert/${file}`,
    print: () => {},
    printErr: (line) => { if (!/^(INFO|WARNING): /.test(line)) console.warn(line); },
  };
  // LiteRT.js asks for a high-performance GPU at start-up, for models that run there; this
  // one runs on the CPU, so no GPU is woken for it (the runtime then says it has none).
  Object.defineProperty(self.navigator, 'gpu', { value: { requestAdapter: async () => null } });
  await litert.loadLiteRt(`${files}litert/`);
  await ours;
  const response = await model;
  if (!response.ok) throw new Error(`the face detector's model: HTTP ${response.status}`);
  modelBytes = new Uint8Array(await response.arrayBuffer());
  await detect(new OffscreenCanvas(...WARM_UP));
}

async function modelFor(width, height) {
  const key = `${width}x${height}`;
  let model = compiled.get(key);
  if (!model) {
    // Networks compiled per input size, the oldest dropped: as many shapes per pass as the
    // server keeps (blazeface.json's max_shapes), each picture shape one per pass.
    if (compiled.size >= blazeface.MAX_SHAPES * blazeface.PASSES.length) {
      const [oldest] = compiled.keys();
      (await compiled.get(oldest)).delete();
      compiled.delete(oldest);
    }
    model = litert.loadAndCompile(withInputShape(modelBytes, height, width),
      { accelerator: 'wasm', cpuOptions: { numThreads: 1 } });
    compiled.set(key, model);
  }
  return model;
}

// Scores (A) and regressions (A x 16) of the network for one input (1, height, width, 3).
async function runNet(input, width, height) {
  const model = await modelFor(width, height);
  const tensor = new litert.Tensor(input, [1, height, width, 3]);
  let outputs;
  try {
    outputs = await model.run(tensor);
  } finally {
    tensor.delete();
  }
  try {
    const [a, b] = outputs.map((t) => t.toTypedArray());
    // The regressions are the output with 16 numbers an anchor.
    return a.length > b.length ? { logits: b, raw: a } : { logits: a, raw: b };
  } finally {
    for (const t of outputs) t.delete();
  }
}

// Following a video: a frame whose faces were all found again is searched next in windows
// around them (blazeface.js's searchWindows); the whole frame, where new faces come in, is
// searched at least every WHOLE_EVERY frames, and on the frame after any face was missed.
// So a face entering the picture is found within WHOLE_EVERY frames (at 15 frames a
// second, 1 s); a large one (from about 90 px of 640) at once while the smaller pass runs,
// which searches whole, and runs on a windowed frame only while a face followed is large
// enough for it to find (blazeface.js's smallerPassesSee): for smaller faces it adds
// nothing. Every 10 frames cost about 0.4 ms a frame more (benchmarks.page).
const WHOLE_EVERY = 15;
// The frame before: its size, its faces (in the searched copy's pixels), its windows (null:
// searched whole), the window sizes last used, windowed frames since the last whole one,
// and whether its windows missed a face the frame before it had.
let last = null;

function searchedIn(width, height, follow) {
  const before = follow && last?.width === width && last.height === height ? last : null;
  const due = !before || before.missed || before.windowed >= WHOLE_EVERY - 1;
  const windows = due ? null : blazeface.searchWindows(before.faces, width, height, before.sizes);
  const smaller = !windows || blazeface.smallerPassesSee(before.faces, width, height);
  return { before, windows, smaller };
}

// The frame's pixels (blazeface.js's pixelsOf), `width` x `height`. Copied straight out of it
// as a VideoFrame where the browser can: in Chromium 0.1 ms for 640x480, in its own BGRA
// order, against 1-1.5 ms to draw it on a canvas and read that back, for the same values (the
// frames are opaque). Through the canvas where it cannot, or where the frame is shrunk. The
// copy's buffer is reused: the worker detects one frame at a time (detector.js).
let copied = null;
// The resizes' buffers, reused from frame to frame (blazeface.js's buffer).
const scratch = new Map();

async function pixelsOfFrame(frame, width, height) {
  if (width === frame.width && height === frame.height && typeof VideoFrame === 'function') {
    let video = null;
    try {
      video = new VideoFrame(frame, { timestamp: 0 });
      const bgr = ['BGRA', 'BGRX'].includes(video.format);
      if (bgr || ['RGBA', 'RGBX'].includes(video.format)) {
        if (copied?.length !== width * height * 4) copied = new Uint8Array(width * height * 4);
        await video.copyTo(copied, { layout: [{ offset: 0, stride: width * 4 }] });
        return blazeface.pixelsOf(copied, width, height, bgr);
      }
    } catch {
      // A browser that cannot copy this frame (or not in a 4-byte layout): the canvas does.
    } finally {
      video?.close();
    }
  }
  // One canvas for every frame (resized only when the frame's size changes).
  canvas ??= new OffscreenCanvas(width, height);
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(frame, 0, 0, width, height);
  return blazeface.pixelsOf(ctx.getImageData(0, 0, width, height).data, width, height);
}

// Boxes and eyes in the frame's pixels, largest face first. A frame over the whole-picture
// passes' size is searched in a copy shrunk to it (the server tiles such a picture instead).
// `follow`: the frame comes after the last one detected, from the same video.
async function detect(frame, follow = false) {
  const k = Math.min(1, blazeface.LARGEST_PICTURE / Math.max(frame.width, frame.height));
  const width = Math.max(1, Math.round(frame.width * k));
  const height = Math.max(1, Math.round(frame.height * k));
  const image = await pixelsOfFrame(frame, width, height);
  const { before, windows, smaller } = searchedIn(width, height, follow);
  const faces = await blazeface.detectFaces(image, runNet, { windows, smaller, scratch });
  last = {
    width, height, faces, windows, sizes: windows ?? before?.sizes ?? [],
    windowed: windows ? before.windowed + 1 : 0,
    missed: Boolean(windows) && faces.length < before.faces.length,
  };
  if (k === 1) return faces;
  const up = (p) => ({ x: p.x / k, y: p.y / k });
  return faces.map((f) => ({
    x: f.x / k, y: f.y / k, width: f.width / k, height: f.height / k, score: f.score,
    eyes: { right: up(f.eyes.right), left: up(f.eyes.left) },
  }));
}

async function handleMessage({ data }) {
  if (data.type === 'load') {
    try {
      await load(data.files);
      postMessage({ type: 'ready' });
    } catch (error) {
      postMessage({ type: 'failed', message: error.message || String(error) });
    }
    return;
  }
  const { id, frame, follow } = data;
  try {
    const boxes = await detect(frame, follow);
    postMessage({ type: 'boxes', id, boxes, windows: last.windows });
  } catch (error) {
    postMessage({ type: 'error', id, message: error.message || String(error) });
  } finally {
    frame.close();
  }
}

self.addEventListener('message', handleMessage);
