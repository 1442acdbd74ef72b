#!/usr/bin/env bash
# Debian packages the commands need: `npm` (vendoring the page's face detector) and
# `chromium` (browser tests use Debian's Chromium, never a downloaded one).
# Usage: scripts/system-deps.sh npm [chromium]
set -euo pipefail
missing=()
for tool in "$@"; do
  case "$tool" in
    npm) command -v npm >/dev/null || missing+=(nodejs npm) ;;
    chromium) command -v chromium >/dev/null || missing+=(chromium) ;;
    *) echo "unknown tool $tool (valid: npm, chromium)" >&2; exit 2 ;;
  esac
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing: run as root: apt-get install -y ${missing[*]}" >&2; exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
