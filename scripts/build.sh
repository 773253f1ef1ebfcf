#!/usr/bin/env bash
# Configures and builds framehive into build/ (binaries in build/bin/). Extra arguments go to
# cmake's configure step, e.g. scripts/build.sh -DFH_SANITIZE=address,undefined
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-2}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} "$@"
cmake --build "$BUILD_DIR" -j"$JOBS"
