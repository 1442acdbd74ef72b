#!/usr/bin/env bash
# Vendors the in-browser face detector (MediaPipe BlazeFace, short range: the npm package
# @mediapipe/face_detection, which ships its wasm and its model) into site/vendor/, so the
# page loads nothing from a CDN, and nothing at run time from anywhere but this site.
# Idempotent: returns at once when vendor/ already matches package-lock.json.
set -euo pipefail

SITE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PKG="$SITE/node_modules/@mediapipe/face_detection"
DEST="$SITE/vendor/face_detection"
STAMP="$SITE/vendor/.stamp"

# Only what the "short" model needs: the loader, its graph, the BlazeFace weights and both
# wasm builds (SIMD and plain; the loader picks one per browser). The .data file is empty,
# but the loader asks for it. README.md and package.json carry the Apache-2.0 notice.
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

up_to_date() {
  [[ -f "$STAMP" && "$(cat "$STAMP")" == "$1" ]] || return 1
  local f
  for f in "${FILES[@]}"; do
    [[ -f "$DEST/$f" ]] || return 1
  done
}

lock_hash="$(sha256sum "$SITE/package-lock.json" | cut -d' ' -f1)"
if up_to_date "$lock_hash"; then
  exit 0
fi

command -v npm >/dev/null || {
  echo "site/build.sh: npm is needed to vendor the face detector (apt-get install -y npm)" >&2
  exit 1
}

# npm ci only when node_modules lacks the locked version (it wipes node_modules first).
wanted="$(cd "$SITE" && node -p \
  "require('./package-lock.json').packages['node_modules/@mediapipe/face_detection'].version")"
have="$(node -p "require('$PKG/package.json').version" 2>/dev/null || true)"
if [[ "$have" != "$wanted" ]]; then
  (cd "$SITE" && npm ci --no-audit --no-fund --loglevel=error)
fi

rm -rf "$DEST"
mkdir -p "$DEST"
for f in "${FILES[@]}"; do
  install -m 0644 "$PKG/$f" "$DEST/$f"
done
echo "$lock_hash" >"$STAMP"
echo "site/build.sh: vendored @mediapipe/face_detection $wanted into site/vendor/"
