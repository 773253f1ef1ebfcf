#!/usr/bin/env bash
# The test command (CI runs it through .ci/run): installs missing dependencies, then
#   1. build:  scripts/build.sh into BUILD_DIR (build/), ctest there;
#   2. asan:   the same with -DFH_SANITIZE=address,undefined into ASAN_BUILD_DIR (build-asan/),
#              ctest with UBSan errors fatal and LeakSanitizer on (tests/sanitizers/);
#   3. fuzz:   scripts/fuzz.sh: each libFuzzer target for FUZZ_TIME seconds (60) in
#              FUZZ_BUILD_DIR (build-fuzz/).
# FH_TEST_SANITIZE=0 skips stage 2, FH_TEST_FUZZ=0 stage 3 (both run by default). Extra
# arguments go to every ctest run, e.g. scripts/test.sh -L receiver. Prints each stage's time.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD_DIR=${BUILD_DIR:-build}
ASAN_BUILD_DIR=${ASAN_BUILD_DIR:-build-asan}
export FUZZ_BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
JOBS=${JOBS:-2}
export JOBS

timings=()
stage_start=0
start() {
  stage_start=$SECONDS
  echo "=== test.sh: $1"
}
done_() {
  timings+=("$(printf '%-28s %4ds' "$1" $((SECONDS - stage_start)))")
}
report() {
  local rc=$?
  echo "=== test.sh: stage times"
  for t in "${timings[@]}"; do echo "  $t"; done
  echo "  total                        ${SECONDS}s"
  if [ "$rc" -ne 0 ]; then echo "=== test.sh: FAILED (exit $rc)"; fi
}
trap report EXIT

start "dependencies"
bash scripts/install-deps.sh
done_ "dependencies"

start "build ($BUILD_DIR)"
BUILD_DIR=$BUILD_DIR bash scripts/build.sh
done_ "build ($BUILD_DIR)"
start "ctest ($BUILD_DIR)"
(cd "$BUILD_DIR" && ctest --output-on-failure --timeout 900 "$@")
done_ "ctest ($BUILD_DIR)"

if [ "${FH_TEST_SANITIZE:-1}" != 0 ]; then
  start "build ($ASAN_BUILD_DIR)"
  BUILD_DIR=$ASAN_BUILD_DIR BUILD_TYPE=${ASAN_BUILD_TYPE:-RelWithDebInfo} bash scripts/build.sh \
    -DFH_SANITIZE=address,undefined -DFH_BUILD_BENCH=OFF
  done_ "build ($ASAN_BUILD_DIR)"
  start "ctest ($ASAN_BUILD_DIR)"
  # Child processes (the framehive binaries the integration tests start) inherit these.
  san="$ROOT/tests/sanitizers"
  (
    cd "$ASAN_BUILD_DIR"
    export ASAN_OPTIONS="halt_on_error=1:detect_leaks=${FH_TEST_DETECT_LEAKS:-1}:check_initialization_order=1:strict_init_order=1"
    export LSAN_OPTIONS="suppressions=$san/lsan.supp:print_suppressions=0"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$san/ubsan.supp"
    ctest --output-on-failure --timeout 1800 "$@"
  )
  done_ "ctest ($ASAN_BUILD_DIR)"
fi

if [ "${FH_TEST_FUZZ:-1}" != 0 ]; then
  start "fuzz ($FUZZ_BUILD_DIR)"
  bash scripts/fuzz.sh
  done_ "fuzz ($FUZZ_BUILD_DIR, ${FUZZ_TIME:-60}s each)"
fi
