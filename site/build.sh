#!/usr/bin/env bash
# Vendors the in-browser face detector into site/vendor/, so the page loads nothing from a
# CDN, and nothing at run time from anywhere but this site:
#   - @mediapipe/tasks-vision: the FaceDetector task (ES module and its wasm, the module
#     build only: the page runs it in a module worker);
#   - BlazeFace short range (face crops around a tracked face) and full range (the whole
#     frame, to find faces as small as ~30 px), from the legacy @mediapipe/face_detection
#     package, the only npm package that ships them; tools/tflite_metadata.py adds the
#     metadata the Tasks API needs (the weights are untouched);
#   - the server's crop framing (function/framing.json), so the page crops faces as the
#     server does from the same figures;
#   - Swagger UI (swagger-ui-dist), which the local server's /docs serves instead of a CDN's.
# Idempotent: returns at once when vendor/ already matches package-lock.json and the tool.
set -euo pipefail

SITE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOOL="$SITE/../tools/tflite_metadata.py"
FRAMING="$SITE/../function/framing.json"
MODULES="$SITE/node_modules/@mediapipe"
DEST="$SITE/vendor"
STAMP="$DEST/.stamp"

# source in node_modules/@mediapipe -> name in vendor/. The bundle is renamed to .js so
# every server (S3 included) sends it with a JavaScript type, which module scripts need.
declare -A TASKS=(
  [tasks-vision/vision_bundle.mjs]=tasks-vision/vision_bundle_esm.js
  [tasks-vision/wasm/vision_wasm_module_internal.js]=tasks-vision/vision_wasm_module_internal.js
  [tasks-vision/wasm/vision_wasm_module_internal.wasm]=tasks-vision/vision_wasm_module_internal.wasm
  [tasks-vision/README.md]=tasks-vision/README.md
  [tasks-vision/package.json]=tasks-vision/package.json
  [face_detection/README.md]=models/README.md
  [face_detection/package.json]=models/package.json
)
# source in node_modules/ -> name in vendor/swagger-ui/
declare -A SWAGGER=(
  [swagger-ui-dist/swagger-ui-bundle.js]=swagger-ui-bundle.js
  [swagger-ui-dist/swagger-ui.css]=swagger-ui.css
  [swagger-ui-dist/favicon-32x32.png]=favicon-32x32.png
  [swagger-ui-dist/LICENSE]=LICENSE
)
declare -A MODELS=(
  [face_detection/face_detection_short_range.tflite]=models/blaze_face_short_range.tflite
  [face_detection/face_detection_full_range.tflite]=models/blaze_face_full_range.tflite
)

stamp="$(cat "$SITE/package-lock.json" "$TOOL" "$FRAMING" "$SITE/build.sh" | sha256sum | cut -d' ' -f1)"
up_to_date() {
  [[ -f "$STAMP" && "$(cat "$STAMP")" == "$stamp" ]] || return 1
  local f
  for f in "${TASKS[@]}" "${MODELS[@]}" framing.json; do
    [[ -f "$DEST/$f" ]] || return 1
  done
  for f in "${SWAGGER[@]}"; do
    [[ -f "$DEST/swagger-ui/$f" ]] || return 1
  done
}
if up_to_date; then
  exit 0
fi

command -v npm >/dev/null || {
  echo "site/build.sh: npm is needed to vendor the face detector (apt-get install -y npm)" >&2
  exit 1
}

# npm ci only when node_modules lacks a locked version (it wipes node_modules first).
# --ignore-scripts: no package's install script runs (swagger-ui-dist's dependency
# @scarf/scarf would report the install to its makers).
for pkg in @mediapipe/face_detection @mediapipe/tasks-vision swagger-ui-dist; do
  wanted="$(cd "$SITE" && node -p \
    "require('./package-lock.json').packages['node_modules/$pkg'].version")"
  have="$(node -p "require('$SITE/node_modules/$pkg/package.json').version" 2>/dev/null || true)"
  if [[ "$have" != "$wanted" ]]; then
    (cd "$SITE" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
    break
  fi
done

rm -rf "$DEST"
mkdir -p "$DEST/tasks-vision" "$DEST/models" "$DEST/swagger-ui"
for f in "${!TASKS[@]}"; do
  install -m 0644 "$MODULES/$f" "$DEST/${TASKS[$f]}"
done
for f in "${!SWAGGER[@]}"; do
  install -m 0644 "$SITE/node_modules/$f" "$DEST/swagger-ui/${SWAGGER[$f]}"
done
install -m 0644 "$FRAMING" "$DEST/framing.json"
for f in "${!MODELS[@]}"; do
  python3 "$TOOL" "$MODULES/$f" "$DEST/${MODELS[$f]}"
done
echo "$stamp" >"$STAMP"
echo "site/build.sh: vendored @mediapipe/tasks-vision, the BlazeFace models, the crop framing and Swagger UI into site/vendor/"
