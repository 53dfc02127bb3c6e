"""The registries agree with each other: every probe a check calls exists, every rubric id has a
check and every check a rubric id, every message template is used, and the engine's imports
form no circle."""
from __future__ import annotations

import ast
import re
from pathlib import Path

from autograder import messages, rubric
from autograder.config import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "autograder"


def _sources(folder: Path) -> dict[Path, ast.Module]:
    return {p: ast.parse(p.read_text(encoding="utf-8"), str(p)) for p in sorted(folder.rglob("*.py")) if "__pycache__" not in p.parts}


def _called_probes() -> dict[str, list[str]]:
    """Probe names passed as a literal first argument to ``ctx.call`` / ``ctx.call_*`` in the checks."""
    found: dict[str, list[str]] = {}
    for path, tree in _sources(PACKAGE / "checks").items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr.startswith("call") and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str) and re.fullmatch(r"\d[a-z]?\.[\w.]+", first.value):
                    found.setdefault(first.value, []).append(f"{path.name}:{node.lineno}")
    return found


def test_every_probe_a_check_calls_is_registered():
    from autograder.probes import load_all, registry

    load_all()
    called = _called_probes()
    assert len(called) > 30, "the scan finds the checks' probe calls"
    missing = {name: where for name, where in called.items() if name not in registry.names()}
    assert not missing, f"checks call probes that no @probe registers: {missing}"


def test_every_rubric_check_has_a_function_and_every_function_a_rubric_entry():
    from autograder import checks

    ids = {c.id for c in rubric.load().checks}
    functions = set(checks.registry())
    assert ids - functions == set(), "rubric ids without a check function"
    assert functions - ids == set(), "check functions the rubric does not grade"


def test_every_message_template_is_used_somewhere():
    code = "\n".join(p.read_text(encoding="utf-8") for p in sorted(PACKAGE.rglob("*.py")) if "__pycache__" not in p.parts)
    unused = [key for key in messages.keys() if f'"{key}"' not in code and f"'{key}'" not in code]
    assert not unused, f"messages.toml templates nobody says: {unused}"


def _module_imports() -> dict[str, set[str]]:
    """Module -> the autograder modules it imports at module level (function-level imports are
    lazy on purpose: they break no start-up order and are not part of the layering)."""
    graph: dict[str, set[str]] = {}
    for path, tree in _sources(PACKAGE).items():
        name = ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts).removesuffix(".__init__")
        targets: set[str] = set()
        for node in tree.body:
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names if a.name.startswith("autograder")}
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("autograder") and node.level == 0:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    targets.add(full if (PROJECT_ROOT / Path(*full.split("."))).with_suffix(".py").exists() or (PROJECT_ROOT / Path(*full.split("."))).is_dir() else node.module)
        graph[name] = {t for t in targets if t != name}
    return graph


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every circle a depth-first walk of ``graph`` closes (each as the path round it)."""
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                cycles.append(trail[trail.index(target):] + [target])
            elif target in graph and not state.get(target):
                visit(target, trail + [target])
        state[node] = 2

    for start in sorted(graph):
        if not state.get(start):
            visit(start, [start])
    return cycles


def test_the_circle_finder_finds_a_circle():
    assert import_circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert import_circles({"a": {"b"}, "b": set()}) == []


def test_module_level_imports_form_no_circle():
    graph = _module_imports()
    assert "autograder.sandbox.worker" in graph["autograder.sandbox.supervisor"], "the scan resolves imports"
    cycles = import_circles(graph)
    assert not cycles, f"import circles: {cycles[:3]}"
