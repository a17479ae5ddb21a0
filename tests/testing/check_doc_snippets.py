#!/usr/bin/env python3
"""docs/testing.md shows snippets of examples/testing_stub.cpp (between // [name] markers),
which CI compiles and runs. Fails when a snippet in the docs no longer matches the code."""
import re
import sys

root = sys.argv[1]
src = open(root + "/examples/testing_stub.cpp").read()
doc = open(root + "/docs/testing.md").read()
names = re.findall(r"// \[([a-z-]+)\]\n", src)
bad = []
for name in sorted(set(names)):
    m = re.search(r"// \[" + name + r"\]\n(.*?)\n\s*// \[" + name + r"\]", src, re.S)
    lines = m.group(1).split("\n")
    indent = min(len(l) - len(l.lstrip()) for l in lines if l.strip())
    block = "\n".join(l[indent:] for l in lines)
    if block not in doc:
        bad.append(name)
print("snippets:", ", ".join(sorted(set(names))))
if bad:
    print("docs/testing.md is out of date for:", ", ".join(bad))
    sys.exit(1)
print("docs/testing.md matches examples/testing_stub.cpp")
