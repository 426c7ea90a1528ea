#!/usr/bin/env bash
# Make sure the PostgreSQL server the tests use is up; under CI start it when it is not (never skip).
set -uo pipefail
url="${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test}"
hostport="${url#*@}"; hostport="${hostport%%/*}"
host="${hostport%%:*}"; port="${hostport##*:}"; [ "$port" = "$host" ] && port=5432
if command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h "$host" -p "$port"; then
  exit 0
fi
if [ "${CI:-}" = "true" ] || [ "${CI:-}" = "1" ]; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "PostgreSQL is not running: starting it …"
    version="$(ls /etc/postgresql | head -n1)"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 30); do pg_isready -q -h "$host" -p "$port" && exit 0; sleep 1; done
  fi
  echo "error: PostgreSQL at $host:$port is required under CI and could not be started" >&2
  exit 1
fi
echo "note: PostgreSQL at $host:$port is not reachable; its tests will be skipped (they are required under CI)" >&2
