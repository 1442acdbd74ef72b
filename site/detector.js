// In-browser face detection with MediaPipe's BlazeFace (short range), vendored from npm into
// vendor/ by build.sh: boxes follow the face at video rate, and only small face crops
// travel to the API. Everything it loads comes from this site.

const BASE = 'vendor/face_detection/';
const LOAD_TIMEOUT_MS = 20000;

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = src;
    script.async = true;
    script.onload = resolve;
    script.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.append(script);
  });
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Resolves to { detect(image) -> [{x, y, width, height}] in image pixels, close() }, or
 * rejects when the detector cannot run here (missing files, no WebGL, old browser).
 */
export async function loadDetector() {
  await loadScript(BASE + 'face_detection.js');
  if (typeof window.FaceDetection !== 'function') {
    throw new Error('face_detection.js did not define FaceDetection');
  }
  const solution = new window.FaceDetection({ locateFile: (file) => BASE + file });
  // minDetectionConfidence stays at its default (0.5): setting it in this release rewrites
  // the graph's detection options without num_classes, and the wasm aborts on first use.
  solution.setOptions({ model: 'short', selfieMode: false });
  let detections = [];
  solution.onResults((results) => {
    detections = results.detections || [];
  });
  await withTimeout(solution.initialize(), LOAD_TIMEOUT_MS, 'loading the face detector');

  return {
    async detect(image) {
      detections = [];
      await solution.send({ image });
      const width = image.width;
      const height = image.height;
      return detections.map(({ boundingBox: b }) => ({
        x: (b.xCenter - b.width / 2) * width,
        y: (b.yCenter - b.height / 2) * height,
        width: b.width * width,
        height: b.height * height,
      }));
    },
    close() {
      solution.close().catch(() => {});
    },
  };
}
