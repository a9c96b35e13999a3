#!/bin/sh
# Deadline-day burst on the tests/mailstack Dovecot + Postfix (started by the test itself
# unless MAILSTACK_ENV names a running instance): BURST_MESSAGES (500) from BURST_SENDERS
# (33) within BURST_SECS (60) s, every tenth with a legacy Word 97 .doc converted by
# LibreOffice (BURST_ALL_SAMPLES=1 adds the samples that carry a legacy file to the rest);
# prints receipt latency p50/p95/max with and without legacy files, the time until the
# burst is filed, whether every message was answered exactly once, and where the time went
# (BURST_LOG=FILE keeps the daemon's log).
set -eu
cd "$(dirname "$0")/.."
exec cargo test --release --test deadline -- --ignored deadline_burst --nocapture --test-threads 1
