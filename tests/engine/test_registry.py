"""The registries agree with each other (every probe a check calls exists, every rubric id has a
check and every check a rubric id, every message template is used), and the engine's imports
flow one way: no circle, no import up a layer, no import or mention of the assignment it grades."""
from __future__ import annotations

import ast
import re
from pathlib import Path

from autograder import assignment, messages, rubric
from autograder.config import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "autograder"
TASK = assignment.current()

# Who may import whom: a module imports only from its own layer or one below. The assignment
# is a plug-in: the engine imports it by the names its manifest gives, never by a name
# written in the engine, and the sandbox is handed its payload instead of importing it.
LAYERS = (
    ("foundations", ("autograder", "autograder.errors", "autograder.text", "autograder.walk", "autograder.results", "autograder.memory",
                     "autograder.config", "autograder.secrets", "autograder.protocol", "autograder.messages", "autograder.installcheck",
                     "autograder.assignment", "autograder.rubric", "autograder.probe_error", "autograder.calibration")),
    ("intake and notebooks", ("autograder.intake", "autograder.notebook")),
    ("sandbox", ("autograder.sandbox",)),
    ("probe side", ("autograder.probes",)),
    ("check side", ("autograder.checks",)),
    ("services", ("autograder.runner", "autograder.diagnosis", "autograder.plots", "autograder.class_view", "autograder.report", "autograder.pack", "autograder.kit", "autograder.batch", "autograder.verify")),
    ("command line", ("autograder.cli", "autograder.__main__")),
)


def _sources(folder: Path) -> dict[Path, ast.Module]:
    return {p: ast.parse(p.read_text(encoding="utf-8"), str(p)) for p in sorted(folder.rglob("*.py")) if "__pycache__" not in p.parts}


def _called_probes() -> dict[str, list[str]]:
    """Probe names passed as a literal first argument to ``ctx.call`` / ``ctx.call_*`` in the checks."""
    found: dict[str, list[str]] = {}
    for path, tree in _sources(TASK.folder / "checks").items():
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
    files = [*PACKAGE.rglob("*.py"), *TASK.folder.rglob("*.py")]
    code = "\n".join(p.read_text(encoding="utf-8") for p in sorted(files) if "__pycache__" not in p.parts and "catalogue" not in p.parts)
    unused = [key for key in messages.keys() if f'"{key}"' not in code and f"'{key}'" not in code]
    assert not unused, f"messages.toml templates nobody says: {unused}"


def layer_of(module: str) -> int:
    best = None
    for rank, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or (prefix != "autograder" and module.startswith(prefix + ".")):
                if best is None or len(prefix) > best[1]:
                    best = (rank, len(prefix))
    assert best is not None, f"{module} belongs to no layer: add it to LAYERS in {__file__}"
    return best[0]


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts).removesuffix(".__init__")


def _resolve(module: str, name: str) -> str:
    """``from autograder.x import y``: the module ``autograder.x.y`` if there is one, else ``autograder.x``."""
    full = f"{module}.{name}"
    as_path = PROJECT_ROOT / Path(*full.split("."))
    return full if as_path.with_suffix(".py").exists() or as_path.is_dir() else module


def _imports(tree: ast.Module, at_module_level_only: bool) -> list[tuple[int, str]]:
    """(line, module) of every absolute import in ``tree``: at module level, or anywhere (inside functions too)."""
    nodes = tree.body if at_module_level_only else list(ast.walk(tree))
    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.lineno, _resolve(node.module, a.name) if node.module.startswith("autograder") else node.module) for a in node.names]
    return found


def _module_imports(at_module_level_only: bool = False) -> dict[str, set[str]]:
    """Module -> the engine modules it imports."""
    graph: dict[str, set[str]] = {}
    for path, tree in _sources(PACKAGE).items():
        name = _module_name(path)
        graph[name] = {t for _, t in _imports(tree, at_module_level_only) if t.startswith("autograder") and t != name}
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


def test_the_layer_check_sees_an_upward_import():
    assert layer_of("autograder.sandbox.worker") < layer_of("autograder.probes.registry")
    tree = ast.parse("def f():\n    from autograder.probes import registry\n")
    assert _imports(tree, at_module_level_only=False) == [(2, "autograder.probes.registry")]
    assert _imports(tree, at_module_level_only=True) == []


def test_the_engines_imports_form_no_circle_even_inside_functions():
    graph = _module_imports()
    assert "autograder.sandbox.worker" in graph["autograder.sandbox.supervisor"], "the scan resolves imports"
    assert "autograder.notebook" in graph["autograder.probes.registry"], "the scan sees imports inside functions"
    cycles = import_circles(graph)
    assert not cycles, f"import circles: {cycles[:3]}"


def test_no_engine_module_imports_from_a_layer_above_its_own():
    upward = []
    for path, tree in _sources(PACKAGE).items():
        name = _module_name(path)
        for line, target in _imports(tree, at_module_level_only=False):
            if target.startswith("autograder") and layer_of(target) > layer_of(name):
                upward.append(f"{path.relative_to(PROJECT_ROOT)}:{line} ({LAYERS[layer_of(name)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})")
    assert not upward, "imports up a layer:\n" + "\n".join(upward)


def test_the_sandbox_never_imports_what_it_serves():
    for path, tree in _sources(PACKAGE / "sandbox").items():
        served = [t for _, t in _imports(tree, at_module_level_only=False) if t.startswith(("autograder.probes", "autograder.checks"))]
        assert not served, f"{path.name} imports {served}: the payload is installed (autograder.sandbox.payload), not imported"


def test_the_engine_imports_no_assignment_and_names_none():
    """No import of the assignment's package, modules or reference; and no word of them in any engine file."""
    words = {TASK.package, TASK.reference.name, *TASK.module_names}
    for path, tree in _sources(PACKAGE).items():
        for line, target in _imports(tree, at_module_level_only=False):
            assert target.split(".")[0] not in words, f"{path.relative_to(PROJECT_ROOT)}:{line} imports {target}"
    named = []
    for path in sorted(PACKAGE.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            text = path.read_text(encoding="utf-8").lower()
            named += [f"{path.relative_to(PROJECT_ROOT)}: {w}" for w in sorted(words - {"reference"}) if w.lower() in text]
    assert not named, f"the engine names the assignment: {named}"


def test_no_engine_file_is_over_400_lines_without_saying_why():
    """A longer module states its reason in its docstring, with the words "longer than 400 lines"."""
    long = []
    for path, tree in _sources(PACKAGE).items():
        lines = path.read_text(encoding="utf-8").count("\n")
        if lines > 400 and "longer than 400 lines" not in (ast.get_docstring(tree) or ""):
            long.append(f"{path.relative_to(PROJECT_ROOT)} ({lines} lines)")
    assert not long, f"engine files over 400 lines without a reason: {long}"
