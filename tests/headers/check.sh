#!/usr/bin/env bash
# Public headers in a user's strict build: each header under INCLUDE_DIR/courier is compiled
# alone (it must include what it uses), then docs_usage.cpp (the aggregates filled in as the
# docs write them), with every given compiler, the include directory passed as a plain -I (not
# -isystem, so courier's own warnings are not hidden) and the warnings users turn on, as errors.
# Syntax only, several compiles at once. Exits non-zero listing each failing compile.
#
# Usage: check.sh INCLUDE_DIR COMPILER...
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly HERE

[[ $# -ge 2 && -d "$1/courier" ]] || {
  echo "usage: check.sh INCLUDE_DIR COMPILER..." >&2
  exit 2
}
INCLUDE="$(realpath -- "$1")"
shift
readonly INCLUDE FLAGS="-std=c++20 -fsyntax-only -Wall -Wextra -Wpedantic -Wshadow -Werror"

WORK="$(mktemp -d)"
trap 'rm -rf -- "$WORK"' EXIT

# The list of compiles, one "COMPILER SOURCE LABEL" a line.
headers=()
while IFS= read -r h; do headers+=("$h"); done < <(cd "$INCLUDE" && find courier -name '*.hpp' | sort)
[[ ${#headers[@]} -gt 0 ]] || { echo "no headers under $INCLUDE/courier" >&2; exit 1; }
skipped=0
for cxx in "$@"; do
  command -v "$cxx" >/dev/null || { echo "compiler not found: $cxx" >&2; exit 1; }
  has_json=1
  echo '#include <nlohmann/json.hpp>' | "$cxx" -std=c++20 -fsyntax-only -x c++ - 2>/dev/null || has_json=0
  for h in "${headers[@]}"; do
    if [[ "$h" == courier/json.hpp && $has_json == 0 ]]; then
      echo "skipped with $cxx: $h (no <nlohmann/json.hpp>)"
      skipped=$((skipped + 1))
      continue
    fi
    tu="$WORK/${h//\//_}.cpp"
    printf '#include <%s>\n' "$h" >"$tu"
    echo "$cxx $tu $h"
  done
  echo "$cxx $HERE/docs_usage.cpp docs_usage.cpp"
done >"$WORK/jobs"

# Each compile writes its diagnostics to a log named after it; the exit status is kept in a
# .failed marker so that xargs runs every compile and the report lists them all.
compile_one() {  # compile_one COMPILER SOURCE LABEL
  local log
  log="$WORK/log.$(basename "$1").${3//\//_}"
  # shellcheck disable=SC2086  # FLAGS are words
  if ! "$1" $FLAGS -I"$INCLUDE" "$2" >"$log" 2>&1; then
    touch "$log.failed"
  fi
}
export -f compile_one
export WORK INCLUDE FLAGS

jobs="$(nproc 2>/dev/null || echo 2)"
xargs -P "$jobs" -L 1 bash -c 'compile_one "$@"' _ <"$WORK/jobs"

total=$(wc -l <"$WORK/jobs")
failed=0
for marker in "$WORK"/log.*.failed; do
  [[ -e "$marker" ]] || continue
  failed=$((failed + 1))
  log="${marker%.failed}"
  echo "FAILED: $(basename "$log" | sed 's/^log\.//')"
  head -n 30 "$log"
done
summary="headers: $((total - failed)) passed, $failed failed"
[[ $skipped -gt 0 ]] && summary+=", $skipped skipped"
echo "$summary"
[[ $failed -eq 0 ]]
