#!/usr/bin/env python3
"""Checks the relative links of README.md and docs/**/*.md: each must lead to a file or
directory that exists, and an #anchor to a heading of the page it names (GitHub's anchors:
lower case, punctuation dropped, spaces as hyphens). Links to other sites are not followed.

    check_links.py ROOT
"""
import pathlib
import re
import sys

LINK = re.compile(r"(?<!\!)\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")


def prose_lines(text):
    """The lines outside code blocks, numbered, with inline code removed."""
    inside = False
    for n, line in enumerate(text.split("\n"), 1):
        if FENCE.match(line):
            inside = not inside
            continue
        if not inside:
            yield n, re.sub(r"`[^`]*`", "", line)


def anchors(page):
    found = set()
    for _, line in prose_lines(page.read_text()):
        m = HEADING.match(line)
        if m:
            slug = re.sub(r"[^\w\- ]", "", m.group(1).lower()).replace(" ", "-")
            base, k = slug, 1
            while slug in found:  # repeated headings get -1, -2, ...
                slug, k = f"{base}-{k}", k + 1
            found.add(slug)
    return found


def main():
    root = pathlib.Path(sys.argv[1]).resolve()
    pages = [root / "README.md"] + sorted((root / "docs").rglob("*.md"))
    bad, count = [], 0
    for page in pages:
        for n, line in prose_lines(page.read_text()):
            for target in LINK.findall(line):
                if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
                    continue
                count += 1
                path, _, anchor = target.partition("#")
                dest = (page.parent / path).resolve() if path else page
                where = f"{page.relative_to(root)}:{n}: {target}"
                if not dest.exists():
                    bad.append(f"{where}: {path} does not exist")
                elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                    bad.append(f"{where}: no heading '#{anchor}' in {dest.relative_to(root)}")
    for b in bad:
        print(b)
    print(f"{count} relative links in {len(pages)} pages, {len(bad)} broken")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
