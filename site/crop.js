// Face crops for the API, framed as the server frames the faces it finds itself
// (function/service.py, _crop): the face turned so its eyes are level, the square's side the
// mean of two estimates (from the box width and from the eye distance), its centre below the
// eyes along the face's own "down". The figures are the server's own file,
// function/framing.json, which site/build.sh copies into vendor/: one definition for both.
// The turned square is sampled here as OpenCV's warpAffine samples it on the server
// (bilinear, the picture's edge pixels repeated outward), so the model sees the same face
// from the page as from a photo sent whole.

const FRAMING_URL = new URL('./vendor/framing.json', import.meta.url);
// Sides above this are sampled at it, then shrunk by the canvas: bilinear sampling is only
// faithful down to about half size.
const MAX_SAMPLED_SIDE = 320;

let framingPromise = null;

/** The server's framing constants ({side_per_box_width, side_per_eye_distance,
 * centre_below_eyes, crop_margin}), fetched once. */
export function loadFraming() {
  framingPromise ??= fetch(FRAMING_URL).then((response) => {
    if (!response.ok) throw new Error(`${FRAMING_URL.pathname}: HTTP ${response.status}`);
    return response.json();
  });
  return framingPromise;
}

/**
 * Where the crop lies in the frame: its centre, side and turn (radians), from the box and
 * the eyes ({right: {x, y}, left: {x, y}}: the person's own, so the right eye is on the
 * picture's left). The same arithmetic as the server's _crop.
 */
export function framingOf(box, eyes, framing) {
  const { right, left } = eyes;
  const eyeDistance = Math.hypot(left.x - right.x, left.y - right.y);
  const side = (framing.side_per_box_width * box.width
    + framing.side_per_eye_distance * eyeDistance) / 2;
  const angle = Math.atan2(left.y - right.y, left.x - right.x);
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const below = framing.centre_below_eyes * side;
  return {
    cx: (right.x + left.x) / 2 - sin * below,
    cy: (right.y + left.y) / 2 + cos * below,
    side,
    angle,
  };
}

/** The box grown by `margin` of its size each side, clipped: the server's Box.expanded. */
function expanded(box, margin, width, height) {
  const dx = box.width * margin;
  const dy = box.height * margin;
  const x0 = Math.max(0, Math.round(box.x - dx));
  const y0 = Math.max(0, Math.round(box.y - dy));
  const x1 = Math.min(width, Math.round(box.x + box.width + dx));
  const y1 = Math.min(height, Math.round(box.y + box.height + dy));
  return { x: x0, y: y0, width: Math.max(1, x1 - x0), height: Math.max(1, y1 - y0) };
}

/**
 * The face's crop from `frame` (a canvas whose 2D context reads back cheaply), into
 * `target` (a canvas), at most `maxSide` pixels a side. `face`: {box, eyes}; eyes may be
 * null, then the box grown by the margin is cut unturned, as the server does.
 */
export function cropFace(frame, face, framing, target, maxSide) {
  const ctx = frame.getContext('2d', { willReadFrequently: true });
  const out = target.getContext('2d');
  if (!face.eyes) {
    const b = expanded(face.box, framing.crop_margin, frame.width, frame.height);
    const scale = Math.min(1, maxSide / Math.max(b.width, b.height));
    target.width = Math.max(1, Math.round(b.width * scale));
    target.height = Math.max(1, Math.round(b.height * scale));
    out.drawImage(frame, b.x, b.y, b.width, b.height, 0, 0, target.width, target.height);
    return target;
  }
  const { cx, cy, side, angle } = framingOf(face.box, face.eyes, framing);
  const full = Math.max(1, Math.round(side));
  const n = Math.min(full, MAX_SAMPLED_SIDE);
  // Only the pixels the turned square can reach are read (as on the server).
  const r = side * 0.75;
  const x0 = Math.max(0, Math.min(frame.width - 1, Math.floor(cx - r)));
  const y0 = Math.max(0, Math.min(frame.height - 1, Math.floor(cy - r)));
  const x1 = Math.min(frame.width, Math.max(x0 + 1, Math.ceil(cx + r)));
  const y1 = Math.min(frame.height, Math.max(y0 + 1, Math.ceil(cy + r)));
  const w = x1 - x0;
  const h = y1 - y0;
  const src = ctx.getImageData(x0, y0, w, h).data;
  const sampled = sample(src, w, h, cx - x0, cy - y0, side, angle, n);

  const square = n <= maxSide ? target : document.createElement('canvas');
  square.width = n;
  square.height = n;
  square.getContext('2d').putImageData(new ImageData(sampled, n, n), 0, 0);
  if (square === target) return target;
  target.width = maxSide;
  target.height = maxSide;
  out.imageSmoothingQuality = 'high';
  out.drawImage(square, 0, 0, maxSide, maxSide);
  return target;
}

/**
 * Crop pixel (u, v) is region point centre + k * R(angle) * ((u, v) - n / 2), k = side / n,
 * read bilinearly with the region's edge pixels repeated: cv2.warpAffine with
 * WARP_INVERSE_MAP, INTER_LINEAR and BORDER_REPLICATE, as function/service.py calls it.
 */
function sample(src, w, h, cx, cy, side, angle, n) {
  const k = side / n;
  const cos = Math.cos(angle) * k;
  const sin = Math.sin(angle) * k;
  const ox = cx - (cos - sin) * n / 2;
  const oy = cy - (sin + cos) * n / 2;
  const dst = new Uint8ClampedArray(n * n * 4);
  let i = 0;
  for (let v = 0; v < n; v++) {
    for (let u = 0; u < n; u++) {
      const x = cos * u - sin * v + ox;
      const y = sin * u + cos * v + oy;
      const xf = Math.floor(x);
      const yf = Math.floor(y);
      const fx = x - xf;
      const fy = y - yf;
      const xa = xf < 0 ? 0 : xf >= w ? w - 1 : xf;
      const xb = xf + 1 < 0 ? 0 : xf + 1 >= w ? w - 1 : xf + 1;
      const ya = yf < 0 ? 0 : yf >= h ? h - 1 : yf;
      const yb = yf + 1 < 0 ? 0 : yf + 1 >= h ? h - 1 : yf + 1;
      const p00 = (ya * w + xa) * 4;
      const p01 = (ya * w + xb) * 4;
      const p10 = (yb * w + xa) * 4;
      const p11 = (yb * w + xb) * 4;
      for (let c = 0; c < 3; c++) {
        const top = src[p00 + c] + fx * (src[p01 + c] - src[p00 + c]);
        const bottom = src[p10 + c] + fx * (src[p11 + c] - src[p10 + c]);
        dst[i + c] = top + fy * (bottom - top);
      }
      dst[i + 3] = 255;
      i += 4;
    }
  }
  return dst;
}
