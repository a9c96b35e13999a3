#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what the tests need, starts a real
# Dovecot and Postfix on 127.0.0.1 (tests/mailstack), runs every test, stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

# A short state path: Dovecot's socket paths must stay under 108 bytes.
state="/tmp/lndx-ms-$$"
mkdir -p "$state"
chmod o+x /tmp "$state"
stop() {
  code=$?
  MAILSTACK_STOP_FAST=1 tests/mailstack/stop.sh "$state" >/dev/null 2>&1 || true
  if [ "$code" -ne 0 ] && [ -d "$state/log" ]; then
    echo "--- mail stack logs (last lines) ---" >&2
    tail -n 40 "$state"/log/*.log >&2 || true
  fi
  rm -rf "$state"
  exit "$code"
}
trap stop EXIT
MAILSTACK_PORT_BASE="${MAILSTACK_PORT_BASE:-30000}" tests/mailstack/start.sh "$state"
export MAILSTACK_ENV="$state/env"

# A clean checkout gains nothing from incremental compilation, and its cache would
# take a few more GB; a developer who reruns the suite can set CARGO_INCREMENTAL=1.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
# Free disk before and after the build, so a full disk shows up as a figure in the log.
df -h . | sed 's/^/disk: /'
cargo build --all-targets --locked
cargo test --locked --no-run
df -h . | sed 's/^/disk: /'
du -sh target/debug 2>/dev/null | sed 's/^/disk: /' || true
cargo test --locked --no-fail-fast -- --test-threads 2
