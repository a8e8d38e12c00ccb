#!/usr/bin/env python3
"""The source layout of README "Source layout" and docs/DESIGN.md, checked:
- layering, on the #include lines: a file of module M may include headers of M and of
  the modules M may depend on, nothing above (public headers include/proxflow/<module>/
  and internal ones src/<module>/ count as their module's);
- every source and header in a module folder (none loose in src/ or include/proxflow/);
- no file over MAX_LINES lines (one job per file).
Exit 1 with the offending files and lines."""
import os, re, sys

# who may include whom (besides itself); the picture: cli -> run -> {io, eval} -> flow
# -> {nn, data} -> config -> core
ALLOWED = {
    "core": set(),
    "config": {"core"},
    "data": {"core", "config"},
    "nn": {"core", "config"},
    "flow": {"core", "config", "data", "nn"},
    "eval": {"core", "config", "data"},
    "io": {"core", "config", "data", "nn", "flow"},
    "run": {"core", "config", "data", "nn", "flow", "eval", "io"},
    "cli": {"core", "config", "data", "nn", "flow", "eval", "io", "run"},
}
MAX_LINES = 600
root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
inc = re.compile(r'^\s*#\s*include\s+"(?:proxflow/)?([a-z]+)/[^"]+"')
bad, files = [], 0
for top in ("src", os.path.join("include", "proxflow")):
    for mod in sorted(os.listdir(os.path.join(root, top))):
        d = os.path.join(root, top, mod)
        if not os.path.isdir(d):
            if mod.endswith((".c", ".h")):
                bad.append(f"{top}/{mod}: outside any module folder")
            continue
        if mod not in ALLOWED:
            bad.append(f"{top}/{mod}: a module the layering does not know (add it to ALLOWED)")
            continue
        for name in sorted(os.listdir(d)):
            if not name.endswith((".c", ".h")):
                continue
            files += 1
            path = os.path.join(d, name)
            nlines = sum(1 for _ in open(path, encoding="utf-8"))
            if nlines > MAX_LINES:
                bad.append(f"{top}/{mod}/{name}: {nlines} lines (more than {MAX_LINES}: split it by job)")
            for n, line in enumerate(open(path, encoding="utf-8"), 1):
                m = inc.match(line)
                if m and m.group(1) != mod and m.group(1) not in ALLOWED[mod]:
                    bad.append(f"{top}/{mod}/{name}:{n}: {mod} includes {m.group(1)}: {line.strip()}")
for b in bad:
    print("LAYOUT", b)
print(f"check_layout: {files} files, {len(bad)} problems")
sys.exit(1 if bad else 0)
