"""The notebook model: cells parsed to ASTs (IPython lines neutralised), their statements, and how errors name a cell.

A cell that does not parse is left out whole, as Jupyter would not run it.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field

from autograder.notebook.colab import strip_ipython
from autograder.notebook.edits import Edit, apply_edits, char_col, node_start
from autograder.probe_error import ProbeError
from autograder.text import clean


class Cell:
    """A code cell that parsed: its number, the student's text, the lines parsed and their AST."""

    def __init__(self, number: int, original: str, lines: list[str], tree: ast.Module) -> None:
        self.number = number
        self.original = original
        self.lines = lines
        self.tree = tree

    def span(self, node: ast.stmt) -> tuple[tuple[int, int], tuple[int, int]]:
        """(line, char col) of the statement's start (its first decorator's '@') and end."""
        line, col = node_start(node)
        text = self.lines[line - 1]
        if col < 0:
            at = char_col(text, -col - 1)
            found = text.rfind("@", 0, at + 1)
            col_char = found if found >= 0 else at
        else:
            col_char = char_col(text, col)
        end_line = node.end_lineno
        return (line, col_char), (end_line, char_col(self.lines[end_line - 1], node.end_col_offset))

    def snippet(self, node: ast.stmt, edits: list[Edit]) -> str:
        """The statement's text with ``edits`` applied (its first line is the cell's ``span()[0][0]``)."""
        (sl, sc), (el, ec) = self.span(node)
        reference = self.lines[sl - 1 : el]
        lines = list(reference)
        lines[-1] = lines[-1][:ec]
        lines[0] = " " * sc + lines[0][sc:]  # same columns as ``reference``; stripped below
        shifted = [Edit((e.start[0] - sl + 1, e.start[1]), (e.end[0] - sl + 1, e.end[1]), e.text) for e in edits]
        lines = apply_edits(lines, shifted, reference)  # edits keep the line count
        lines[0] = lines[0][sc:]
        return "\n".join(lines) + "\n"


@dataclass
class Stmt:
    """A top-level statement of a cell, and whether (and as what text) the module keeps it."""

    cell: Cell
    node: ast.stmt
    kind: str  # import | def | assign | compound | drop (| constant, once kept as one)
    keep: bool = False
    text: str = ""  # the statement's source once kept (after the cut-down of a compound block)
    refs: set[str] = field(default_factory=set)

    @property
    def first_line(self) -> int:
        return self.cell.span(self.node)[0][0]


def cell_name(number: int, original: str) -> str:
    """How a student finds the cell: its position in the notebook and its first line of code."""
    first = next((line.strip() for line in original.split("\n") if line.strip() and not line.strip().startswith("#")), "")
    first = clean(first)  # the student's text: no control or escape sequences reach a message
    first = first if len(first) <= 50 else first[:47] + "..."
    return f"cell {number}" + (f" ({first})" if first else "")


def syntax_error(module: str, cell: int, exc: SyntaxError, original: str, offset: int = 0) -> ProbeError:
    """The ProbeError for a syntax error at line ``exc.lineno + offset`` of a cell."""
    lineno = exc.lineno + offset if exc.lineno else 0
    where = f"line {lineno}" if lineno else "unknown line"
    lines = original.split("\n")
    code = lines[lineno - 1].rstrip() if 0 < lineno <= len(lines) else (exc.text or "").rstrip()
    return ProbeError("syntax_error", f"{module}.ipynb, {cell_name(cell, original)}, {where}: {clean(exc.msg, 300)}", clean(code, 500))


def parse_cells(sources: list[tuple[int, str]], module: str) -> tuple[list[Cell], list[ProbeError]]:
    """The cells that parse, and a syntax error for each one that does not.

    A cell with a syntax error is left out whole, as Jupyter would not run it: only the
    definitions in that cell are lost (and the checks that need them), not the notebook.
    """
    cells, broken = [], []
    for number, original in sources:
        lines = strip_ipython(original)
        if lines is None:
            continue
        text = "\n".join(lines)
        try:
            tree = ast.parse(text, filename=f"{module}.ipynb, cell {number}")
        except SyntaxError as exc:
            broken.append(syntax_error(module, number, exc, original))
            continue
        except ValueError as exc:  # null bytes
            broken.append(ProbeError("syntax_error", f"{module}.ipynb, {cell_name(number, original)}: {exc}", ""))
            continue
        except (RecursionError, MemoryError):
            raise ProbeError("import_error", f"{module}.ipynb, cell {number} is nested too deeply to be read.") from None
        cells.append(Cell(number, original, lines, tree))
    if broken and not any(cell.tree.body for cell in cells):
        raise broken[0]  # nothing else to grade: the error is the whole story
    return cells, broken
