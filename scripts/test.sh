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

cargo build --all-targets --locked
cargo test --locked --no-fail-fast -- --test-threads 2
