#!/usr/bin/env bash
# Peak RSS of courier streaming 1 GiB and 4 GiB bodies, download (nginx, sparse files) and
# upload (a sink that drops the bytes, in the bench process), written to
# bench/results/streaming-<date>-<machine>.md (bench/machine_name.sh names the machine), which
# replaces the earlier streaming results of the same machine (git history keeps them).
#
# Usage: bench/streaming/run.sh [BUILD_DIR]   (default: build-streaming-bench; a Release build of
# courier and stream_rss is made there)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BUILD="$(realpath -m "${1:-$ROOT/build-streaming-bench}")"
WORK="$(mktemp -d /tmp/courier-stream-bench.XXXXXX)"
trap 'bash "$ROOT/tests/servers/stop.sh" "$WORK/servers" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT

cmake -S "$HERE" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" --target stream_rss -j "${JOBS:-1}" >/dev/null
BIN="$BUILD/stream_rss"

bash "$ROOT/tests/servers/start.sh" "$WORK/servers" >/dev/null
# shellcheck disable=SC1091
source "$WORK/servers/env"
base="http://127.0.0.1:$NGINX_HTTP_PORT"

rows=()
run() {  # run LABEL ARGS...
  local line
  line="$("$BIN" "${@:2}")"
  echo "$1: $line" >&2
  rows+=("$1|$line")
}
run "download 1 GiB" download "$base/sparse-1g.bin"
run "download 4 GiB" download "$base/sparse-4g.bin"
run "ignore() 4 GiB (no reader)" ignore "$base/sparse-4g.bin"
# For scale: the same downloads with curl to /dev/null (nginx reading the sparse file and the
# loopback are the same; curl's own memory is not compared).
curl_rows=()
if command -v curl >/dev/null; then
  for f in sparse-1g.bin sparse-4g.bin; do
    curl_rows+=("$f|$(curl -s -o /dev/null -w '%{size_download} %{time_total}' "$base/$f")")
  done
fi
run "upload 1 GiB" upload $((1 << 30))
run "upload 4 GiB" upload $((4 << 30))

machine=$(bash "$ROOT/bench/machine_name.sh")
out="$ROOT/bench/results/streaming-$(date -u +%Y-%m-%d)-$machine.md"
for old in "$ROOT"/bench/results/streaming-[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]-"$machine".md; do
  if [ -e "$old" ] && [ "$old" != "$out" ]; then rm -f "$old"; fi
done
{
  echo "# Streaming: peak RSS against body size ($(date -u +%Y-%m-%dT%H:%MZ))"
  echo
  echo "\`bench/streaming/run.sh\`: \`stream_rss\` (Release) streams each body through one"
  echo "asio_backend: downloads with as_stream() from nginx (sparse files of zeros), uploads from a"
  echo "stream_body with Content-Length to a sink thread in the same process that drops the bytes."
  echo "Peak RSS is getrusage(RUSAGE_SELF).ru_maxrss; \"before\" is taken after the backend started."
  echo "Machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end."
  echo
  echo "| transfer | bytes | seconds | MiB/s | peak RSS before (KiB) | peak RSS (KiB) |"
  echo "| --- | --- | --- | --- | --- | --- |"
  for row in "${rows[@]}"; do
    label="${row%%|*}"
    line="${row#*|}"
    get() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<<"$line"; }
    echo "| $label | $(get bytes) | $(get seconds) | $(get MiBps) | $(get peak_rss_before_kib) | $(get peak_rss_kib) |"
  done
  if [[ ${#curl_rows[@]} -gt 0 ]]; then
    echo
    echo "curl to /dev/null on the same machine, for scale (seconds): ${curl_rows[*]}"
  fi
} >"$out"
echo "wrote $out" >&2
cat "$out"
