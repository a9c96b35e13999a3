#!/usr/bin/env bash
# Builds the fuzz targets (fuzz/) and runs each one for SECONDS (default 600), one after
# another, then lists what was found. Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). The toolchain is stable, so RUSTC_BOOTSTRAP=1
# lets cargo-fuzz pass its nightly-only sanitizer flags (-Zsanitizer=address).
# Set FUZZ_SANITIZER=none to build without AddressSanitizer (faster, finds panics only).
#
# Each target starts from the committed seeds (fuzz/corpus/TARGET, never written to) and a
# working corpus in fuzz/target/corpus/TARGET that grows from run to run. libFuzzer runs in
# fork mode so that one crash does not end the run: every crash, timeout and out-of-memory
# input is kept under fuzz/artifacts/TARGET/ and the run goes on.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-600}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(mime docx xlsx zip normalisers docx_xml xlsx_xml)
sanitizer="${FUZZ_SANITIZER:-address}"

export RUSTC_BOOTSTRAP=1
# -O: release build (as the daemon ships); add -a to keep debug assertions on.
if [ $# -eq 0 ] && [ ${#targets[@]} -eq 7 ]; then
  cargo fuzz build -O -s "$sanitizer"
else
  for t in "${targets[@]}"; do cargo fuzz build -O -s "$sanitizer" "$t"; done
fi

summary=()
for t in "${targets[@]}"; do
  work="fuzz/target/corpus/$t"
  mkdir -p "$work" "fuzz/artifacts/$t"
  log="fuzz/target/fuzz-$t.log"
  echo "== $t: ${seconds}s (log: $log)" >&2
  start=$(date +%s)
  cargo fuzz run -O -s "$sanitizer" "$t" "$work" "fuzz/corpus/$t" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -artifact_prefix="fuzz/artifacts/$t/" >"$log" 2>&1 || true
  took=$(( $(date +%s) - start ))
  # Fork mode prints "#EXECS: cov: … oom/timeout/crash: O/T/C time: …" lines.
  last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
  execs=$(sed -E 's/^#([0-9]+).*/\1\n/' <<<"$last" | head -n 1)
  otc=$(grep -oE 'oom/timeout/crash: [0-9]+/[0-9]+/[0-9]+' <<<"$last" | cut -d' ' -f2)
  found=$(find "fuzz/artifacts/$t" -type f | wc -l)
  summary+=("$t: ${took}s, ${execs:-?} execs, oom/timeout/crash ${otc:-?}, ${found} artifact(s)")
done

echo
echo "== summary"
printf '%s\n' "${summary[@]}"
echo
echo "== artifacts (reproduce: cargo fuzz run -O TARGET FILE)"
find fuzz/artifacts -type f | sort
for f in $(find fuzz/artifacts -type f -name 'crash-*' | sort); do
  t=$(basename "$(dirname "$f")")
  echo "-- $f"
  grep -m 3 -E "panicked at|ERROR: AddressSanitizer|deadly signal" "fuzz/target/fuzz-$t.log" || true
done
