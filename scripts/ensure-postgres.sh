#!/usr/bin/env bash
# Make sure PostgreSQL's server programs (initdb, pg_ctl, postgres) exist for the gradebook tests, which
# start a throwaway server of their own (tests/pgserver.py); install Debian's when they are missing.
set -euo pipefail
if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then exit 0; fi
echo "No PostgreSQL server found: installing Debian's postgresql package for the gradebook tests."
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "error: PostgreSQL is missing and this user cannot install it (not root, no sudo); install the 'postgresql' package." >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq postgresql >/dev/null
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { echo "error: postgresql install failed" >&2; exit 1; }
# Debian starts a cluster of its own on install; the tests do not use it
$SUDO service postgresql stop >/dev/null 2>&1 || true
