# The two commands of README.md, and the rest of the project's jobs.
#   make demo           install what is missing, build, run the demo against local servers
#   make test           install what is missing, build, run every test
#   make test-sanitize  the same under ASan + UBSan
#   make test-clang     the same built with clang 14
#   make test-tsan      the same under ThreadSanitizer (not in CI, see README; no 4 GiB stream)
#   make fuzz           every libFuzzer target for a minute from its seed corpus
#   make bench          courier vs Beast vs libcurl vs h2load vs raw TCP on local servers (bench/)
#   make docs           the API reference of include/courier, in build/docs/html/index.html
SHELL := /bin/bash
.DEFAULT_GOAL := demo

# Debian 12 packages the project needs; `deps` installs the missing ones (quietly, idempotent).
DEPS := build-essential cmake ninja-build ccache clang pkgconf \
        libboost1.81-dev libboost-url1.81-dev libssl-dev openssl zlib1g-dev \
        libbrotli-dev libzstd-dev nlohmann-json3-dev libgtest-dev libgmock-dev libbenchmark-dev \
        libcli11-dev nginx-light python3 python3-httpbin python3-websockets curl tinyproxy microsocks \
        libcurl4-openssl-dev libclang-rt-14-dev doxygen libnghttp2-dev nghttp2-server nghttp2-client \
        strace python3-h2

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
JOBS ?= $(shell nproc)

.PHONY: deps build test test-sanitize test-clang test-tsan demo clang format clean bench-compile bench-micro docs

deps:
	@missing=$$(for p in $(DEPS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

build: deps
	@cmake --preset default >/dev/null
	@cmake --build --preset default -j $(JOBS)

test: build
	@ctest --preset default -j $(JOBS)

test-sanitize: deps
	@cmake --preset sanitize >/dev/null
	@cmake --build --preset sanitize -j $(JOBS)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --preset sanitize -j $(JOBS)

demo: build
	@bash tests/servers/run-with-servers.sh build/demo-servers -- \
	  bash -c 'bash tools/courier/demo.sh build && bash examples/demo.sh build'

clang: deps
	@cmake --preset clang >/dev/null
	@cmake --build --preset clang -j $(JOBS)

test-tsan: deps
	@cmake --preset tsan >/dev/null
	@cmake --build --preset tsan -j $(JOBS)
	@TSAN_OPTIONS="halt_on_error=1 suppressions=$(CURDIR)/tests/tsan.supp" ctest --preset tsan -j $(JOBS) -E FourGibibytes

test-clang: clang
	@ctest --preset clang -j $(JOBS)

bench-compile: deps
	@bash bench/compile_time.sh 3

bench-micro: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release --target courier_microbench -j $(JOBS)
	@build-release/bench/micro/courier_microbench --benchmark_min_time=0.2

# The API reference (docs/Doxyfile): HTML from the public headers' doc comments, no graphs.
docs: deps
	@mkdir -p build/docs
	@doxygen docs/Doxyfile
	@echo "API reference: build/docs/html/index.html"

format:
	@clang-format -i $$(git ls-files '*.hpp' '*.cpp')

clean:
	@rm -rf build build-sanitize build-clang build-release build-bench build-fuzz

# End-to-end benchmarks (bench/run.sh): courier vs Boost.Beast vs libcurl vs h2load vs raw TCP
# on local servers, table to bench/results/. BENCH_QUICK=1 scales the workloads down.
.PHONY: bench fuzz
bench: deps
	@bash bench/run.sh

# Every libFuzzer target for FUZZ_SECONDS (default 60) from a copy of its seed corpus.
fuzz: deps
	@bash .ci/fuzz
