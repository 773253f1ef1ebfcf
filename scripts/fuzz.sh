#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan, FH_FUZZ=ON) into build-fuzz/ and runs each
# for a bounded time over its committed seeds (tests/fuzz/corpus/<target>/) and regressions
# (tests/fuzz/regressions/<target>/). Fails on the first finding; the input that triggered it
# is kept in build-fuzz/fuzz-artifacts/<target>/ (see tests/fuzz/README.md: add a regression).
#   scripts/fuzz.sh                 every target, FUZZ_TIME seconds each
#   FUZZ_TIME=1800 scripts/fuzz.sh xmlrpc
# Environment: FUZZ_BUILD_DIR (build-fuzz), FUZZ_TIME (seconds per target, 60), JOBS (2),
# FUZZ_ARGS (more libFuzzer flags, e.g. "-jobs=2 -workers=2" or "-seed=1").
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
FUZZ_TIME=${FUZZ_TIME:-60}
JOBS=${JOBS:-2}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=(datagram xmlrpc jpeg xmlrpc_diff events_config); fi

start=$SECONDS
CC=clang CXX=clang++ cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DFH_FUZZ=ON -DFH_SANITIZE=address,undefined -DFH_BUILD_BENCH=OFF >/dev/null
cmake --build "$BUILD" -j"$JOBS" --target "${targets[@]/#/fuzz_}"
echo "fuzz: build $((SECONDS - start))s"

# UBSan reports are findings too; leaks are checked by libFuzzer after each input. A smaller
# ASan quarantine keeps the process's RSS near its live heap: at ~60,000 inputs/s the default
# 256 MB quarantine and ASan's allocator caches grew fuzz_jpeg to 2.1 GB RSS with 29 MB live
# (a false out-of-memory under -rss_limit_mb=2048). -rss_limit_mb=4096 is the guard for real
# growth, -malloc_limit_mb=2048 for a single runaway allocation.
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:quarantine_size_mb=64}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$(command -v llvm-symbolizer-14 || command -v llvm-symbolizer || true)}

for t in "${targets[@]}"; do
  work="$BUILD/fuzz-corpus/$t"        # what this run adds; the committed seeds stay as they are
  artifacts="$BUILD/fuzz-artifacts/$t"
  log="$BUILD/fuzz-logs/$t.log"
  mkdir -p "$work" "$artifacts" "$(dirname "$log")"
  dirs=("$work" "tests/fuzz/corpus/$t")
  if [ -d "tests/fuzz/regressions/$t" ]; then dirs+=("tests/fuzz/regressions/$t"); fi
  echo "fuzz: $t for ${FUZZ_TIME}s (log $log)"
  # shellcheck disable=SC2086  # FUZZ_ARGS is a list of flags
  if ! "$BUILD/bin/fuzz_$t" -max_total_time="$FUZZ_TIME" -rss_limit_mb=4096 -malloc_limit_mb=2048 -timeout=30 \
      -print_final_stats=1 -artifact_prefix="$artifacts/" ${FUZZ_ARGS:-} "${dirs[@]}" \
      >"$log" 2>&1; then
    tail -n 80 "$log"
    echo "fuzz: $t FAILED. The input is in $artifacts/; reproduce with"
    echo "  $BUILD/bin/fuzz_$t $artifacts/<file>"
    echo "then fix it and add it under tests/fuzz/regressions/$t/ (tests/fuzz/README.md)."
    exit 1
  fi
  grep -E '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" |
    tr -s ' \t\n' ' '
  echo
done
echo "fuzz: ${targets[*]}: no findings ($((SECONDS - start))s with the build)"
