#!/usr/bin/env bash
# Formats every tracked C++ file of the project in place with clang-format 14 and the repo's
# .clang-format. With --check, changes nothing and fails (exit 1) naming each file that is not
# formatted (clang-format --dry-run --Werror); scripts/test.sh runs it as the "format" stage.
#   scripts/format.sh            format in place
#   scripts/format.sh --check    the CI gate
# Environment: CLANG_FORMAT (clang-format-14, else clang-format; it must be version 14: other
# versions format some constructs differently).
set -euo pipefail
cd "$(dirname "$0")/.."
CLANG_FORMAT=${CLANG_FORMAT:-$(command -v clang-format-14 || command -v clang-format || true)}
if [ -z "$CLANG_FORMAT" ]; then
  echo "format.sh: clang-format not found (scripts/install-deps.sh installs it)" >&2
  exit 2
fi
if ! "$CLANG_FORMAT" --version | grep -q 'version 14\.'; then
  echo "format.sh: $CLANG_FORMAT is not clang-format 14: $("$CLANG_FORMAT" --version)" >&2
  exit 2
fi
mapfile -t files < <(git ls-files -- '*.cpp' '*.hpp' '*.cc' '*.h')
if [ ${#files[@]} -eq 0 ]; then
  echo "format.sh: no C++ files found (not a git checkout?)" >&2
  exit 2
fi
case "${1:-}" in
  --check)
    if "$CLANG_FORMAT" --dry-run --Werror "${files[@]}"; then
      echo "format.sh: ${#files[@]} files formatted"
    else
      echo "format.sh: files above differ from .clang-format; run scripts/format.sh" >&2
      exit 1
    fi
    ;;
  "")
    "$CLANG_FORMAT" -i "${files[@]}"
    ;;
  *)
    echo "usage: scripts/format.sh [--check]" >&2
    exit 2
    ;;
esac
