"""minicnn's modules import one another one way only: no cycle, not even inside a function.

The graph is read from the source with ``ast`` (every ``import`` and ``from ... import``
anywhere in a file, at the top or inside a function), not from ``sys.modules``, so an
import that only runs on some path still counts. A package's ``__init__`` is the node
``minicnn.kernels``; its submodules are nodes of their own.
"""

from pathlib import Path

import ast

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "minicnn"


def module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path, modules):
    """The minicnn modules that ``path`` imports, anywhere in the file."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            # "from a import b" imports the module a.b when b is one, else a itself.
            targets = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source
                       for alias in node.names]
        else:
            continue
        found.update(t for t in targets if t in modules and t != name)
    return found


def module_graph():
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    return {module_name(p): imports_of(p, modules) for p in paths}


def find_cycle(graph):
    """One cycle of ``graph`` (a list of nodes, first == last), or None."""
    state = {}  # node -> "open" while on the current path, "done" once fully explored

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [node, nxt] if nxt in path else [node, nxt]
            if nxt not in state:
                cycle = visit(nxt, path + [node])
                if cycle:
                    return cycle
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start, [])
            if cycle:
                return cycle
    return None


def test_the_checker_sees_cycles_and_function_level_imports(tmp_path):
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    hidden = tmp_path / "minicnn" / "x.py"
    hidden.parent.mkdir()
    hidden.write_text("def f():\n    from . import y\n    from .z import g\n")
    global ROOT
    root, ROOT = ROOT, tmp_path
    try:
        assert imports_of(hidden, {"minicnn.x", "minicnn.y", "minicnn.z"}) == {"minicnn.y", "minicnn.z"}
    finally:
        ROOT = root


def test_minicnn_has_no_import_cycle():
    graph = module_graph()
    assert "minicnn.kernels.im2col" in graph["minicnn.layers.conv"] or \
        "minicnn.kernels" in graph["minicnn.layers.conv"]  # the graph is really read
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_explain_and_plots_import_one_way_and_layers_stay_plain():
    graph = module_graph()
    assert "minicnn.plots" not in graph["minicnn.explain"]
    for name, imported in graph.items():
        if name.startswith("minicnn.layers"):
            assert "minicnn.kernels.workspace" not in imported, name
    for path in (PACKAGE / "layers").glob("*.py"):
        tree = ast.parse(path.read_text())
        modules = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                   for alias in node.names}
        modules |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert "numba" not in modules and "workspace" not in str(modules), path
