#!/usr/bin/env bash
# Make sure a Chromium or Chrome binary exists for the browser tests; install Debian's when none does.
set -euo pipefail
for b in "${BACKPROPLAB_CHROMIUM:-}" chromium chromium-browser google-chrome google-chrome-stable; do
  if [ -n "$b" ] && command -v "$b" >/dev/null 2>&1; then exit 0; fi
done
echo "No Chromium found: installing Debian's chromium package for the browser tests."
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "error: Chromium is missing and this user cannot install it (not root, no sudo); install the 'chromium' package." >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium >/dev/null
command -v chromium >/dev/null 2>&1 || { echo "error: chromium install failed" >&2; exit 1; }
