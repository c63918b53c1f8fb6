"""The package's floor plan holds: no import runs back up a layer, and no modules import each other in a
circle (docs/ARCHITECTURE.md). Read from the source with ast, nothing imported."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Top to bottom; a package may import its own layer and every layer below.
LAYERS = [
    {"scripts", "muzip.__main__"},
    {"muzip.cli"},
    {"muzip.restore", "muzip.library", "muzip.train", "muzip.evaluate", "muzip.scale"},
    {"muzip.codec"},
    {"muzip.nn"},
    {"muzip.runtime"},
    {"muzip.container", "muzip.audio", "muzip.outputs", "muzip.metrics", "muzip.errors", "muzip.defaults", "muzip"},
]


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path):
    """Modules of this tree that `path` imports (relative imports resolved; `from pkg import mod` -> pkg.mod)."""
    me = _module(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                base = ".".join(up + ([base] if base else []))
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            if name.split(".")[0] in ("muzip", "scripts"):
                yield name


def _files():
    return sorted(p for d in ("muzip", "scripts") for p in (ROOT / d).rglob("*.py"))


def _layer(module: str) -> int:
    best = None
    for rank, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[1]:
                    best = (rank, len(prefix))
    assert best is not None, f"{module} is in no layer: add it to LAYERS and docs/ARCHITECTURE.md"
    return best[0]


def _graph():
    known = {_module(p) for p in _files()}
    graph = {}
    for p in _files():
        me = _module(p)
        # a module importing its own package (`from . import x`) only reaches that package's face
        graph[me] = {m for m in _imports(p) if m in known and m != me and not me.startswith(m + ".")}
    return graph


def test_no_import_runs_back_up_a_layer():
    up = [(a, b) for a, deps in _graph().items() for b in deps if _layer(b) < _layer(a)]
    assert not up, f"imports that run back up: {up}"


def test_no_circles():
    graph, index, low, stack, on, circles = _graph(), {}, {}, [], set(), []

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
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
                circles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not circles, f"modules that import each other in a circle: {circles}"


def test_the_layer_check_sees_imports():
    # guards the two checks above against passing vacuously
    graph = _graph()
    assert "muzip.codec.latents" in graph["muzip.codec.decode"]
    assert "muzip.runtime.store" in graph["muzip.runtime.session"]
    assert len(graph) > 100
