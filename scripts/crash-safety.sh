#!/bin/sh
# Crash safety on the real mail stack: SIGKILL lndx at random moments while it works
# through a backlog, round after round, then count lost, double-filed and double-answered
# messages (all must be zero). The test suite runs a short version (3 rounds of 40);
# this runs the full one: LNDX_CRASH_ROUNDS (default 20) rounds of LNDX_CRASH_MESSAGES
# (default 300) messages. Starts its own Dovecot/Postfix unless MAILSTACK_ENV names one.
set -eu
cd "$(dirname "$0")/.."
export LNDX_CRASH_ROUNDS="${LNDX_CRASH_ROUNDS:-20}"
export LNDX_CRASH_MESSAGES="${LNDX_CRASH_MESSAGES:-300}"
exec cargo test --release --test live -- live_crash_safety_rounds --nocapture --test-threads 1
