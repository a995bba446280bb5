#!/usr/bin/env bash
# Make sure a Chromium or Chrome binary exists for the browser tests; install Debian's when none does.
set -euo pipefail
for b in "${BACKPROPLAB_CHROMIUM:-}" chromium chromium-browser google-chrome google-chrome-stable; do
  if [ -n "$b" ] && command -v "$b" >/dev/null 2>&1; then exit 0; fi
done
echo "No Chromium found: installing Debian's chromium package for the browser tests."
bash "$(dirname "$0")/apt-install.sh" Chromium chromium
command -v chromium >/dev/null 2>&1 || { echo "error: chromium install failed" >&2; exit 1; }
