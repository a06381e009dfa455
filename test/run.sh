#!/usr/bin/env bash
# `npm test`: system packages, build, import-cycle check, then every mocha suite twice —
# on SQLite (the embedded default) and on PostgreSQL. Extra arguments go to mocha
# (`npm test -- --grep robot`, or compiled test files to run only those). Exits non-zero if any step fails.
set -uo pipefail
cd "$(dirname "$0")/.."

PG_URL="${SLIPWAY_TEST_PG_URL:-postgres://root@127.0.0.1:5432/test}"
declare -A result=()
failed=0

step() { printf '\n==> %s\n' "$*"; }

step "system packages"
if ! bash test/setup.sh; then
  echo "test: test/setup.sh failed; see above" >&2
  echo "TEST SUMMARY: FAIL (setup)"
  exit 1
fi

step "build (tsc)"
if ! npx tsc -p .; then
  echo "TEST SUMMARY: FAIL (build)"
  exit 1
fi

step "import cycles (madge)"
dirs=()
for d in src registry buildman executors triggers; do [ -d "dist/$d" ] && dirs+=("dist/$d"); done
if npx madge --circular --extensions js "${dirs[@]}"; then result[cycles]=ok; else result[cycles]=FAIL; failed=1; fi

mocha_args=()
# A stray .only must not quietly skip the rest of the suite in CI.
[ -n "${CI:-}" ] && mocha_args+=(--forbid-only)
# .mocharc.json names no spec (so that `npx mocha FILE` runs just FILE); the whole suite unless
# the arguments name test files themselves.
spec=('dist/test/**/*.test.js')
for arg in "$@"; do case "$arg" in *.js) spec=() ;; esac; done
mocha_args+=("${spec[@]}")

step "mocha on SQLite"
# Each run's output is kept to count its tests for the closing line.
runlog=$(mktemp)
trap 'rm -f "$runlog"' EXIT
if SLIPWAY_TEST_DB=sqlite npx mocha "${mocha_args[@]}" "$@" 2>&1 | tee -a "$runlog"; then result[sqlite]=ok; else result[sqlite]=FAIL; failed=1; fi

postgres_ready() {
  pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null
}

step "PostgreSQL"
if ! postgres_ready && command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
  for version in $(ls /etc/postgresql); do
    echo "starting PostgreSQL $version/main"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  done
  for _ in $(seq 1 30); do postgres_ready && break; sleep 1; done
fi
if postgres_ready; then
  # The suites make a database of their own from this one; create it on a fresh cluster.
  if ! psql "$PG_URL" -qAtc 'select 1' >/dev/null 2>&1; then
    createdb -h 127.0.0.1 -p 5432 "$(basename "${PG_URL%%\?*}")" 2>/dev/null || true
  fi
  step "mocha on PostgreSQL ($PG_URL)"
  if SLIPWAY_TEST_DB=postgres SLIPWAY_TEST_PG_URL="$PG_URL" npx mocha "${mocha_args[@]}" "$@" 2>&1 | tee -a "$runlog"; then result[postgres]=ok; else result[postgres]=FAIL; failed=1; fi
else
  echo "test: PostgreSQL is not answering on 127.0.0.1:5432 (pg_isready failed, and starting a cluster did not help)" >&2
  result[postgres]="FAIL (no server)"
  failed=1
fi

summary="build ok, cycles ${result[cycles]}, sqlite ${result[sqlite]}, postgres ${result[postgres]}"
# Mocha's "N passing" / "N failing" lines of both runs, summed (colour codes stripped).
count() { sed 's/\x1b\[[0-9;]*m//g' "$runlog" | awk -v w="$1" '$2 == w && $1 ~ /^[0-9]+$/ { n += $1 } END { print n + 0 }'; }
passed=$(count passing)
failures=$(count failing)
[ "$failures" -gt 0 ] && failed=1
if [ "$failed" -eq 0 ]; then echo; echo "TEST SUMMARY: PASS ($summary)"; else echo; echo "TEST SUMMARY: FAIL ($summary)"; fi
echo "$passed passed, $failures failed"
exit "$failed"
