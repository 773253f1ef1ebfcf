#!/usr/bin/env bash
# The Debian package of a build tree, checked (ctest label "packaging"):
#   1. cpack -G DEB with the tree's CPackConfig.cmake, into a temporary directory;
#   2. its file name, control fields (Depends from dpkg-shlibdeps: libopencv, libav*, libc6;
#      passwd; Recommends opencv-data) and maintainer scripts (the ones in packaging/debian/,
#      executable, valid sh);
#   3. its contents: the five binaries (executable), the four units, the example environment
#      files, the docs; nothing outside /usr, no test programs;
#   4. extracted (dpkg-deb -x): each binary runs --help (exit 0), and with the arguments of its
#      example environment file plus --help (exit 0: every flag the examples use exists); each
#      unit's ExecStart names a packaged binary, its EnvironmentFile, User and hardening;
#   5. the postinst and postrm run against a scratch root (DPKG_ROOT) with useradd, groupadd,
#      getent, chown and systemctl replaced by stubs that record their calls: user and group,
#      /etc/framehive, the generated secrets (64 hex characters, mode 0600), master.env; a second
#      run keeps them; purge removes what the postinst made and keeps the admin's files;
#   6. systemd-analyze verify of the extracted units, when it works here: a known-good probe unit
#      is verified first, and when that fails (no systemd in a container, say) this part is
#      skipped with the reason printed. Steps 1-5 always run.
# Usage: [CPACK=PATH] check_deb.sh BUILD_DIR [SOURCE_DIR]. Fails with "check_deb: FAIL: ..." on the
# first problem.
set -euo pipefail

BUILD_DIR=$(cd "${1:?usage: check_deb.sh BUILD_DIR [SOURCE_DIR]}" && pwd)
SOURCE_DIR=$(cd "${2:-$(dirname "$0")/../..}" && pwd)
BINARIES=(framehive-sender framehive-receiver framehive-master framehive-worker framehive-ctl)
UNITS=(framehive-master.service framehive-receiver.service framehive-worker.service
  framehive-sender@.service)
ENV_EXAMPLES=(master.env receiver.env worker.env sender-example.env)
T0=$SECONDS

fail() {
  echo "check_deb: FAIL: $*" >&2
  exit 1
}
ok() { echo "check_deb: ok: $*"; }

CPACK=${CPACK:-cpack}  # ctest passes the cpack of the cmake that configured the tree
for tool in "$CPACK" dpkg-deb dpkg-shlibdeps fakeroot; do
  command -v "$tool" > /dev/null ||
    fail "$tool is missing (scripts/install-deps.sh installs cmake, dpkg-dev and fakeroot)"
done
[ -f "$BUILD_DIR/CPackConfig.cmake" ] ||
  fail "$BUILD_DIR/CPackConfig.cmake is missing: configure the tree first (scripts/build.sh)"

TMP=$(mktemp -d /tmp/framehive-check-deb.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# 1. The package.
if ! "$CPACK" -G DEB -B "$TMP/out" --config "$BUILD_DIR/CPackConfig.cmake" > "$TMP/cpack.log" 2>&1; then
  cat "$TMP/cpack.log" >&2
  fail "cpack -G DEB failed (output above)"
fi
mapfile -t debs < <(find "$TMP/out" -maxdepth 1 -name '*.deb')
[ ${#debs[@]} -eq 1 ] || fail "cpack made ${#debs[@]} .deb files, expected 1: ${debs[*]:-none}"
DEB=${debs[0]}
version=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$BUILD_DIR/CPackConfig.cmake")
arch=$(dpkg --print-architecture)
[ "$(basename "$DEB")" = "framehive_${version}_${arch}.deb" ] ||
  fail "package file $(basename "$DEB"), expected framehive_${version}_${arch}.deb"
ok "cpack -G DEB made $(basename "$DEB") ($(du -k "$DEB" | cut -f1) KiB) in $((SECONDS - T0)) s"

# 2. Control fields and maintainer scripts.
field() { dpkg-deb -f "$DEB" "$1"; }
[ "$(field Package)" = framehive ] || fail "Package: '$(field Package)', expected framehive"
[ "$(field Version)" = "$version" ] || fail "Version: '$(field Version)', expected $version"
[ "$(field Architecture)" = "$arch" ] || fail "Architecture: '$(field Architecture)'"
[ -n "$(field Maintainer)" ] || fail "no Maintainer field"
depends=$(field Depends)
[ -n "$depends" ] || fail "the Depends field is empty (CPACK_DEBIAN_PACKAGE_SHLIBDEPS?)"
for dep in 'libopencv-core[0-9]+' 'libopencv-objdetect[0-9]+' 'libopencv-dnn[0-9]+' \
  'libavcodec[0-9]+' 'libavformat[0-9]+' 'libsqlite3-0' 'libturbojpeg0' 'libssl3' 'libc6' \
  'libstdc\+\+6' 'passwd' 'procps'; do
  grep -Eq "(^|, )${dep}( |,|$)" <<< "$depends" || fail "Depends lacks $dep: $depends"
done
grep -q 'opencv-data' <<< "$(field Recommends)" || fail "Recommends lacks opencv-data"
dpkg-deb -e "$DEB" "$TMP/control"
for script in postinst prerm postrm; do
  [ -f "$TMP/control/$script" ] || fail "maintainer script $script missing from the package"
  [ -x "$TMP/control/$script" ] || fail "maintainer script $script is not executable"
  cmp -s "$TMP/control/$script" "$SOURCE_DIR/packaging/debian/$script" ||
    fail "the package's $script differs from packaging/debian/$script"
  sh -n "$TMP/control/$script" || fail "$script: sh syntax error"
  if command -v shellcheck > /dev/null; then
    shellcheck -s sh "$TMP/control/$script" || fail "$script: shellcheck findings (above)"
  fi
done
ok "control: Depends has $(tr ',' '\n' <<< "$depends" | wc -l) packages (libopencv, libav*, libc6," \
  "passwd, ...); postinst, prerm, postrm"

# 3. Contents.
dpkg-deb -c "$DEB" > "$TMP/contents"
has() {  # has MODE_REGEX PATH: a line of dpkg-deb -c for ./PATH with that mode
  grep -Eq "^${1} root/root +[0-9]+ [0-9-]+ [0-9:]+ \./${2}\$" "$TMP/contents"
}
for b in "${BINARIES[@]}"; do
  has '-rwxr-xr-x' "usr/bin/$b" || fail "usr/bin/$b missing or not executable (root/root 0755)"
done
for u in "${UNITS[@]}"; do
  has '-rw-r--r--' "usr/lib/systemd/system/$u" || fail "usr/lib/systemd/system/$u missing"
done
for e in "${ENV_EXAMPLES[@]}"; do
  has '-rw-r--r--' "usr/share/framehive/examples/$e" || fail "usr/share/framehive/examples/$e missing"
done
for d in README.md operations.md api.md; do
  has '-rw-r--r--' "usr/share/doc/framehive/$d" || fail "usr/share/doc/framehive/$d missing"
done
# Nothing outside these directories (no /etc, no /usr/local, no headers or static libraries).
while read -r path; do
  case "$path" in
    ./ | ./usr/ | ./usr/lib/ | ./usr/lib/systemd/ | ./usr/share/ | ./usr/share/doc/) ;;
    ./usr/bin/) ;;
    ./usr/bin/*)
      [[ " ${BINARIES[*]} " == *" ${path#./usr/bin/} "* ]] || fail "unexpected program $path"
      ;;
    ./usr/lib/systemd/system/* | ./usr/share/framehive/* | ./usr/share/doc/framehive/*) ;;
    *) fail "unexpected path in the package: $path" ;;
  esac
done < <(awk '{print $6}' "$TMP/contents")
ok "contents: $(grep -c '^-' "$TMP/contents") files: 5 binaries, 4 units, 4 example env files, docs"

# 4. The extracted package.
ROOT="$TMP/root"
dpkg-deb -x "$DEB" "$ROOT"
run_clean() {  # the binary without this environment's FRAMEHIVE_* variables
  env -i PATH=/usr/bin:/bin HOME="$TMP" timeout 20 "$@"
}
for b in "${BINARIES[@]}"; do
  out=$(run_clean "$ROOT/usr/bin/$b" --help 2>&1) || fail "$b --help exited $?: $out"
  grep -q '^Usage: ' <<< "$out" || fail "$b --help printed no usage line: $out"
done
ok "each extracted binary runs --help (exit 0)"

example_args() {  # example_args FILE VAR: the value of VAR in the env file (systemd's quoting)
  local line
  line=$(grep -E "^$2=" "$1") || fail "$1 sets no $2"
  line=${line#*=}
  line=${line#\"}
  echo "${line%\"}"
}
declare -A UNIT_ENV=([framehive-master.service]="master.env FRAMEHIVE_MASTER_ARGS framehive-master"
  [framehive-receiver.service]="receiver.env FRAMEHIVE_RECEIVER_ARGS framehive-receiver"
  [framehive-worker.service]="worker.env FRAMEHIVE_WORKER_ARGS framehive-worker"
  [framehive-sender@.service]="sender-example.env FRAMEHIVE_SENDER_ARGS framehive-sender")
for u in "${UNITS[@]}"; do
  read -r env_file var bin <<< "${UNIT_ENV[$u]}"
  unit="$ROOT/usr/lib/systemd/system/$u"
  want_env="/etc/framehive/${env_file%.env}.env"
  [ "$u" = "framehive-sender@.service" ] && want_env="/etc/framehive/sender-%i.env"
  for line in "ExecStart=/usr/bin/$bin \$$var" "EnvironmentFile=$want_env" "User=framehive" \
    "Group=framehive" "Restart=on-failure" "NoNewPrivileges=yes" "ProtectSystem=strict" \
    "PrivateTmp=yes" "ProtectHome=yes" "CapabilityBoundingSet=" "WantedBy=multi-user.target"; do
    grep -qxF "$line" "$unit" || fail "$u lacks the line '$line'"
  done
  [ -x "$ROOT/usr/bin/$bin" ] || fail "$u: /usr/bin/$bin is not in the package"
  # Every flag of the example is one the binary knows: the parser rejects unknown flags (exit 2)
  # before it looks at --help.
  args=$(example_args "$ROOT/usr/share/framehive/examples/$env_file" "$var")
  # shellcheck disable=SC2086 # split like systemd's $VAR
  out=$(run_clean "$ROOT/usr/bin/$bin" $args --help 2>&1) ||
    fail "$bin rejects the arguments of examples/$env_file ($args): $out"
  grep -q -- '--auth-file /etc/framehive/secret\|--key-file /etc/framehive/datagram.key' <<< "$args" ||
    fail "examples/$env_file passes neither the API secret nor the datagram key"
done
grep -qx "StateDirectory=framehive" "$ROOT/usr/lib/systemd/system/framehive-master.service" ||
  fail "framehive-master.service has no StateDirectory=framehive"
grep -q -- "--db /var/lib/framehive/" <<< "$(example_args "$ROOT/usr/share/framehive/examples/master.env" FRAMEHIVE_MASTER_ARGS)" ||
  fail "examples/master.env: --db is not in the state directory /var/lib/framehive"
ok "units: ExecStart, EnvironmentFile, User, hardening; every flag of the example env files exists"

# 5. The maintainer scripts against a scratch root, the host's account and systemd tools stubbed.
STUBS="$TMP/stubs"
CALLS="$TMP/calls"
mkdir -p "$STUBS"
for tool in useradd groupadd chown systemctl; do
  printf '#!/bin/sh\necho "%s $*" >> "%s"\n' "$tool" "$CALLS" > "$STUBS/$tool"
done
# The account database: useradd and groupadd add to it, getent passwd|group NAME looks it up.
printf 'touch "%s/passwd"\n' "$STUBS" >> "$STUBS/useradd"
printf 'touch "%s/group"\n' "$STUBS" >> "$STUBS/groupadd"
# shellcheck disable=SC2016 # $1 and $2 are the stub's own arguments
printf '#!/bin/sh\n[ "$2" = framehive ] && [ -e "%s/$1" ]\n' "$STUBS" > "$STUBS/getent"
chmod +x "$STUBS"/*
maint() {  # maint SCRIPT ARGS...: runs the extracted maintainer script in the scratch root
  env -i PATH="$STUBS:/usr/bin:/bin" DPKG_ROOT="$ROOT" sh "$TMP/control/$1" "${@:2}"
}
maint postinst configure "" > "$TMP/postinst.log" 2>&1 ||
  fail "postinst configure exited $?: $(cat "$TMP/postinst.log")"
grep -q '^groupadd --system framehive$' "$CALLS" || fail "postinst created no group: $(cat "$CALLS")"
grep -q '^useradd --system --gid framehive .*framehive$' "$CALLS" ||
  fail "postinst created no user: $(cat "$CALLS")"
grep -qx "chown root:framehive $ROOT/etc/framehive" "$CALLS" || fail "/etc/framehive not chowned"
[ "$(stat -c %a "$ROOT/etc/framehive")" = 750 ] || fail "/etc/framehive mode is not 0750"
for s in secret datagram.key; do
  f="$ROOT/etc/framehive/$s"
  [ -f "$f" ] || fail "postinst generated no /etc/framehive/$s"
  [ "$(stat -c %a "$f")" = 600 ] || fail "/etc/framehive/$s mode $(stat -c %a "$f"), expected 600"
  grep -Eqx '[0-9a-f]{64}' "$f" || fail "/etc/framehive/$s is not 64 hex characters"
  grep -qx "chown framehive:framehive $f.dpkg-new" "$CALLS" || fail "/etc/framehive/$s not chowned"
done
cmp -s "$ROOT/etc/framehive/secret" "$ROOT/etc/framehive/datagram.key" &&
  fail "the secret and the datagram key are equal"
# The packaged binaries accept the generated file (owned by whoever runs this, as it would be by
# framehive): framehive-ctl reads it, then fails to reach a master (1), not on the file (2).
out=$(run_clean "$ROOT/usr/bin/framehive-ctl" --auth-file "$ROOT/etc/framehive/secret" \
  --master http://127.0.0.1:1/RPC2 status 2>&1) && rc=0 || rc=$?
if [ "$rc" != 1 ] || ! grep -q unreachable <<< "$out"; then
  fail "framehive-ctl --auth-file with the generated secret: exit $rc, expected 1: $out"
fi
cmp -s "$ROOT/etc/framehive/master.env" "$ROOT/usr/share/framehive/examples/master.env" ||
  fail "postinst did not install master.env from the example"
if [ -d /run/systemd/system ]; then
  grep -qx 'systemctl enable framehive-master.service' "$CALLS" || fail "master not enabled"
  grep -qx 'systemctl start framehive-master.service' "$CALLS" || fail "master not started"
else
  ! grep -q '^systemctl' "$CALLS" || fail "postinst ran systemctl without systemd: $(cat "$CALLS")"
fi
# A reconfiguration (an upgrade) keeps the secrets and the admin's master.env.
cp "$ROOT/etc/framehive/secret" "$TMP/secret.before"
echo 'FRAMEHIVE_MASTER_ARGS="--port 9000"' > "$ROOT/etc/framehive/master.env"
: > "$CALLS"
maint postinst configure 0.0.9 > "$TMP/postinst.log" 2>&1 ||
  fail "postinst configure 0.0.9 exited $?: $(cat "$TMP/postinst.log")"
cmp -s "$ROOT/etc/framehive/secret" "$TMP/secret.before" || fail "an upgrade replaced the secret"
grep -q 9000 "$ROOT/etc/framehive/master.env" || fail "an upgrade replaced master.env"
! grep -q 'useradd\|groupadd' "$CALLS" || fail "an upgrade created the user again"
maint prerm remove > "$TMP/prerm.log" 2>&1 || fail "prerm remove exited $?: $(cat "$TMP/prerm.log")"
maint postrm remove > "$TMP/postrm.log" 2>&1 || fail "postrm remove exited $?: $(cat "$TMP/postrm.log")"
[ -f "$ROOT/etc/framehive/secret" ] || fail "postrm remove deleted the secret (only purge may)"
# Purge: what the postinst made goes, an admin's sender file and /etc/framehive stay.
mkdir -p "$ROOT/var/lib/framehive" "$ROOT/etc/systemd/system/multi-user.target.wants"
touch "$ROOT/var/lib/framehive/results.db" "$ROOT/etc/framehive/sender-lobby.env"
ln -s /usr/lib/systemd/system/framehive-master.service \
  "$ROOT/etc/systemd/system/multi-user.target.wants/framehive-master.service"
maint postrm purge > "$TMP/postrm.log" 2>&1 || fail "postrm purge exited $?: $(cat "$TMP/postrm.log")"
for f in secret datagram.key master.env; do
  [ ! -e "$ROOT/etc/framehive/$f" ] || fail "postrm purge left /etc/framehive/$f"
done
[ -f "$ROOT/etc/framehive/sender-lobby.env" ] || fail "postrm purge deleted an admin's file"
[ ! -e "$ROOT/var/lib/framehive" ] || fail "postrm purge left /var/lib/framehive"
[ ! -L "$ROOT/etc/systemd/system/multi-user.target.wants/framehive-master.service" ] ||
  fail "postrm purge left the enablement link of framehive-master.service"
ok "postinst (install, upgrade), prerm, postrm (remove, purge) in a scratch root"

# 6. systemd-analyze verify, when it works here.
if ! command -v systemd-analyze > /dev/null; then
  echo "check_deb: skip: systemd-analyze verify: systemd-analyze is not installed"
else
  # A root of its own: the host's units (the targets ours refer to), then ours and the
  # package's binaries in their installed paths (verify checks that ExecStart's file exists).
  VROOT="$TMP/vroot"
  mkdir -p "$VROOT/usr/lib/systemd/system" "$VROOT/usr/bin" "$VROOT/etc"
  if [ -d /usr/lib/systemd/system ]; then
    cp -a /usr/lib/systemd/system/. "$VROOT/usr/lib/systemd/system/"
  fi
  cp "$ROOT"/usr/lib/systemd/system/* "$VROOT/usr/lib/systemd/system/"
  cp "$ROOT"/usr/bin/* "$VROOT/usr/bin/"
  # The master's ExecReload=/bin/kill (procps, a dependency): a merged /usr like Debian 12's.
  cp /usr/bin/kill "$VROOT/usr/bin/kill"
  ln -s usr/bin "$VROOT/bin"
  printf '[Unit]\nDescription=probe\n[Service]\nExecStart=/usr/bin/framehive-ctl --help\n' \
    > "$VROOT/usr/lib/systemd/system/fh-probe.service"
  probe_out=$(cd "$VROOT/usr/lib/systemd/system" &&
    SYSTEMD_LOG_LEVEL=warning timeout 30 systemd-analyze verify --root="$VROOT" fh-probe.service 2>&1) &&
    probe_rc=0 || probe_rc=$?
  rm "$VROOT/usr/lib/systemd/system/fh-probe.service"
  if [ "$probe_rc" -ne 0 ] || [ -n "$probe_out" ]; then
    echo "check_deb: skip: systemd-analyze verify does not work here: a known-good unit gave exit $probe_rc: ${probe_out:-no output}"
  else
    out=$(cd "$VROOT/usr/lib/systemd/system" &&
      SYSTEMD_LOG_LEVEL=warning timeout 30 systemd-analyze verify --root="$VROOT" \
        framehive-master.service framehive-receiver.service framehive-worker.service \
        framehive-sender@camera1.service 2>&1) || fail "systemd-analyze verify exited $?: $out"
    [ -z "$out" ] || fail "systemd-analyze verify: $out"
    ok "systemd-analyze verify: the four units (the template as framehive-sender@camera1)"
  fi
fi

echo "check_deb: PASS in $((SECONDS - T0)) s"
