#!/usr/bin/env python3
"""The module graph of the shared crate, read from its `use` lines.

Prints every edge between the crate's top-level modules and between the
files of `store/`, the cycles among them (strongly connected components),
and the line counts; with --check, exits 1 if a rule of the layering that
`shared/src/lib.rs` states is broken:
  - nothing under domain/ or store/ names a module of the HTTP edge;
  - a leaf (config, clock, page, telemetry, aws_json) names only leaves;
  - no store aggregate names another aggregate.
Run: python3 scripts/module-graph.py [--check] [path/to/shared/src]
"""
import pathlib
import re
import sys

args = [a for a in sys.argv[1:] if not a.startswith("--")]
check = "--check" in sys.argv
root = pathlib.Path(args[0] if args else pathlib.Path(__file__).resolve().parent.parent / "shared/src")

# The edge of the crate: what only HTTP needs. Leaves and layers below it
# must never name these.
HTTP_EDGE = {"http", "error", "request", "cursor", "caller", "idempotency"}
# store/ files that are plumbing or shared parts (any aggregate may use them);
# every other file in store/ is an aggregate, except reconcile, which sees all.
STORE_BASE = {"mod", "error", "item", "keys", "schema", "read", "write", "retry", "codec", "parts"}
STORE_ALL = {"reconcile"}
# The leaves: below the domain, naming no layer above them (aws_json, one
# signed call of an AWS JSON service, is what config reads secrets with).
LEAVES = {"config", "clock", "page", "telemetry", "aws_json"}


def code(path):
    """The file's text without comments and without its #[cfg(test)] module."""
    text = path.read_text()
    text = re.split(r"\n#\[cfg\(test\)\]\s*\n(?:pub(?:\(crate\))? )?mod \w+", text)[0]
    return "\n".join(line.split("//")[0] for line in text.splitlines())


def top(path):
    rel = path.relative_to(root)
    return rel.parts[0].removesuffix(".rs")


def store_file(path):
    rel = path.relative_to(root / "store")
    return rel.parts[0].removesuffix(".rs")


def uses(text, prefix):
    """Module names that follow `prefix::` (also inside `use prefix::{a, b::c}`)."""
    found = set()
    for m in re.finditer(prefix + r"::(\{[^}]*\}|\w+)", text):
        group = m.group(1)
        if group.startswith("{"):
            found.update(re.findall(r"(?:^|[{,\s])(\w+)", group[1:]))
        else:
            found.add(group)
    return found


files = sorted(p for p in root.rglob("*.rs"))
modules = {top(p) for p in files if top(p) != "lib"}
edges = {}
store_edges = {}
for path in files:
    src = top(path)
    if src == "lib":
        continue
    text = code(path)
    names = uses(text, "crate") & modules
    rel = path.relative_to(root)
    # `super::x` in a top-level module's own file (a/mod.rs or a.rs) is crate::x; deeper, a sibling.
    depth = len(rel.parts) - (1 if rel.name == "mod.rs" else 0)
    if depth == 1:
        names |= uses(text, "super") & modules
    for name in names - {src}:
        edges.setdefault(src, set()).add(name)
    if src == "store":
        here = store_file(path)
        siblings = {store_file(p) for p in (root / "store").rglob("*.rs")}
        inner = set()
        if rel.name == "mod.rs" and len(rel.parts) == 2:
            inner = uses(text, "self") & siblings
        elif len(rel.parts) == 2:
            inner = uses(text, "super") & siblings
        else:  # store/x/y.rs: super is store/x, super::super the store
            inner = uses(text, r"super::super") & siblings
        inner |= uses(text, r"crate::store") & siblings
        for name in inner - {here}:
            store_edges.setdefault(here, set()).add(name)


def sccs(graph):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(set(graph) | {w for ws in graph.values() for w in ws}):
        if v not in index:
            visit(v)
    return out


def show(title, graph):
    print(f"## {title}")
    for src in sorted(graph):
        print(f"  {src} -> {', '.join(sorted(graph[src]))}")
    cycles = sccs(graph)
    print(f"  cycles: {'; '.join('{' + ', '.join(c) + '}' for c in cycles) or 'none'}")
    return cycles


show("shared/src: top-level modules", edges)
show("shared/src/store: files", store_edges)

lines = {}
for path in files:
    lines[top(path)] = lines.get(top(path), 0) + len(path.read_text().splitlines())
print("## lines per top-level module")
for name in sorted(lines):
    print(f"  {name}: {lines[name]}")
print(f"  total: {sum(lines.values())}")

broken = []
for layer in ("domain", "store"):
    bad = edges.get(layer, set()) & HTTP_EDGE
    if bad:
        broken.append(f"{layer} names the HTTP edge: {', '.join(sorted(bad))}")
for leaf in sorted(LEAVES):
    bad = edges.get(leaf, set()) - LEAVES
    if bad:
        broken.append(f"leaf {leaf} names {', '.join(sorted(bad))}")
for src, dsts in sorted(store_edges.items()):
    if src in STORE_BASE or src in STORE_ALL:
        continue
    bad = dsts - STORE_BASE
    if bad:
        broken.append(f"store aggregate {src} names {', '.join(sorted(bad))}")
print("## rules")
for line in broken or ["all hold"]:
    print(f"  {line}")
if check and broken:
    sys.exit(1)
