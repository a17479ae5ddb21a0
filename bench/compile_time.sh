#!/usr/bin/env bash
# How long a user's translation unit takes to compile (g++ -O2, no ccache): one that includes
# <courier/courier.hpp> and sends a GET, beside the same program written on Boost.Beast.
# Also checks that the courier TU pulls in no Beast or OpenSSL header.
# Usage: bench/compile_time.sh [runs]   (prints a Markdown table)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
cxx=${CXX:-g++}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

time_one() {  # prints seconds for one compile
  local src=$1
  local t0 t1
  t0=$(date +%s.%N)
  $cxx -std=c++20 -O2 -Iinclude -c "$src" -o "$tmp/out.o"
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", b - a }' 
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A result
for name in courier_get beast_get; do
  for _ in $(seq "$runs"); do time_one "bench/compile_time/$name.cpp"; done >"$tmp/$name.times"
  result[$name]=$(median <"$tmp/$name.times")
done

$cxx -std=c++20 -Iinclude -M bench/compile_time/courier_get.cpp >"$tmp/deps"
if grep -qE 'boost/beast|openssl/' "$tmp/deps"; then
  echo "FAIL: <courier/courier.hpp> pulls in Beast or OpenSSL headers:" >&2
  grep -oE '[^ ]*(boost/beast|openssl/)[^ ]*' "$tmp/deps" | head >&2
  exit 1
fi
headers=$(tr ' ' '\n' <"$tmp/deps" | grep -c '\.h' || true)

ratio=$(awk -v a="${result[courier_get]}" -v b="${result[beast_get]}" 'BEGIN { printf "%.2f", a / b }')
echo "| translation unit | g++ -O2 seconds (median of $runs) |"
echo "|---|---|"
echo "| courier: include courier.hpp, send a GET | ${result[courier_get]} |"
echo "| Boost.Beast sync client, same GET | ${result[beast_get]} |"
echo "| ratio courier / Beast | $ratio |"
echo
echo "The courier TU reads $headers headers, none from Beast or OpenSSL. ($($cxx --version | head -1), $(nproc) cores)"
