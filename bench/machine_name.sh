#!/usr/bin/env bash
# Prints a short name for this machine, used in the names of result files so that each
# machine keeps its own latest run: the CPU model from /proc/cpuinfo in lower case, without
# trademarks, "CPU", "Processor", core counts and clock speed, then the number of CPUs.
#   "AMD EPYC", 2 CPUs                                      -> amd-epyc-2cpu
#   "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz", 8 CPUs -> intel-xeon-platinum-8375c-8cpu
#   "AMD EPYC 7763 64-Core Processor", 4 CPUs               -> amd-epyc-7763-4cpu
set -euo pipefail
model=$(grep -m1 -E '^(model name|Model|Hardware)' /proc/cpuinfo 2>/dev/null | cut -d: -f2- || true)
[ -n "$model" ] || model=$(uname -m)
slug=$(printf '%s' "$model" | tr 'A-Z' 'a-z' |
  sed -E 's/\((r|tm)\)//g; s/@.*//; s/[0-9]+-core//g; s/\b(cpu|processor)\b//g' |
  sed -E 's/[^a-z0-9]+/-/g; s/^-+//; s/-+$//' | cut -c1-40 | sed -E 's/-+$//')
echo "${slug:-cpu}-$(nproc)cpu"
