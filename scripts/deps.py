#!/usr/bin/env python3
"""Which source file of snap calls into which, from the built objects (nm):
prints the cycles between files and between folders of snap/. Reading the
code should go one way: a file's callees never call back into it.

    scripts/deps.py            cycles only (exit 1 if any)
    scripts/deps.py --graph    every file's callees too
"""
import os, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def objects():
    for top in ("snap", "parasite/host"):
        for d, _, fs in os.walk(os.path.join(ROOT, top)):
            for f in fs:
                # An object whose source is gone is stale, not part of snap.
                if f.endswith(".o") and os.path.exists(os.path.join(d, f[:-2] + ".c")):
                    yield os.path.relpath(os.path.join(d, f), ROOT)


def symbols(obj):
    out = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
    defined, used = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TDBR":
            defined.add(parts[2])
        elif len(parts) == 2 and parts[0] == "U":
            used.add(parts[1])
    return defined, used


def cycles(graph):
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def folder(src):
    """snap/main.c dispatches to the commands: a layer of its own above them."""
    if src == "snap/main.c":
        return "main"
    parts = src.split("/")
    return "/".join(parts[:2]) if len(parts) > 2 else parts[0] + "/"


def main():
    defs, uses = {}, {}
    for o in objects():
        src = o[:-2] + ".c"
        d, u = symbols(os.path.join(ROOT, o))
        uses[src] = u
        for s in d:
            defs[s] = src
    files = {s: {defs[x] for x in u if x in defs and defs[x] != s} for s, u in uses.items()}
    dirs = {}
    for s, callees in files.items():
        dirs.setdefault(folder(s), set()).update(folder(c) for c in callees if folder(c) != folder(s))
    bad = 0
    for what, graph in (("files", files), ("folders", dirs)):
        for comp in cycles(graph):
            bad += 1
            print("cycle between %s: %s" % (what, " <-> ".join(comp)))
    if "--graph" in sys.argv:
        for s in sorted(files):
            print("%s -> %s" % (s, " ".join(sorted(files[s]))))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
