#!/usr/bin/env bash
# apt-get install PACKAGE... as root (or through sudo), for a tool the tests need: scripts/ensure-*.sh.
# Usage: apt-install.sh WHAT PACKAGE...   (WHAT names the tool in the error message)
set -euo pipefail
what="$1"; shift
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "error: $what is missing and this user cannot install it (not root, no sudo); install the '$*' package." >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "$@" >/dev/null
