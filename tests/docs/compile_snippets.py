#!/usr/bin/env python3
"""Compiles every ```cpp block of a documentation page (README.md, docs/*.md), so that a snippet
that no longer matches the headers fails CI. How to write a snippet: tests/docs/README.md.

All blocks of one page go into one translation unit, each in a namespace of its own
(doc_snippet_<line>), compiled with -fsyntax-only and the flags CMake gives the target
courier_doc_snippets (its entry in compile_commands.json), so nothing is linked or run.

    compile_snippets.py --compile-commands FILE --probe FILE --out DIR [--list] PAGE...

Exit status: 0 when every page compiles, 1 otherwise (the compiler's errors point at the page
and line of the snippet, through #line directives).
"""
import argparse
import json
import pathlib
import re
import shlex
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
CONTEXTS = HERE / "context"
CPP_LANGUAGES = {"cpp", "c++"}
MARKER = re.compile(r"^<!--\s*snippet:\s*(.*?)\s*-->\s*$")
FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*(\S*)")
COROUTINE = re.compile(r"\bco_(await|return|yield)\b")
INCLUDE = re.compile(r"^\s*#\s*include\b")
MAIN = re.compile(r"^int main\(", re.M)


class Block:
    def __init__(self, line, language, kind, reason, code):
        self.line = line  # the line of the first line of code (1-based)
        self.language = language
        self.kind = kind  # "statements", "declarations" or "not compiled"
        self.reason = reason
        self.code = code


def parse(page, text):
    """The fenced blocks of a page, and the mistakes in how they are marked."""
    blocks, problems = [], []
    lines = text.split("\n")
    i = 0
    pending = None  # (line number, marker text) of a marker waiting for its block
    while i < len(lines):
        line = lines[i]
        m = MARKER.match(line)
        if m:
            if pending:
                problems.append(f"{page}:{pending[0]}: snippet marker not followed by a ```cpp block")
            pending = (i + 1, m.group(1))
            i += 1
            continue
        f = FENCE.match(line)
        if not f:
            if pending and line.strip():
                problems.append(f"{page}:{pending[0]}: snippet marker not followed by a ```cpp block")
                pending = None
            i += 1
            continue
        indent, fence, language = f.groups()
        start = i + 1
        j = start
        while j < len(lines) and not lines[j].strip().startswith(fence):
            j += 1
        if j == len(lines):
            problems.append(f"{page}:{i + 1}: code block never closed")
            break
        code = "\n".join(l[len(indent):] if l.startswith(indent) else l for l in lines[start:j])
        if not language:
            problems.append(f"{page}:{i + 1}: code block without a language: name it "
                            "(```cpp, ```sh, ```text, ...)")
        kind, reason = "statements", None
        if pending:
            marker = pending[1]
            if language not in CPP_LANGUAGES:
                problems.append(f"{page}:{pending[0]}: snippet marker before a ```{language} block")
            elif marker in ("statements", "declarations"):
                kind = marker
            elif marker.startswith("not compiled:") and marker[len("not compiled:"):].strip():
                kind, reason = "not compiled", marker[len("not compiled:"):].strip()
            else:
                problems.append(f"{page}:{pending[0]}: unknown snippet marker '{marker}' (use "
                                "statements, declarations, or not compiled: REASON)")
            pending = None
        blocks.append(Block(start + 1, language, kind, reason, code))
        i = j + 1
    if pending:
        problems.append(f"{page}:{pending[0]}: snippet marker not followed by a ```cpp block")
    return blocks, problems


def context_for(page):
    """The page's own context header, or the shared one."""
    own = CONTEXTS / (pathlib.Path(page).stem + ".hpp")
    return own if own.exists() else CONTEXTS / "common.hpp"


def translation_unit(page, blocks):
    """One C++ source holding every compiled block of the page, each in its own namespace."""
    context = context_for(page)
    out = [f"// Made by tests/docs/compile_snippets.py from {page}; the context is "
           f"tests/docs/context/{context.name}.",
           f'#include "{context}"']
    bodies = []
    for b in blocks:
        if b.language not in CPP_LANGUAGES or b.kind == "not compiled":
            continue
        code_lines = b.code.split("\n")
        for n, l in enumerate(code_lines):
            if INCLUDE.match(l):  # includes go to the top of the file, outside any namespace
                out += [f'#line {b.line + n} "{page}"', l]
                code_lines[n] = ""
        code = "\n".join(code_lines)
        if b.kind == "declarations" and MAIN.search(code):  # a whole program: main stays main
            bodies += [f'#line {b.line} "{page}"', code]
            continue
        # In an unnamed namespace: the code is not the main file's for the compiler (#line), and
        # a type without linkage (a lambda) inside a coroutine frame would then be warned about.
        bodies.append(f"namespace {{ namespace doc_snippet_{b.line} {{")
        if b.kind == "declarations":
            bodies += [f'#line {b.line} "{page}"', code]
        else:
            # The closing co_return keeps it a coroutine when only a lambda in it awaits.
            coroutine = COROUTINE.search(code)
            result = "boost::asio::awaitable<void>" if coroutine else "void"
            bodies += [f"[[maybe_unused]] {result} snippet() {{", f'#line {b.line} "{page}"', code,
                       "co_return;" if coroutine else "", "}"]
        bodies.append(f"}}  // namespace doc_snippet_{b.line}\n}}  // namespace")
    return "\n".join(out + bodies) + "\n"


def compile_command(compile_commands, probe):
    """The compiler and flags CMake uses for `probe`, without its input, output and depfile."""
    probe = str(pathlib.Path(probe).resolve())
    for entry in json.loads(pathlib.Path(compile_commands).read_text()):
        if str(pathlib.Path(entry["directory"], entry["file"]).resolve()) != probe:
            continue
        args = entry.get("arguments") or shlex.split(entry["command"])
        kept, skip = [], False
        for a in args:
            if skip:
                skip = False
            elif a in ("-o", "-MT", "-MF", "-MQ"):
                skip = True
            elif a in ("-c", "-MD", "-MMD") or a.endswith(pathlib.Path(probe).name):
                pass
            else:
                kept.append(a)
        return kept, entry["directory"]
    sys.exit(f"{probe} is not in {compile_commands}: configure the build first")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--compile-commands", required=True)
    ap.add_argument("--probe", required=True, help="the source whose flags the snippets get")
    ap.add_argument("--out", required=True, help="where the generated sources go")
    ap.add_argument("--root", default=str(HERE.parent.parent), help="the source tree")
    ap.add_argument("--list", action="store_true", help="print the blocks, compile nothing")
    ap.add_argument("pages", nargs="+", help="pages, relative to --root")
    args = ap.parse_args()
    root = pathlib.Path(args.root)
    out_dir = pathlib.Path(args.out).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    failed = False
    command = None
    for page in args.pages:
        blocks, problems = parse(page, (root / page).read_text())
        for p in problems:
            print(p)
        failed |= bool(problems)
        cpp = [b for b in blocks if b.language in CPP_LANGUAGES]
        compiled = [b for b in cpp if b.kind != "not compiled"]
        for b in cpp:
            if b.kind == "not compiled":
                print(f"{page}:{b.line}: not compiled: {b.reason}")
        if args.list:
            for b in compiled:
                print(f"{page}:{b.line}: {b.kind}")
        print(f"{page}: {len(compiled)} of {len(cpp)} C++ blocks compiled "
              f"(context {context_for(page).name})")
        if not compiled or args.list:
            continue
        source = out_dir / (page.replace("/", "_").replace(".md", "") + "_snippets.cpp")
        source.write_text(translation_unit(page, compiled))
        if command is None:
            command, directory = compile_command(args.compile_commands, args.probe)
        run = subprocess.run(command + ["-fsyntax-only", str(source)], cwd=directory,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if run.returncode != 0 or run.stdout.strip():
            print(run.stdout, end="")
        if run.returncode != 0:
            print(f"{page}: a snippet does not compile (the whole source: {source})")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
