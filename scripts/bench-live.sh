#!/bin/sh
# Live benchmark against the tests/mailstack Dovecot + Postfix (started by the test
# itself unless MAILSTACK_ENV names a running instance): receipt latency over SMTP
# (p50/p95/max over BENCH_MESSAGES, default 200) and the filing rate of a backlog of
# BENCH_BACKLOG messages (default 1000) appended before lndx starts. Release build.
set -eu
cd "$(dirname "$0")/.."
exec cargo test --release --test live -- --ignored live_bench --nocapture --test-threads 1
