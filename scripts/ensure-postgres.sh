#!/usr/bin/env bash
# Make sure PostgreSQL's server programs (initdb, pg_ctl, postgres) exist for the gradebook tests, which
# start a throwaway server of their own (tests/grading/servers.py); install Debian's when they are missing.
set -euo pipefail
if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then exit 0; fi
echo "No PostgreSQL server found: installing Debian's postgresql package for the gradebook tests."
bash "$(dirname "$0")/apt-install.sh" PostgreSQL postgresql
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { echo "error: postgresql install failed" >&2; exit 1; }
# Debian starts a cluster of its own on install; the tests do not use it
service postgresql stop >/dev/null 2>&1 || sudo service postgresql stop >/dev/null 2>&1 || true
