"""Building the module's source from a notebook: the kept statements, compile-checked and CUDA-rewritten, as steps for the runtime.

The result embeds ``runtime.py``'s text and one call to it with the cells, notes and steps.
"""
from __future__ import annotations

import __future__ as _future
import ast
from pathlib import Path

from autograder.notebook.bindings import import_bindings
from autograder.notebook.cells import Cell, Stmt, parse_cells, syntax_error
from autograder.notebook.classify import classify, compound_edits, select
from autograder.notebook.colab import cuda_edits
from autograder.notebook.parsing import code_cells
from autograder.probe_error import ProbeError


def _runtime_text() -> str:
    """runtime.py from its ``def`` on, as each generated module embeds it (read once, before workers fork)."""
    source = Path(__file__).with_name("runtime.py").read_text(encoding="utf-8")
    return "\n" + source[source.index("\ndef ") + 1 :].rstrip("\n") + "\n\n"


_RUNTIME = _runtime_text()


def _label(node: ast.stmt, cell: Cell) -> str:
    if isinstance(node, ast.ClassDef):
        return f"class {node.name}"
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return f"def {node.name}"
    first = cell.lines[node.lineno - 1].strip()
    return first if len(first) <= 60 else first[:57] + "..."


def _compiles(text: str, name: str, flags: int) -> SyntaxError | None:
    try:
        compile(text, name, "exec", flags, dont_inherit=True)
    except SyntaxError as exc:
        return exc
    except (ValueError, RecursionError, MemoryError) as exc:
        return SyntaxError(str(exc) or type(exc).__name__)
    return None


def module_source(raw: bytes, module: str) -> str:
    """Python source for ``module`` built from the notebook ``raw`` (see the package docstring)."""
    try:
        return _module_source(raw, module)
    except ProbeError:
        raise
    except (RecursionError, MemoryError):
        raise ProbeError("import_error", f"{module}.ipynb is too large or too deeply nested to be read.") from None
    except Exception as exc:  # a bug here must not read as the student's import error
        raise ProbeError("grader", f"could not read {module}.ipynb ({type(exc).__name__}: {exc})") from None


def _module_source(raw: bytes, module: str) -> str:
    cells, broken = parse_cells(code_cells(raw, module), module)
    notes = [f"{error}: {error.detail.strip()!r}; that cell is skipped (Jupyter would not run it), so what it defines is missing" for error in broken]
    stmts = [Stmt(cell, node, classify(node)) for cell in cells for node in cell.tree.body]
    needed, defined, functions = select(stmts)

    # The steps: compile-check each kept statement (reporting the student's syntax errors with
    # cell and line), then apply the CUDA rewrite where the result still compiles.
    flags = 0
    steps = []
    used_cells: dict[int, str] = {}
    for stmt in stmts:
        if not stmt.keep:
            continue
        cell, first = stmt.cell, stmt.first_line
        name = f"{module}.ipynb, cell {cell.number}"
        error = _compiles(stmt.text, name, flags)
        if error is not None:
            if stmt.kind != "compound":  # a compound block cut down here: the student's own code parsed
                bad = syntax_error(module, cell.number, error, cell.original, first - 1)
                notes.append(f"{bad}: {bad.detail.strip()!r}; {_label(stmt.node, cell)} is skipped")
            continue
        text = stmt.text
        if stmt.kind != "import":
            base = compound_edits(stmt.node, needed, defined, functions) if stmt.kind == "compound" else []
            rewritten = cell.snippet(stmt.node, base + cuda_edits(stmt.node))
            if rewritten != text and _compiles(rewritten, name, flags) is None:
                text = rewritten
        imported = import_bindings(stmt.node) if stmt.kind == "import" else None
        steps.append((cell.number, first, stmt.kind, flags, text, _label(stmt.node, cell), imported))
        used_cells[cell.number] = cell.original
        if isinstance(stmt.node, ast.ImportFrom) and stmt.node.module == "__future__":
            for alias in stmt.node.names:
                feature = getattr(_future, alias.name, None)
                if isinstance(feature, _future._Feature):
                    flags |= feature.compiler_flag

    header = (
        f"# Module {module}, built by autograder/notebook/ from {module}.ipynb.\n"
        "# Each kept statement is compiled on its own as '<notebook>, cell N' at its line in the cell.\n"
    )
    return (
        header
        + _RUNTIME
        + "__autograder_notebook__(\n    "
        + repr(used_cells)
        + ",\n    "
        + repr(notes)
        + ",\n    [\n"
        + "".join(f"        {step!r},\n" for step in steps)
        + "    ],\n)\n"
        + "del __autograder_notebook__\n"
    )
