"""The Colab / IPython quirks of a cell: magics, shell escapes and help lines, and the CUDA to CPU rewrite.

The grader has no GPU and no IPython, so these lines are neutralised and CUDA calls point to the CPU.
"""
from __future__ import annotations

import ast
import re

from autograder.notebook.edits import Edit, with_newlines

# Cell magics whose body is ordinary Python (the magic only times / captures / profiles it).
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug"})

CUDA_STRING = re.compile(r"cuda(:\d+)?")

_ASSIGN_MAGIC = re.compile(r"^(\s*[A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*\s*=\s*)[!%]")
_HELP_LINE = re.compile(r"^(\?{1,2}[\w.]+(\(\))?|[\w.]+(\(\))?\?{1,2})\s*$")


def _scan(line: str, depth: int, quote: str | None) -> tuple[int, str | None, bool]:
    """Bracket depth, open string and backslash continuation after ``line`` (a light tokenizer)."""
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if quote:
            if c == "\\":
                if i + 1 >= n:
                    return depth, quote, True
                i += 2
                continue
            if line.startswith(quote, i):
                i += len(quote)
                quote = None
                continue
            i += 1
            continue
        if c == "#":
            break
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth = max(0, depth - 1)
        elif c in "'\"":
            quote = c * 3 if line.startswith(c * 3, i) else c
            i += len(quote)
            continue
        elif c == "\\" and i == n - 1:
            return depth, quote, True
        i += 1
    if quote is not None and len(quote) == 1:
        quote = None  # an unterminated one-line string: let the parser report it
    return depth, quote, False


def strip_ipython(source: str) -> list[str] | None:
    """The cell's lines with magics, shell escapes and help lines neutralised; None drops the cell.

    ``!cmd``, ``%magic`` and ``obj?`` lines become blank (``pass`` when indented), ``x = !cmd``
    becomes ``x = None``; a cell magic keeps its body only if it is one of PYTHON_CELL_MAGICS.
    """
    lines = source.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and lines[first].lstrip().startswith("%%"):
        words = lines[first].lstrip()[2:].split()
        if not words or words[0] not in PYTHON_CELL_MAGICS:
            return None
        lines[first] = ""
    depth, quote, cont = 0, None, False
    for i, line in enumerate(lines):
        if depth == 0 and quote is None and not cont:
            stripped = line.lstrip()
            indent = line[: len(line) - len(stripped)]
            filler = indent + "pass" if indent else ""
            if stripped.startswith(("!", "%")) or _HELP_LINE.match(stripped):
                lines[i] = filler
                continue
            assign = _ASSIGN_MAGIC.match(line)
            if assign:
                lines[i] = assign.group(1) + "None"
                continue
        depth, quote, cont = _scan(line, depth, quote)
    return lines


class _CudaEdits(ast.NodeVisitor):
    """Edits turning .cuda(...) into .cpu(), 'cuda'/'cuda:N' into 'cpu', torch.cuda.is_available() into False."""

    def __init__(self) -> None:
        self.edits: list[Edit] = []

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:  # f-string parts have unreliable positions
        return

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "cuda":
            name_start = (func.end_lineno, func.end_col_offset - 4)
            args_start = (func.end_lineno, func.end_col_offset)
            args_end = (node.end_lineno, node.end_col_offset)
            self.edits.append(Edit(name_start, args_start, "cpu"))
            self.edits.append(Edit(args_start, args_end, with_newlines("(", args_start, args_end, ")")))
            self.visit(func.value)
            return
        if (
            isinstance(func, ast.Attribute)
            and func.attr == "is_available"
            and not node.args
            and not node.keywords
            and (
                (isinstance(func.value, ast.Attribute) and func.value.attr == "cuda")
                or (isinstance(func.value, ast.Name) and func.value.id == "cuda")
            )
        ):
            start, end = (node.lineno, node.col_offset), (node.end_lineno, node.end_col_offset)
            self.edits.append(Edit(start, end, with_newlines("False", start, end)))
            return
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and CUDA_STRING.fullmatch(node.value):
            start, end = (node.lineno, node.col_offset), (node.end_lineno, node.end_col_offset)
            self.edits.append(Edit(start, end, with_newlines("'cpu'", start, end)))


def cuda_edits(node: ast.AST) -> list[Edit]:
    """The edits that make the statement ``node`` run on the CPU (applied only if the result compiles)."""
    finder = _CudaEdits()
    finder.visit(node)
    return finder.edits
