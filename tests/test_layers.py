"""The package's layers, read from its import graph: nothing imports a higher layer, and no import cycles.

Every ``import`` counts, also those inside functions (they are late, not absent). The layers are the ones the
package's docstring lists (``src/llmft/__init__.py``).
"""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
LAYERS = [
    ("configuration", ("llmft", "llmft.cases", "llmft.profiles", "llmft.runtime", "llmft.cache")),
    ("foundations", ("llmft.foundations",)),
    ("data", ("llmft.data",)),
    ("models", ("llmft.models",)),
    ("training", ("llmft.training",)),
    ("evaluation", ("llmft.evaluation",)),
    ("report", ("llmft.report",)),
    ("studies", ("llmft.studies",)),
    ("serve", ("llmft.serve",)),
    ("entry points", ("llmft.cli", "llmft.colab", "llmft.gpucheck")),
]


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted((SRC / "llmft").rglob("*.py"))}


def layer(module: str) -> int:
    best = (-1, -1)
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best[1]:
                best = (index, len(prefix))
    assert best[0] >= 0, f"{module} belongs to no layer: add it to LAYERS and to the package docstring"
    return best[0]


def imports(module: str) -> set[str]:
    """The llmft modules that ``module`` imports (``from llmft.x import y`` counts as llmft.x.y where y is a module)."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "llmft":
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in MODULES else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "llmft"}
    found.discard(module)
    return found


GRAPH = {m: imports(m) for m in MODULES}


def test_the_graph_is_read():
    assert len(MODULES) > 40 and sum(len(v) for v in GRAPH.values()) > 60
    assert "llmft.evaluation.metrics" in GRAPH["llmft.evaluation"]  # a plain `from ... import` is seen


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_a_higher_layer(module):
    upward = [f"{target} ({LAYERS[layer(target)][0]})" for target in sorted(GRAPH[module]) if layer(target) > layer(module)]
    assert not upward, f"{module} ({LAYERS[layer(module)][0]}) imports a higher layer: {', '.join(upward)}"


def test_no_import_cycles():
    state: dict[str, int] = {}  # 1 on the path, 2 done

    def visit(module, path):
        state[module] = 1
        for target in sorted(GRAPH[module]):
            if target not in GRAPH:
                continue
            if state.get(target) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path[path.index(target):] + [target]))
            if not state.get(target):
                visit(target, path + [target])
        state[module] = 2

    for module in sorted(GRAPH):
        if not state.get(module):
            visit(module, [module])


def test_the_checker_sees_an_upward_import(monkeypatch):
    monkeypatch.setitem(GRAPH, "llmft.data.text", {"llmft.report.results"})
    with pytest.raises(AssertionError, match="imports a higher layer"):
        test_no_module_imports_a_higher_layer("llmft.data.text")
