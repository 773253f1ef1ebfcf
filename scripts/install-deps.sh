#!/usr/bin/env bash
# Installs every Debian 12 package framehive, its tests and its demo need.
# Idempotent: installs only what is missing; a no-op on a prepared machine.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config python3 python3-opencv python3-numpy python3-yaml
  libboost-dev libboost-program-options-dev libboost-test-dev libboost-system-dev
  libxmlrpc-c++8-dev libxmlrpc-core-c3-dev libcurl4-openssl-dev
  libopencv-dev
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libavdevice-dev
  libspdlog-dev libfmt-dev
  libsqlite3-dev libssl-dev openssl libdeflate-dev libturbojpeg0-dev nlohmann-json3-dev
  libmosquitto-dev mosquitto
  ccache clang-format
  opencv-data opencv-doc
  clang libclang-rt-14-dev llvm-14
  iproute2 nftables
  libjs-chart.js libjs-bootstrap5
  chromium chromium-driver python3-selenium prometheus mosquitto-clients
  dpkg-dev fakeroot shellcheck procps
  python3-onnx
)
# libmosquitto-dev: the master's MQTT client (events); mosquitto: the broker its tests start;
# mosquitto-clients: their subscriber. procps: /bin/kill, the master unit's ExecReload, which
# the packaging test verifies.
# ccache: repeated builds (build, asan, tsan, fuzz) share compiled objects when present.
# clang-format: the format gate of scripts/test.sh. openssl: the TLS tests make their certificate
# with its command line (test_http_server_limits).
# clang: the fuzz build (scripts/fuzz.sh); libclang-rt-14-dev holds libFuzzer and clang's
# sanitizer runtimes (only recommended by clang, so listed); llvm-14: llvm-symbolizer for
# readable sanitizer stack traces. iproute2, nftables: the network namespaces and the kernel
# packet loss/duplication of scripts/reliability.sh (netloss section).
# libjs-chart.js, libjs-bootstrap5: the console's chart and styles, embedded into the master at
# build time (nothing is loaded from the internet). chromium, chromium-driver, python3-selenium:
# the headless browser tests of the console. prometheus: promtool checks /metrics in a test.
# dpkg-dev, fakeroot: cpack -G DEB and the check of the package's contents; shellcheck: that
# check's lint of the maintainer scripts.
# python3-yaml: tests/api/test_http_api.py reads docs/http-api.openapi.yaml (Debian 12 has no
# OpenAPI validator package, python3-openapi-spec-validator: the test checks the file itself).
# python3-onnx: tests/worker/make_dnn_models.py writes the dnn detector's test models (ONNX).

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
