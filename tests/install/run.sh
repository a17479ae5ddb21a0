#!/usr/bin/env bash
# The outside-project test: builds tests/install/consumer in each way a user can bring courier
# in, and runs each program:
#   1. CMake package: installs the build into WORK_DIR/prefix, then find_package(courier
#      COMPONENTS json) with CMAKE_PREFIX_PATH=WORK_DIR/prefix only
#   2. pkg-config: `g++ main.cpp $(pkg-config --cflags --libs courier)`, exactly as README.md
#      writes it (no --static), with PKG_CONFIG_PATH into the prefix
#   3. FetchContent: FetchContent_Declare(courier SOURCE_DIR <this tree>) + MakeAvailable
#   4. add_subdirectory(<this tree>)
# 3 and 4 also check that courier, as a subproject, leaves out its tests, examples, benchmarks
# and tools. They compile courier itself (through ccache when it is installed: both use the
# same build layout, so the second one hits the first one's cache entries).
# Exits non-zero, saying which step failed, on any failure. Honours CXX, CXXFLAGS, LDFLAGS.
#
# Usage: run.sh BUILD_DIR WORK_DIR
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly HERE
SOURCE="$(cd "$HERE/../.." && pwd)"
readonly SOURCE

[[ $# -eq 2 && -n "$1" && -n "$2" ]] || {
  echo "usage: run.sh BUILD_DIR WORK_DIR" >&2
  exit 2
}
BUILD="$(realpath -- "$1")"
WORK="$(realpath -m -- "$2")"
readonly BUILD WORK PREFIX="$WORK/prefix" EXPECTED="http://127.0.0.1:1/"
CXX="${CXX:-g++}"

fail() {
  echo "install.consumer: FAILED: $*" >&2
  exit 1
}

# Runs a step quietly into WORK/NAME.log; on failure shows the log's tail.
run_step() {  # run_step NAME command...
  local name="$1"
  shift
  echo "== $name"
  if ! "$@" >"$WORK/$name.log" 2>&1; then
    tail -n 40 "$WORK/$name.log" >&2
    [[ "$name" == install ]] && echo "(is the library built? cmake --build $BUILD)" >&2
    fail "$name (full log: $WORK/$name.log)"
  fi
}

check_output() {  # check_output PROGRAM
  local out
  out="$("$1")" || fail "$1 exited with $?"
  [[ "$out" == "$EXPECTED" ]] || fail "$1 printed '$out', expected '$EXPECTED'"
  echo "   $1 printed $out"
}

[[ -f "$BUILD/CMakeCache.txt" ]] || fail "$BUILD is not a configured build directory"
rm -rf -- "$PREFIX" "$WORK/cmake-build" "$WORK/pkgconfig-build" "$WORK/fetchcontent-build" \
  "$WORK/subdirectory-build"
mkdir -p "$WORK/pkgconfig-build"

# --- install ------------------------------------------------------------------------------------
run_step install cmake --install "$BUILD" --prefix "$PREFIX"  # fails if BUILD is not built
[[ -f "$PREFIX/include/courier/courier.hpp" ]] || fail "no include/courier/courier.hpp in $PREFIX"
config="$(find "$PREFIX" -name courierConfig.cmake -print -quit)"
[[ -n "$config" ]] || fail "no courierConfig.cmake in $PREFIX"
pc_file="$(find "$PREFIX" -name courier.pc -print -quit)"
[[ -n "$pc_file" ]] || fail "no courier.pc in $PREFIX"
library="$(find "$PREFIX" \( -name 'libcourier.a' -o -name 'libcourier.so' \) -print -quit)"
[[ -n "$library" ]] || fail "no libcourier.a or libcourier.so in $PREFIX"
echo "   installed $(realpath --relative-to="$PREFIX" "$library")," \
  "$(realpath --relative-to="$PREFIX" "$config"), $(realpath --relative-to="$PREFIX" "$pc_file")"

# --- 1. CMake consumer ----------------------------------------------------------------------------
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
run_step cmake-configure cmake -S "$HERE/consumer" -B "$WORK/cmake-build" "${generator[@]}" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="$CXX" -DCMAKE_PREFIX_PATH="$PREFIX" \
  -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON
run_step cmake-build cmake --build "$WORK/cmake-build" -j1
check_output "$WORK/cmake-build/courier_consumer"

# --- 2. pkg-config consumer ------------------------------------------------------------------------
command -v pkg-config >/dev/null || fail "pkg-config not found (apt-get install pkgconf)"
PKG_CONFIG_PATH="$(dirname "$pc_file")"
export PKG_CONFIG_PATH
pc_prefix="$(pkg-config --variable=prefix courier)" || fail "pkg-config cannot read $pc_file"
# A .pc that names the configure-time prefix instead of where it was installed breaks every
# relocated install (cmake --install --prefix, DESTDIR packaging).
[[ "$(realpath -m -- "$pc_prefix")" == "$PREFIX" ]] ||
  fail "courier.pc says prefix=$pc_prefix, but it was installed in $PREFIX" \
    "(write prefix=\${pcfiledir}/../.. in cmake/courier.pc.in to make it relocatable)"
pc_flags="$(pkg-config --cflags --libs courier)" || fail "pkg-config --cflags --libs courier failed"
echo "   pkg-config --cflags --libs courier: $pc_flags"
# shellcheck disable=SC2086  # the flags are words
run_step pkgconfig-build "$CXX" ${CXXFLAGS:-} "$HERE/consumer/main.cpp" \
  -o "$WORK/pkgconfig-build/courier_consumer" $pc_flags ${LDFLAGS:-}
LD_LIBRARY_PATH="$(dirname "$library")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  check_output "$WORK/pkgconfig-build/courier_consumer"

# --- 3, 4. courier's source tree inside the consumer's build ---------------------------------------
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  # Paths under the source tree are hashed relative to the build directory, and the two builds
  # sit at the same depth, so their compile commands are the same to ccache.
  export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$SOURCE}" CCACHE_NOHASHDIR=1
fi
for mode in fetchcontent subdirectory; do
  run_step "$mode-configure" cmake -S "$HERE/consumer" -B "$WORK/$mode-build" "${generator[@]}" \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="$CXX" "${launcher[@]}" \
    -DCOURIER_CONSUMER_MODE="$mode" -DCOURIER_SOURCE_DIR="$SOURCE" \
    -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON
  run_step "$mode-build" cmake --build "$WORK/$mode-build" --target courier_consumer -j2
  check_output "$WORK/$mode-build/courier_consumer"
done

echo "install.consumer: 4 passed, 0 failed"
