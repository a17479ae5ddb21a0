#!/usr/bin/env python3
"""How much distinct code one operation runs: the instructions executed on every operation of
a workload, and the 64-byte instruction-cache lines they sit on, from two callgrind runs of
different lengths (the longer run minus the shorter one leaves the per-operation part).

  valgrind --tool=callgrind --dump-instr=yes --dump-line=no --compress-pos=no \
      --callgrind-out-file=short.out build-bench/e2e/bench_client courier_sync http_seq \
      count=500 size=100 path=/100b http_port=...
  (the same with count=1500 into long.out)
  python3 bench/footprint.py short.out long.out 1000 [top]

An instruction counts when it ran at least 90% of `ops` (the difference in operations) more
times in the long run: once per operation, or more. Prints the totals, the lines per object
file, and the `top` functions by lines.
"""
import collections
import re
import sys


def parse(path):
    """Executions per instruction address, and the (object, function) of each address."""
    objects, functions = {}, {}
    obj = fn = None
    addr = 0
    skip_next = False  # the cost line after calls= is the call's inclusive cost
    cost = collections.Counter()
    owner = {}

    def name(table, text):
        m = re.match(r'\((\d+)\)(?: (.*))?', text)
        if not m:
            return text
        if m.group(2):
            table[m.group(1)] = m.group(2)
        return table.get(m.group(1), m.group(1))

    with open(path) as f:
        for line in f:
            line = line.rstrip('\n')
            if not line:
                continue
            if line.startswith('ob='):
                obj = name(objects, line[3:])
            elif line.startswith('fn='):
                fn = name(functions, line[3:])
            elif line.startswith('cob='):
                name(objects, line[4:])
            elif line.startswith('cfn='):
                name(functions, line[4:])
            elif line.startswith('calls='):
                skip_next = True
            elif line[0] in '0123456789+-*':
                parts = line.split()
                a = parts[0]
                if a.startswith('0x'):
                    addr = int(a, 16)
                elif a[0] == '+':
                    addr += int(a[1:], 0)
                elif a[0] == '-':
                    addr -= int(a[1:], 0)
                if skip_next:
                    skip_next = False
                    continue
                cost[addr] += int(parts[1]) if len(parts) > 1 else 0
                owner[addr] = (obj.split('/')[-1] if obj else '?', fn or '?')
    return cost, owner


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    short, _ = parse(sys.argv[1])
    long, owner = parse(sys.argv[2])
    ops = float(sys.argv[3])
    top = int(sys.argv[4]) if len(sys.argv) > 4 else 20
    lines = set()
    per_object = collections.Counter()
    per_function = collections.Counter()
    instructions = 0
    for addr, n in long.items():
        if n - short.get(addr, 0) < 0.9 * ops:
            continue
        instructions += 1
        if addr >> 6 not in lines:
            lines.add(addr >> 6)
            per_object[owner[addr][0]] += 1
            per_function[owner[addr]] += 1
    print(f'distinct instructions per operation: {instructions}')
    print(f'instruction-cache lines: {len(lines)} ({len(lines) * 64 / 1024:.1f} KiB)')
    for obj, n in per_object.most_common():
        print(f'{n:6d} lines  {obj}')
    for (obj, fn), n in per_function.most_common(top):
        print(f'{n:6d} lines  {obj[:16]:16s} {fn[:120]}')


if __name__ == '__main__':
    main()
