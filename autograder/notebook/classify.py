"""Which top-level statements the built module keeps: imports, defs, the assignments kept code needs, cheap constants.

Also cuts kept if/try/with blocks down to the statements worth keeping (the rest become ``pass``).
"""
from __future__ import annotations

import ast

from autograder.notebook.bindings import bindings, global_refs, has_top_level_await, is_constant, is_setattr, runs_notebook_code
from autograder.notebook.cells import Stmt
from autograder.notebook.edits import Edit, node_start, with_newlines

_COMPOUND = (ast.If, ast.Try, ast.With) + ((ast.TryStar,) if hasattr(ast, "TryStar") else ())
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_IMPORTS = (ast.Import, ast.ImportFrom)


def classify(node: ast.stmt) -> str:
    """The statement's kind: import, def, assign, compound (if/try/with) or drop."""
    if isinstance(node, _IMPORTS):
        return "import"
    if isinstance(node, _DEFS):
        return "def"
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) or is_setattr(node):
        return "assign"
    if isinstance(node, _COMPOUND):
        return "compound"
    return "drop"


def _assign_wanted(node: ast.stmt, needed: set[str], defined: set[str], functions: set[str]) -> bool:
    """Keep an assignment that rebinds a needed name or mutates a needed or notebook-defined object."""
    plain, mutated = bindings(node)
    if not (plain & needed or mutated & (needed | defined)):
        return False
    return not runs_notebook_code(node, functions) and not has_top_level_await(node)


def _wanted_inner(node: ast.stmt, needed: set[str], defined: set[str], functions: set[str]) -> bool:
    """Whether a statement nested in a kept if/try/with block stays (else it becomes ``pass``)."""
    kind = classify(node)
    if kind in ("import", "def"):
        return True
    if kind == "assign":
        return _assign_wanted(node, needed, defined, functions)
    if kind == "compound":
        return any(_wanted_inner(child, needed, defined, functions) for child in _compound_body(node))
    return False


def _bound_inside(node: ast.stmt) -> set[str]:
    """Every name an if/try/with block's (nested) assignments rebind or mutate."""
    names: set[str] = set()
    for child in _compound_body(node):
        kind = classify(child)
        if kind == "assign":
            plain, mutated = bindings(child)
            names |= plain | mutated
        elif kind == "compound":
            names |= _bound_inside(child)
    return names


def _compound_body(node: ast.stmt) -> list[ast.stmt]:
    body = list(node.body) + list(getattr(node, "orelse", [])) + list(getattr(node, "finalbody", []))
    for handler in getattr(node, "handlers", []):
        body += handler.body
    return body


def compound_edits(node: ast.stmt, needed: set[str], defined: set[str], functions: set[str]) -> list[Edit]:
    """Edits that replace the unwanted statements of a kept if/try/with block by ``pass``."""
    edits = []
    for child in _compound_body(node):
        if classify(child) == "compound" and _wanted_inner(child, needed, defined, functions):
            edits += compound_edits(child, needed, defined, functions)
        elif not _wanted_inner(child, needed, defined, functions):
            start = node_start(child)
            if start[1] < 0:  # a decorated statement is never dropped (defs are kept)
                continue
            end = (child.end_lineno, child.end_col_offset)
            edits.append(Edit(start, end, with_newlines("pass", start, end)))
    return edits


def select(stmts: list[Stmt]) -> tuple[set[str], set[str], set[str]]:
    """Mark the statements to keep; return (needed, defined, functions) for the final cut-downs.

    Imports and defs always stay. An assignment or an if/try/with block stays when the kept code
    needs a name it binds: a worklist over newly needed names, so each statement is looked at
    only when a name it binds becomes needed.
    """
    functions = {s.node.name for s in stmts if isinstance(s.node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    defined = {s.node.name for s in stmts if s.kind == "def"}
    needed: set[str] = set()
    queue: list[str] = []
    by_name: dict[str, list[Stmt]] = {}

    def need(names: set[str]) -> None:
        for name in names - needed:
            needed.add(name)
            queue.append(name)

    def consider(stmt: Stmt) -> None:
        if stmt.kind == "assign":
            if stmt.keep or not _assign_wanted(stmt.node, needed, defined, functions):
                return
            text = stmt.cell.snippet(stmt.node, [])
        else:  # compound
            if not _wanted_inner(stmt.node, needed, defined, functions) or has_top_level_await(stmt.node):
                return
            text = stmt.cell.snippet(stmt.node, compound_edits(stmt.node, needed, defined, functions))
            if stmt.keep and text == stmt.text:
                return
        stmt.keep, stmt.text = True, text
        stmt.refs = global_refs(text, stmt.node)
        need(stmt.refs)

    for stmt in stmts:
        if stmt.kind in ("import", "def"):
            stmt.keep = True
            stmt.text = stmt.cell.snippet(stmt.node, [])
            if stmt.kind == "def":
                stmt.refs = global_refs(stmt.text, stmt.node)
                need(stmt.refs)
        elif stmt.kind == "assign":
            plain, mutated = bindings(stmt.node)
            for name in plain | mutated:
                by_name.setdefault(name, []).append(stmt)
        elif stmt.kind == "compound":
            for name in _bound_inside(stmt.node):
                by_name.setdefault(name, []).append(stmt)
    for stmt in stmts:  # blocks holding imports or defs, and ``Class.method = f`` patches
        if stmt.kind == "compound" or (stmt.kind == "assign" and bindings(stmt.node)[1] & defined):
            consider(stmt)
    while queue:
        for stmt in by_name.get(queue.pop(), ()):
            consider(stmt)
    # Cheap constants (``pad = 57``, ``n_letters = len(all_letters)``) stay even when no kept
    # code reads them (a probe may); they run quietly and a failure is not reported.
    for stmt in stmts:
        if stmt.kind == "assign" and not stmt.keep and is_constant(stmt.node, defined):
            stmt.keep, stmt.kind = True, "constant"
            stmt.text = stmt.cell.snippet(stmt.node, [])
    return needed, defined, functions
