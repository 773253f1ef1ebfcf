#!/usr/bin/env bash
# The test command (CI runs it through .ci/run): installs missing dependencies, then
#   1. format: scripts/format.sh --check (clang-format 14 over every tracked C++ file);
#   2. build:  scripts/build.sh into BUILD_DIR (build/) with warnings as errors
#              (-DFH_WERROR=ON), ctest there;
#   3. asan:   the same with -DFH_SANITIZE=address,undefined into ASAN_BUILD_DIR (build-asan/),
#              ctest with ASan and UBSan errors fatal and LeakSanitizer on (tests/sanitizers/);
#   4. tsan:   the same with -DFH_SANITIZE=thread into TSAN_BUILD_DIR (build-tsan/), ctest of the
#              unit and integration tests (not the single-threaded fuzz replays) with
#              ThreadSanitizer reports fatal (tests/sanitizers/tsan.supp);
#   5. fuzz:   scripts/fuzz.sh: each libFuzzer target for FUZZ_TIME seconds (60) in
#              FUZZ_BUILD_DIR (build-fuzz/).
# FH_TEST_FORMAT=0 skips stage 1, FH_TEST_SANITIZE=0 stage 3, FH_TEST_TSAN=0 stage 4,
# FH_TEST_FUZZ=0 stage 5 (all run by default). A failing stage does not stop the later ones (a
# failed build skips its ctest); the exit status is non-zero if any failed. Every ctest run
# fails when it selects no test (--no-tests=error). Extra arguments go to every ctest run,
# e.g. scripts/test.sh -L receiver. Prints each stage's time at the end.
# The sanitizer trees are built with -O1 -g1 (SANITIZER_FLAGS): compiling dominates those
# stages on 2 cores, and -O1 with line tables is what the sanitizers' own documentation
# recommends for usable reports.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD_DIR=${BUILD_DIR:-build}
ASAN_BUILD_DIR=${ASAN_BUILD_DIR:-build-asan}
TSAN_BUILD_DIR=${TSAN_BUILD_DIR:-build-tsan}
SANITIZER_FLAGS=${SANITIZER_FLAGS:--O1 -g1 -DNDEBUG}
export FUZZ_BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
export JOBS=${JOBS:-2}

timings=()
failed=()
# stage <name> <command...>: runs the command, records its time and outcome.
stage() {
  local name=$1 t0=$SECONDS rc=0 status=ok
  shift
  echo "=== test.sh: $name"
  "$@" || rc=$?
  if [ "$rc" -ne 0 ]; then
    status="FAILED (exit $rc)"
    failed+=("$name")
  fi
  timings+=("$(printf '%-40s %5ds  %s' "$name" $((SECONDS - t0)) "$status")")
  return "$rc"
}
report() {
  echo "=== test.sh: stage times"
  for t in "${timings[@]}"; do echo "  $t"; done
  printf '  %-40s %5ds\n' total "$SECONDS"
  if [ ${#failed[@]} -ne 0 ]; then echo "=== test.sh: FAILED: ${failed[*]}"; fi
}
trap report EXIT

normal_build() { BUILD_DIR=$BUILD_DIR bash scripts/build.sh -DFH_WERROR=ON; }
normal_ctest() { (cd "$BUILD_DIR" && ctest --no-tests=error --output-on-failure --timeout 900 "$@"); }
# sanitizer_build <dir> <sanitizers>: RelWithDebInfo with lighter flags, no benchmarks.
sanitizer_build() {
  BUILD_DIR=$1 BUILD_TYPE=RelWithDebInfo bash scripts/build.sh -DFH_SANITIZE="$2" \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$SANITIZER_FLAGS" -DFH_BUILD_BENCH=OFF
}
asan_ctest() (  # a subshell: the sanitizer options stay in this stage
  san="$ROOT/tests/sanitizers"
  # The framehive binaries the tests start inherit these too.
  export ASAN_OPTIONS="halt_on_error=1:detect_leaks=${FH_TEST_DETECT_LEAKS:-1}:check_initialization_order=1:strict_init_order=1"
  export LSAN_OPTIONS="suppressions=$san/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$san/ubsan.supp"
  cd "$ASAN_BUILD_DIR" && ctest --no-tests=error --output-on-failure --timeout 1800 "$@"
)
tsan_ctest() (
  san="$ROOT/tests/sanitizers"
  # halt_on_error: the first race fails the test (and a framehive child exits 66, which the
  # tests see). second_deadlock_stack: both stacks of a lock-order inversion.
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$san/tsan.supp:print_suppressions=0"
  cd "$TSAN_BUILD_DIR" && ctest --no-tests=error --output-on-failure --timeout 1800 -LE fuzz "$@"
)

stage "dependencies" bash scripts/install-deps.sh

if [ "${FH_TEST_FORMAT:-1}" != 0 ]; then
  stage "format (clang-format --dry-run --Werror)" bash scripts/format.sh --check || true
fi

if stage "build ($BUILD_DIR)" normal_build; then
  stage "ctest ($BUILD_DIR)" normal_ctest "$@" || true
fi

if [ "${FH_TEST_SANITIZE:-1}" != 0 ]; then
  if stage "build ($ASAN_BUILD_DIR)" sanitizer_build "$ASAN_BUILD_DIR" address,undefined; then
    stage "ctest ($ASAN_BUILD_DIR)" asan_ctest "$@" || true
  fi
fi

if [ "${FH_TEST_TSAN:-1}" != 0 ]; then
  if stage "build ($TSAN_BUILD_DIR)" sanitizer_build "$TSAN_BUILD_DIR" thread; then
    stage "ctest ($TSAN_BUILD_DIR)" tsan_ctest "$@" || true
  fi
fi

if [ "${FH_TEST_FUZZ:-1}" != 0 ]; then
  stage "fuzz ($FUZZ_BUILD_DIR, ${FUZZ_TIME:-60}s per target)" bash scripts/fuzz.sh || true
fi

[ ${#failed[@]} -eq 0 ]
