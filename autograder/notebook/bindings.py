"""What a top-level statement binds, mutates and loads, and whether it would run notebook code.

Parsing only: the names come from the AST and ``symtable``, nothing is executed.
"""
from __future__ import annotations

import ast
import re
import symtable
from collections.abc import Iterator

# Method names whose call in an assignment's value means "this trains or runs an experiment".
EXPENSIVE_METHOD = re.compile(r"^(train|fit$|run_|run$|sweep)", re.IGNORECASE)

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
_CONSTANT_CALLS = frozenset({"len", "str", "int", "float", "bool", "tuple", "list", "dict", "set", "frozenset", "range", "sorted", "min", "max", "abs", "round", "chr", "ord"})
_CONSTANT_NODES = (
    ast.Constant, ast.Name, ast.Load, ast.Attribute, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp,
    ast.Tuple, ast.List, ast.Set, ast.Dict, ast.Subscript, ast.Slice, ast.JoinedStr, ast.FormattedValue,
    ast.operator, ast.unaryop, ast.boolop, ast.cmpop, ast.keyword, ast.Starred,
)


def _target_names(target: ast.AST, plain: set[str], mutated: set[str]) -> None:
    """Sort a target's root names into rebound (``x = ...``) and mutated (``x.a = ...``, ``x[i] = ...``)."""
    if isinstance(target, ast.Name):
        plain.add(target.id)
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            _target_names(element, plain, mutated)
    elif isinstance(target, ast.Starred):
        _target_names(target.value, plain, mutated)
    else:
        while isinstance(target, (ast.Attribute, ast.Subscript)):
            target = target.value
        if isinstance(target, ast.Name):
            mutated.add(target.id)


def bindings(node: ast.stmt) -> tuple[set[str], set[str]]:
    """(names an assignment rebinds, names whose object it mutates)."""
    plain: set[str] = set()
    mutated: set[str] = set()
    if isinstance(node, ast.Assign):
        for target in node.targets:
            _target_names(target, plain, mutated)
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        _target_names(node.target, plain, mutated)
    elif is_setattr(node):
        _target_names(ast.Attribute(value=node.value.args[0], attr="x", ctx=ast.Store()), plain, mutated)
    return plain, mutated


def is_setattr(node: ast.stmt) -> bool:
    """Whether the statement is a ``setattr(X, name, value)`` call (it mutates X like an assignment)."""
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
        and node.value.func.id == "setattr"
        and len(node.value.args) == 3
    )


def _module_level_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """Nodes of ``node`` that run at module level (not inside functions, lambdas or class bodies)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        for child in ast.iter_child_nodes(current):
            if not isinstance(child, _SCOPES):
                stack.append(child)


def has_top_level_await(node: ast.AST) -> bool:
    """Whether running the statement at module level would await (a module cannot)."""
    return any(isinstance(n, (ast.Await, ast.AsyncFor, ast.AsyncWith)) for n in _module_level_nodes(node))


def runs_notebook_code(node: ast.stmt, functions: set[str]) -> bool:
    """Whether an assignment's value calls a notebook function or a training-like method."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            func = sub.func
            if isinstance(func, ast.Name) and func.id in functions:
                return True
            if isinstance(func, ast.Attribute) and EXPENSIVE_METHOD.match(func.attr):
                return True
    return False


def is_constant(node: ast.stmt, defined: set[str]) -> bool:
    """A plain ``NAME = <cheap expression>`` (literals, names, operators but ``@``, len/str/... calls)."""
    if isinstance(node, ast.Assign):
        targets, value = node.targets, node.value
    elif isinstance(node, ast.AnnAssign) and node.value is not None:
        targets, value = [node.target], node.value
    else:
        return False
    plain: set[str] = set()
    mutated: set[str] = set()
    for target in targets:
        _target_names(target, plain, mutated)
    if mutated or not plain or plain & defined:
        return False
    for sub in ast.walk(value):
        if isinstance(sub, ast.Call):
            if not (isinstance(sub.func, ast.Name) and sub.func.id in _CONSTANT_CALLS):
                return False
        elif not isinstance(sub, _CONSTANT_NODES) or isinstance(sub, ast.MatMult):
            return False
    return True


def global_refs(text: str, tree: ast.AST) -> set[str]:
    """Global names that running ``text`` (one or more module-level statements) may load."""
    try:
        table = symtable.symtable(text, "<notebook>", "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    names = {s.get_name() for s in table.get_symbols() if s.is_referenced()}
    stack = list(table.get_children())
    while stack:
        child = stack.pop()
        names.update(s.get_name() for s in child.get_symbols() if s.is_referenced() and s.is_global())
        stack.extend(child.get_children())
    return names


def import_bindings(node: ast.stmt) -> list:
    """What an import binds, for the one-by-one fallback: [kind, module, level, [(name, asname)]]."""
    if isinstance(node, ast.Import):
        return ["import", "", 0, [(a.name, a.asname) for a in node.names]]
    return ["from", node.module or "", node.level, [(a.name, a.asname) for a in node.names]]
