#!/usr/bin/env bash
# Debian packages the commands need, by what they are for:
#   npm       vendoring the page's face detector (site/build.sh);
#   chromium  Chromium's browser tests (Playwright drives Debian's binary, never a downloaded one);
#   firefox   Firefox's browser tests (puppeteer-core drives firefox-esr over WebDriver BiDi),
#             with the FFmpeg that Debian's Firefox plays H.264 MP4 files with;
#   webkit    WebKit's browser tests (WebKitWebDriver drives MiniBrowser on Xvfb), with the
#             GStreamer plugins WebKitGTK plays WebM and H.264 MP4 files with;
# Usage: scripts/system-deps.sh npm [chromium] [firefox] [webkit]
set -euo pipefail
missing=()
need() {
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
  done
}
for tool in "$@"; do
  case "$tool" in
    npm) command -v npm >/dev/null || need nodejs npm ;;
    chromium) need chromium ;;
    firefox) need firefox-esr libavcodec59 ;;
    webkit) need webkit2gtk-driver libwebkit2gtk-4.1-0 xvfb gstreamer1.0-plugins-good \
      gstreamer1.0-plugins-bad gstreamer1.0-libav ;;
    *) echo "unknown tool $tool (valid: npm, chromium, firefox, webkit)" >&2; exit 2 ;;
  esac
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing: run as root: apt-get install -y ${missing[*]}" >&2; exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
