#!/usr/bin/env bash
# Vendors the in-browser face detector (MediaPipe BlazeFace, short range) from npm into
# site/vendor/, so the page loads nothing from a CDN or at run time from anywhere else.
# Idempotent: does nothing when vendor/ already matches package-lock.json.
set -euo pipefail

SITE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PKG="$SITE/node_modules/@mediapipe/face_detection"
DEST="$SITE/vendor/face_detection"
STAMP="$SITE/vendor/.stamp"

# Only what the "short" model needs: the loader, the graph, the BlazeFace weights and
# both wasm builds (SIMD and plain; the loader picks one per browser). The .data file
# is empty, but the loader fetches it.
FILES=(
  face_detection.js
  face_detection_short.binarypb
  face_detection_short_range.tflite
  face_detection_solution_simd_wasm_bin.js
  face_detection_solution_simd_wasm_bin.wasm
  face_detection_solution_simd_wasm_bin.data
  face_detection_solution_wasm_bin.js
  face_detection_solution_wasm_bin.wasm
  README.md
  package.json
)

lock_hash="$(sha256sum "$SITE/package-lock.json" | cut -d' ' -f1)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$lock_hash" ]] && \
   all_there="$(for f in "${FILES[@]}"; do [[ -e "$DEST/$f" ]] || echo missing; done)" && \
   [[ -z "$all_there" ]]; then
  exit 0
fi

if ! command -v npm >/dev/null; then
  echo "site/build.sh: npm is needed to vendor the face detector (apt-get install -y npm)" >&2
  exit 1
fi

if [[ ! -f "$PKG/package.json" ]] || \
   [[ "$(node -p "require('$PKG/package.json').version")" != \
      "$(node -p "require('$SITE/package-lock.json').packages['node_modules/@mediapipe/face_detection'].version")" ]]; then
  (cd "$SITE" && npm ci --no-audit --no-fund --loglevel=error)
fi

rm -rf "$DEST"
mkdir -p "$DEST"
for f in "${FILES[@]}"; do
  cp "$PKG/$f" "$DEST/$f"
done
# The package's license is Apache-2.0; keep its notice with the copy we serve.
echo "$lock_hash" >"$STAMP"
echo "site/build.sh: vendored @mediapipe/face_detection into site/vendor/"
