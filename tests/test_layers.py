"""The package's layers, read from its source (ast: nothing is imported).

Imports only go down: store < domain < worker < web < api, with the package's top
(minitwitter/__init__.py's main(), the console scripts) over them all and settings.py under
them all. No two modules import each other, even through others or inside a function. The
package never imports development code (tools/: minitwitter_tools, devservices), which is
not in the wheel.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "minitwitter"
# A module's layer is its first folder under the package; an import may only go to its own
# layer or a lower one. The second face (mastodon/) sits beside api/, on its floor; the two
# faces never import each other (test_faces_are_apart).
LAYERS = {"store": 1, "domain": 2, "worker": 3, "web": 4, "api": 5, "mastodon": 5}
FACES = ("api", "mastodon")
# The few modules outside the folders: settings under everything, the app factory and the
# console scripts over everything.
TOP_LEVEL = {"minitwitter.settings": 0, "minitwitter": 6, "minitwitter.scripts": 6}
DEVELOPMENT = ("minitwitter_tools", "minitwitter.devservices")


def _modules():
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] in ("sql", "migrations"):
            continue
        parts = ("minitwitter", *relative.with_suffix("").parts)
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _resolve(importer, node, name=None):
    """The package's module an import names (a submodule when `from x import sub` names one)."""
    if isinstance(node, ast.Import):
        return name
    base = node.module or ""
    if node.level:
        is_package = MODULES[importer].name == "__init__.py"
        anchor = importer.split(".")[: None if is_package else -1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join(anchor + ([node.module] if node.module else []))
    candidate = f"{base}.{name}" if name else base
    return candidate if candidate in MODULES else base


def _imports(module):
    """(line, imported module) for every import of the module, at any depth (lazy ones too)."""
    tree = ast.parse(MODULES[module].read_text(), str(MODULES[module]))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, _resolve(module, node, alias.name)
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                yield node.lineno, _resolve(module, node, alias.name)


GRAPH = {m: sorted({(line, target) for line, target in _imports(m)}) for m in MODULES}


def _layer(module):
    if module in TOP_LEVEL:
        return TOP_LEVEL[module]
    parts = module.split(".")
    if parts[1] in LAYERS:
        return LAYERS[parts[1]]
    return TOP_LEVEL.get(".".join(parts[:2]))


def _ours(target):
    return target == "minitwitter" or target.startswith("minitwitter.")


def test_every_module_is_in_a_layer():
    loose = [m for m in MODULES if _layer(m) is None]
    assert not loose, f"modules outside the layer folders ({', '.join(LAYERS)}): {loose}"


def test_imports_only_go_down():
    upward = []
    for module, imports in GRAPH.items():
        mine = _layer(module)
        for line, target in imports:
            theirs = _layer(target) if _ours(target) else None
            if mine is not None and theirs is not None and theirs > mine:
                upward.append(f"{MODULES[module].relative_to(PACKAGE.parent)}:{line} imports {target}")
    assert not upward, "imports that go up a layer (store < domain < worker < web < api, mastodon):\n" + "\n".join(
        upward
    )


def _face(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in FACES else None


def test_faces_are_apart():
    """Each face is a thin mapping over the core: neither imports the other."""
    crossing = [
        f"{MODULES[module].relative_to(PACKAGE.parent)}:{line} imports {target}"
        for module, imports in GRAPH.items()
        for line, target in imports
        if _ours(target) and _face(module) and _face(target) and _face(module) != _face(target)
    ]
    assert not crossing, "a face imports the other:\n" + "\n".join(crossing)


def _cycles():
    """Tarjan's strongly connected components of the import graph, those with a cycle."""
    edges = {m: {t for _, t in GRAPH[m] if t in MODULES and t != m} for m in MODULES}
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    return found


def test_no_import_cycles():
    cycles = _cycles()
    assert not cycles, "modules that import each other (directly or through others):\n" + "\n".join(
        " <-> ".join(c) for c in cycles
    )


def test_no_development_code_in_the_package():
    dev = [
        f"{MODULES[m].relative_to(PACKAGE.parent)}:{line} imports {target}"
        for m, imports in GRAPH.items()
        for line, target in imports
        if target.startswith(DEVELOPMENT)
    ]
    assert not dev, "the package imports development code (tools/), which the wheel lacks:\n" + "\n".join(dev)


@pytest.mark.parametrize(
    "source, problem",
    [
        ("from minitwitter.api.views import posts\n", "up"),
        ("from minitwitter_tools.devservices import free_port\n", "dev"),
    ],
)
def test_the_checks_catch_what_they_guard(source, problem):
    """The walk sees an import written in a store module (a lazy one too)."""
    tree = ast.parse(f"def later():\n    {source}")
    node = next(n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom))
    target = _resolve("minitwitter.store.db", node, node.names[0].name)
    if problem == "up":
        assert _layer(target) > _layer("minitwitter.store.db")
    else:
        assert target.startswith(DEVELOPMENT)
