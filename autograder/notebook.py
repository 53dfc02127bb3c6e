"""Build a homework module from a Jupyter notebook, by parsing only (json + ast; nothing is run here).

``module_source(raw, module)`` returns Python source that ``registry.student()`` compiles
(filename = the notebook's path) and executes as the module. What it keeps:

* every ``import`` / ``from ... import`` statement, each run on its own: if it fails
  (``google.colab``, ``ipywidgets``, ``tqdm.notebook`` ... are not installed here), the names it
  would bind are imported one by one where possible, and the rest are bound to a harmless
  ``Unavailable`` placeholder (attribute access and calls give placeholders, calling it with a
  single argument returns that argument, so ``tqdm(range(3))`` and ``@jit`` still work);
  a name an earlier cell bound successfully is never replaced by a placeholder;
* every ``def`` and ``class`` statement, in notebook order (a later definition wins);
* module-level assignments (``=``, ``+=``, annotated, ``setattr(X, ...)``) that the kept code
  needs: those rebinding a global name that a kept function or class loads (found with
  ``symtable``, so locals and parameters do not count), transitively through the kept
  assignments (``n_letters = len(all_letters)`` keeps ``all_letters = ...``), and those
  mutating such a name or a notebook-defined function or class (``RNNLayer.forward = forward``).
  An assignment that would run notebook code at import time is never kept this way: its value
  calls a function the notebook defines (``losses = train(model, ...)``) or a method named like
  ``train*`` / ``fit`` / ``run_*`` / ``sweep*``;
* cheap constants even when no kept code reads them (a probe may): ``NAME = <expression of
  literals, names, operators but @, and len/str/int/... calls>``, unless NAME is a function or
  class the notebook defines; these run quietly (a failure is not reported);
* top-level ``if`` / ``try`` / ``with`` blocks that hold any of the above (e.g.
  ``try: from google.colab import drive`` / ``except ImportError: ...``, or
  ``if torch.cuda.is_available(): device = ...``), with every other statement in them
  replaced by ``pass``.

Everything else at the top level (calls, loops, training, plots, downloads) is dropped.
Shell (``!cmd``, ``x = !cmd``), line-magic (``%matplotlib inline``) and help (``obj?``) lines
become blank (or ``pass`` when indented); a cell starting with ``%%time``, ``%%timeit``,
``%%capture``, ``%%prun`` or ``%%debug`` keeps its Python body, a cell with any other cell
magic (``%%bash``, ``%%writefile``, ``%%html`` ...) is dropped whole.

CUDA: in kept code ``x.cuda(...)`` becomes ``x.cpu()``, the string constants ``'cuda'`` and
``'cuda:N'`` become ``'cpu'`` and ``torch.cuda.is_available()`` becomes ``False``. The rewrite
is found with an AST visitor and applied to the source text at the nodes' positions, so that
comments and line numbers stay as the student wrote them (a statement whose rewrite would
not compile is kept unrewritten).

Line numbers: each kept statement is compiled separately, at run time of the generated module,
under the file name ``"<notebook path>, cell N"`` (N = the code cell's number, 1-based, counting
every code cell), with its line numbers shifted (``ast.increment_lineno``) to the cell's own. A traceback from
student code therefore reads ``File ".../q_rnn_and_grad.ipynb, cell 7", line 12, in forward``,
and the generated module registers each cell's text with ``linecache`` so the line itself is
shown. A kept statement that raises when run (a class whose base failed to import, an
assignment reading a missing data file) does not abort the module: a one-line note naming the
cell and line is printed (the grader shows it with the check's message) and loading goes on.

Errors: a cell that does not parse, or a kept statement that does not compile, raises
``ProbeError("syntax_error", "<module>.ipynb, cell N, line L: <msg>", "<offending line>")``;
a file that is not a notebook (not JSON, no cells, no code) or is too large raises
``ProbeError("import_error", ...)``.
"""
from __future__ import annotations

import __future__ as _future
import ast
import json
import re
import symtable
from dataclasses import dataclass, field

from autograder.probes.registry import ProbeError
from autograder.text import clean

MAX_NOTEBOOK_BYTES = 32 * 1024 * 1024  # the whole .ipynb, outputs and images included
MAX_CODE_CHARS = 2 * 1024 * 1024  # code in all code cells together
MAX_CODE_CELLS = 3000

# Cell magics whose body is ordinary Python (the magic only times / captures / profiles it).
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug"})

# Method names whose call in an assignment's value means "this trains or runs an experiment".
EXPENSIVE_METHOD = re.compile(r"^(train|fit$|run_|run$|sweep)", re.IGNORECASE)
CUDA_STRING = re.compile(r"cuda(:\d+)?")

_ASSIGN_MAGIC = re.compile(r"^(\s*[A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*\s*=\s*)[!%]")
_HELP_LINE = re.compile(r"^(\?{1,2}[\w.]+(\(\))?|[\w.]+(\(\))?\?{1,2})\s*$")
_COMPOUND = (ast.If, ast.Try, ast.With) + ((ast.TryStar,) if hasattr(ast, "TryStar") else ())
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_IMPORTS = (ast.Import, ast.ImportFrom)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


# --------------------------------------------------------------------------- reading the file
def _code_cells(raw: bytes, module: str) -> list[tuple[int, str]]:
    """(position among all cells, 1-based, as the notebook shows it; source) of every code cell, in order (nbformat 4, or 3 with worksheets)."""
    name = f"{module}.ipynb"

    def bad(why: str) -> ProbeError:
        return ProbeError("import_error", f"{name} is not a readable Jupyter notebook: {why}")

    if not isinstance(raw, (bytes, bytearray)):
        raise bad("expected the file's bytes")
    if len(raw) > MAX_NOTEBOOK_BYTES:
        raise ProbeError("import_error", f"{name} is {len(raw)} bytes; notebooks over {MAX_NOTEBOOK_BYTES // 2**20} MB are not graded (clear the outputs).")
    try:
        data = json.loads(bytes(raw).decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise bad(f"it is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise bad(f"it is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except (RecursionError, MemoryError, ValueError) as exc:
        raise bad(f"it is not valid JSON ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise bad("the top level is not a JSON object")
    cells = data.get("cells")
    source_key = "source"
    if cells is None and isinstance(data.get("worksheets"), list):  # nbformat 3
        cells = [c for ws in data["worksheets"] if isinstance(ws, dict) for c in (ws.get("cells") or [])]
        source_key = "input"
    if not isinstance(cells, list):
        raise bad('it has no "cells" list')
    if not cells:
        raise bad("it has no cells")
    out: list[tuple[int, str]] = []
    total = 0
    for index, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict):
            raise bad(f"cell {index} is not a JSON object")
        if cell.get("cell_type") != "code":
            continue
        source = cell.get(source_key, cell.get("source", ""))
        if isinstance(source, list):
            if not all(isinstance(part, str) for part in source):
                raise bad(f"cell {index} has a source that is not text")
            source = "".join(source)
        elif not isinstance(source, str):
            raise bad(f"cell {index} has a source that is not text")
        total += len(source)
        if total > MAX_CODE_CHARS:
            raise ProbeError("import_error", f"{name} holds more than {MAX_CODE_CHARS // 2**20} MB of code; it is not graded.")
        out.append((index, source.replace("\r\n", "\n").replace("\r", "\n")))
        if len(out) > MAX_CODE_CELLS:
            raise ProbeError("import_error", f"{name} has more than {MAX_CODE_CELLS} code cells; it is not graded.")
    if not out:
        raise bad("it has no code cells")
    return out


# --------------------------------------------------------------------------- IPython syntax
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


def _strip_ipython(source: str) -> list[str] | None:
    """The cell's lines with magics, shell escapes and help lines neutralised; None drops the cell."""
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


# --------------------------------------------------------------------------- positions and edits
def _char_col(line: str, byte_col: int) -> int:
    """AST columns count UTF-8 bytes; convert to a character index into ``line``."""
    if line.isascii():
        return byte_col
    return len(line.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))


@dataclass
class _Edit:
    start: tuple[int, int]  # (line, byte col)
    end: tuple[int, int]
    text: str  # replacement; the line count of the span is preserved


def _node_start(node: ast.stmt) -> tuple[int, int]:
    decorators = getattr(node, "decorator_list", None)
    if decorators:
        first = min(decorators, key=lambda d: (d.lineno, d.col_offset))
        return first.lineno, -first.col_offset - 1  # negative: find the '@' before this column
    return node.lineno, node.col_offset


def _with_newlines(text: str, start: tuple[int, int], end: tuple[int, int], closing: str = "") -> str:
    return text + "\n" * (end[0] - start[0]) + closing


class _CudaEdits(ast.NodeVisitor):
    """Edits turning .cuda(...) into .cpu(), 'cuda'/'cuda:N' into 'cpu', torch.cuda.is_available() into False."""

    def __init__(self) -> None:
        self.edits: list[_Edit] = []

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:  # f-string parts have unreliable positions
        return

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "cuda":
            name_start = (func.end_lineno, func.end_col_offset - 4)
            args_start = (func.end_lineno, func.end_col_offset)
            args_end = (node.end_lineno, node.end_col_offset)
            self.edits.append(_Edit(name_start, args_start, "cpu"))
            self.edits.append(_Edit(args_start, args_end, _with_newlines("(", args_start, args_end, ")")))
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
            self.edits.append(_Edit(start, end, _with_newlines("False", start, end)))
            return
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and CUDA_STRING.fullmatch(node.value):
            start, end = (node.lineno, node.col_offset), (node.end_lineno, node.end_col_offset)
            self.edits.append(_Edit(start, end, _with_newlines("'cpu'", start, end)))


def _cuda_edits(node: ast.AST) -> list[_Edit]:
    finder = _CudaEdits()
    finder.visit(node)
    return finder.edits


def _apply(lines: list[str], edits: list[_Edit], reference: list[str]) -> list[str]:
    """Apply non-overlapping edits (outer ones, then earlier ones, win) to a copy of ``lines``.

    Edit columns are UTF-8 byte offsets into ``reference`` (the lines the AST was parsed from).
    """
    lines = list(lines)
    spans = []
    for edit in edits:
        (sl, sb), (el, eb) = edit.start, edit.end
        spans.append(((sl, _char_col(reference[sl - 1], sb)), (el, _char_col(reference[el - 1], eb)), edit.text))
    spans.sort(key=lambda s: (s[0], (-s[1][0], -s[1][1])))  # stable: on equal spans the first edit wins
    kept = []
    last_end = (0, -1)
    for span in spans:
        if span[0] >= last_end:
            kept.append(span)
            last_end = span[1]
    for (sl, sc), (el, ec), text in reversed(kept):
        before, after = lines[sl - 1][:sc], lines[el - 1][ec:]
        new = (before + text + after).split("\n")
        lines[sl - 1 : el] = new
    return lines


# --------------------------------------------------------------------------- analysis helpers
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


def _bindings(node: ast.stmt) -> tuple[set[str], set[str]]:
    """(names an assignment rebinds, names whose object it mutates)."""
    plain: set[str] = set()
    mutated: set[str] = set()
    if isinstance(node, ast.Assign):
        for target in node.targets:
            _target_names(target, plain, mutated)
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        _target_names(node.target, plain, mutated)
    elif _is_setattr(node):
        _target_names(ast.Attribute(value=node.value.args[0], attr="x", ctx=ast.Store()), plain, mutated)
    return plain, mutated


def _is_setattr(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
        and node.value.func.id == "setattr"
        and len(node.value.args) == 3
    )


def _module_level_nodes(node: ast.AST):
    """Nodes of ``node`` that run at module level (not inside functions, lambdas or class bodies)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        for child in ast.iter_child_nodes(current):
            if not isinstance(child, _SCOPES):
                stack.append(child)


def _has_top_level_await(node: ast.AST) -> bool:
    return any(isinstance(n, (ast.Await, ast.AsyncFor, ast.AsyncWith)) for n in _module_level_nodes(node))


def _runs_notebook_code(node: ast.stmt, functions: set[str]) -> bool:
    """Whether an assignment's value calls a notebook function or a training-like method."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            func = sub.func
            if isinstance(func, ast.Name) and func.id in functions:
                return True
            if isinstance(func, ast.Attribute) and EXPENSIVE_METHOD.match(func.attr):
                return True
    return False


_CONSTANT_CALLS = frozenset({"len", "str", "int", "float", "bool", "tuple", "list", "dict", "set", "frozenset", "range", "sorted", "min", "max", "abs", "round", "chr", "ord"})
_CONSTANT_NODES = (
    ast.Constant, ast.Name, ast.Load, ast.Attribute, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp,
    ast.Tuple, ast.List, ast.Set, ast.Dict, ast.Subscript, ast.Slice, ast.JoinedStr, ast.FormattedValue,
    ast.operator, ast.unaryop, ast.boolop, ast.cmpop, ast.keyword, ast.Starred,
)


def _is_constant(node: ast.stmt, defined: set[str]) -> bool:
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


def _global_refs(text: str, tree: ast.AST) -> set[str]:
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


def _import_bindings(node: ast.stmt) -> list:
    """What an import binds, for the one-by-one fallback: [kind, module, level, [(name, asname)]]."""
    if isinstance(node, ast.Import):
        return ["import", "", 0, [(a.name, a.asname) for a in node.names]]
    return ["from", node.module or "", node.level, [(a.name, a.asname) for a in node.names]]


# --------------------------------------------------------------------------- the notebook model
@dataclass
class _Stmt:
    cell: "_Cell"
    node: ast.stmt
    kind: str  # import | def | assign | compound | drop (| constant, once kept as one)
    keep: bool = False
    text: str = ""  # the statement's source once kept (after the cut-down of a compound block)
    refs: set[str] = field(default_factory=set)

    @property
    def first_line(self) -> int:
        return self.cell.span(self.node)[0][0]


class _Cell:
    def __init__(self, number: int, original: str, lines: list[str], tree: ast.Module) -> None:
        self.number = number
        self.original = original
        self.lines = lines
        self.tree = tree

    def span(self, node: ast.stmt) -> tuple[tuple[int, int], tuple[int, int]]:
        """(line, char col) of the statement's start (its first decorator's '@') and end."""
        line, col = _node_start(node)
        text = self.lines[line - 1]
        if col < 0:
            at = _char_col(text, -col - 1)
            found = text.rfind("@", 0, at + 1)
            col_char = found if found >= 0 else at
        else:
            col_char = _char_col(text, col)
        end_line = node.end_lineno
        return (line, col_char), (end_line, _char_col(self.lines[end_line - 1], node.end_col_offset))

    def snippet(self, node: ast.stmt, edits: list[_Edit]) -> str:
        """The statement's text with ``edits`` applied (its first line is the cell's ``span()[0][0]``)."""
        (sl, sc), (el, ec) = self.span(node)
        reference = self.lines[sl - 1 : el]
        lines = list(reference)
        lines[-1] = lines[-1][:ec]
        lines[0] = " " * sc + lines[0][sc:]  # same columns as ``reference``; stripped below
        shifted = [_Edit((e.start[0] - sl + 1, e.start[1]), (e.end[0] - sl + 1, e.end[1]), e.text) for e in edits]
        lines = _apply(lines, shifted, reference)  # edits keep the line count
        lines[0] = lines[0][sc:]
        return "\n".join(lines) + "\n"


def cell_name(number: int, original: str) -> str:
    """How a student finds the cell: its position in the notebook and its first line of code."""
    first = next((line.strip() for line in original.split("\n") if line.strip() and not line.strip().startswith("#")), "")
    first = clean(first)  # the student's text: no control or escape sequences reach a message
    first = first if len(first) <= 50 else first[:47] + "..."
    return f"cell {number}" + (f" ({first})" if first else "")


def _syntax_error(module: str, cell: int, exc: SyntaxError, original: str, offset: int = 0) -> ProbeError:
    lineno = exc.lineno + offset if exc.lineno else 0
    where = f"line {lineno}" if lineno else "unknown line"
    lines = original.split("\n")
    code = lines[lineno - 1].rstrip() if 0 < lineno <= len(lines) else (exc.text or "").rstrip()
    return ProbeError("syntax_error", f"{module}.ipynb, {cell_name(cell, original)}, {where}: {clean(exc.msg, 300)}", clean(code, 500))


def _parse_cells(sources: list[tuple[int, str]], module: str) -> tuple[list[_Cell], list[ProbeError]]:
    """The cells that parse, and a syntax error for each one that does not.

    A cell with a syntax error is left out whole, as Jupyter would not run it: only the
    definitions in that cell are lost (and the checks that need them), not the notebook.
    """
    cells, broken = [], []
    for number, original in sources:
        lines = _strip_ipython(original)
        if lines is None:
            continue
        text = "\n".join(lines)
        try:
            tree = ast.parse(text, filename=f"{module}.ipynb, cell {number}")
        except SyntaxError as exc:
            broken.append(_syntax_error(module, number, exc, original))
            continue
        except ValueError as exc:  # null bytes
            broken.append(ProbeError("syntax_error", f"{module}.ipynb, {cell_name(number, original)}: {exc}", ""))
            continue
        except (RecursionError, MemoryError):
            raise ProbeError("import_error", f"{module}.ipynb, cell {number} is nested too deeply to be read.") from None
        cells.append(_Cell(number, original, lines, tree))
    if broken and not any(cell.tree.body for cell in cells):
        raise broken[0]  # nothing else to grade: the error is the whole story
    return cells, broken


def _classify(node: ast.stmt) -> str:
    if isinstance(node, _IMPORTS):
        return "import"
    if isinstance(node, _DEFS):
        return "def"
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) or _is_setattr(node):
        return "assign"
    if isinstance(node, _COMPOUND):
        return "compound"
    return "drop"


def _assign_wanted(node: ast.stmt, needed: set[str], defined: set[str], functions: set[str]) -> bool:
    """Keep an assignment that rebinds a needed name or mutates a needed or notebook-defined object."""
    plain, mutated = _bindings(node)
    if not (plain & needed or mutated & (needed | defined)):
        return False
    return not _runs_notebook_code(node, functions) and not _has_top_level_await(node)


def _wanted_inner(node: ast.stmt, needed: set[str], defined: set[str], functions: set[str]) -> bool:
    """Whether a statement nested in a kept if/try/with block stays (else it becomes ``pass``)."""
    kind = _classify(node)
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
        kind = _classify(child)
        if kind == "assign":
            plain, mutated = _bindings(child)
            names |= plain | mutated
        elif kind == "compound":
            names |= _bound_inside(child)
    return names


def _compound_body(node: ast.stmt) -> list[ast.stmt]:
    body = list(node.body) + list(getattr(node, "orelse", [])) + list(getattr(node, "finalbody", []))
    for handler in getattr(node, "handlers", []):
        body += handler.body
    return body


def _compound_edits(node: ast.stmt, needed: set[str], defined: set[str], functions: set[str]) -> list[_Edit]:
    """Edits that replace the unwanted statements of a kept if/try/with block by ``pass``."""
    edits = []
    for child in _compound_body(node):
        if _classify(child) == "compound" and _wanted_inner(child, needed, defined, functions):
            edits += _compound_edits(child, needed, defined, functions)
        elif not _wanted_inner(child, needed, defined, functions):
            start = _node_start(child)
            if start[1] < 0:  # a decorated statement is never dropped (defs are kept)
                continue
            end = (child.end_lineno, child.end_col_offset)
            edits.append(_Edit(start, end, _with_newlines("pass", start, end)))
    return edits


def _compiles(text: str, name: str, flags: int) -> SyntaxError | None:
    try:
        compile(text, name, "exec", flags, dont_inherit=True)
    except SyntaxError as exc:
        return exc
    except (ValueError, RecursionError, MemoryError) as exc:
        return SyntaxError(str(exc) or type(exc).__name__)
    return None


# --------------------------------------------------------------------------- the generated module
_RUNTIME = r'''
def __autograder_notebook__(cells, notes, steps):
    """Run the notebook's kept statements in order; see autograder/notebook.py."""
    import ast
    import builtins as B  # used through B.: the notebook may rebind print, type, compile ...
    import importlib
    import linecache
    import sys

    g = B.globals()
    path = g.get("__file__") or (g.get("__name__", "notebook") + ".ipynb")

    class Unavailable:
        """Stands in for something the notebook imports that the grader does not have."""

        def __init__(self, name):
            B.object.__setattr__(self, "_name", name)

        def __getattr__(self, attr):
            if attr.startswith("__") and attr.endswith("__"):
                raise B.AttributeError(attr)
            return Unavailable(self._name + "." + attr)

        def __setattr__(self, attr, value):
            pass

        def __call__(self, *args, **kwargs):
            if B.len(args) == 1 and not kwargs:
                return args[0]  # tqdm(iterable), display(x), @decorator
            return Unavailable(self._name + "(...)")

        def __getitem__(self, key):
            return Unavailable(self._name + "[...]")

        def __iter__(self):
            return B.iter(())

        def __len__(self):
            return 0

        def __bool__(self):
            return False

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def __mro_entries__(self, bases):
            return (B.object,)

        def __repr__(self):
            return "<" + self._name + ": not available in the grader>"

    def bind(name, value):
        if name not in g:  # never replace what an earlier cell imported
            g[name] = value

    def fallback(kind, module, level, names):
        if kind == "import":
            for name, asname in names:
                top = name.split(".")[0]
                try:
                    loaded = importlib.import_module(name)
                    g[asname or top] = loaded if asname else sys.modules[top]
                except B.Exception:
                    bind(asname or top, Unavailable(name))
            return
        loaded = None
        if level == 0:
            try:
                loaded = importlib.import_module(module)
            except B.Exception:
                loaded = None
        for name, asname in names:
            if name == "*":
                if loaded is not None:
                    public = B.getattr(loaded, "__all__", None) or [n for n in B.vars(loaded) if not n.startswith("_")]
                    for item in public:
                        if B.hasattr(loaded, item):
                            g[item] = B.getattr(loaded, item)
                continue
            value = None
            if loaded is not None:
                try:
                    value = B.getattr(loaded, name)
                except B.Exception:
                    try:
                        value = importlib.import_module(module + "." + name)
                    except B.Exception:
                        value = None
            if value is not None:
                g[asname or name] = value
            else:
                bind(asname or name, Unavailable("." * level + module + "." + name))

    for number, text in cells.items():
        filename = path + ", cell " + B.str(number)
        linecache.cache[filename] = (B.len(text), None, text.splitlines(True) or [""], filename)

    for note in notes:
        B.print("[notebook] " + note, flush=True)
    g.setdefault("display", lambda *args, **kwargs: None)
    g.setdefault("get_ipython", lambda: Unavailable("get_ipython()"))
    for number, line, kind, flags, text, label, imported in steps:
        filename = path + ", cell " + B.str(number)
        try:
            tree = B.compile(text, filename, "exec", flags | ast.PyCF_ONLY_AST, True)
            ast.increment_lineno(tree, line - 1)  # the statement's own line in the cell
            B.exec(B.compile(tree, filename, "exec", flags, True), g)
        except B.Exception as exc:
            if kind == "import":
                fallback(*imported)
            elif kind != "constant":
                try:
                    message = B.str(exc)
                except B.Exception:
                    message = "?"
                B.print(
                    "[notebook] cell %d, line %d: %s raised %s: %s; loading goes on without it (Jupyter would stop that cell there)"
                    % (number, line, label, B.type(exc).__name__, message[:200]),
                    flush=True,
                )

'''


def _label(node: ast.stmt, cell: _Cell) -> str:
    if isinstance(node, ast.ClassDef):
        return f"class {node.name}"
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return f"def {node.name}"
    first = cell.lines[node.lineno - 1].strip()
    return first if len(first) <= 60 else first[:57] + "..."


def _select(stmts: list[_Stmt]) -> tuple[set[str], set[str], set[str]]:
    """Mark the statements to keep; return (needed, defined, functions) for the final cut-downs.

    Imports and defs always stay. An assignment or an if/try/with block stays when the kept code
    needs a name it binds: a worklist over newly needed names, so each statement is looked at
    only when a name it binds becomes needed.
    """
    functions = {s.node.name for s in stmts if isinstance(s.node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    defined = {s.node.name for s in stmts if s.kind == "def"}
    needed: set[str] = set()
    queue: list[str] = []
    by_name: dict[str, list[_Stmt]] = {}

    def need(names: set[str]) -> None:
        for name in names - needed:
            needed.add(name)
            queue.append(name)

    def consider(stmt: _Stmt) -> None:
        if stmt.kind == "assign":
            if stmt.keep or not _assign_wanted(stmt.node, needed, defined, functions):
                return
            text = stmt.cell.snippet(stmt.node, [])
        else:  # compound
            if not _wanted_inner(stmt.node, needed, defined, functions) or _has_top_level_await(stmt.node):
                return
            text = stmt.cell.snippet(stmt.node, _compound_edits(stmt.node, needed, defined, functions))
            if stmt.keep and text == stmt.text:
                return
        stmt.keep, stmt.text = True, text
        stmt.refs = _global_refs(text, stmt.node)
        need(stmt.refs)

    for stmt in stmts:
        if stmt.kind in ("import", "def"):
            stmt.keep = True
            stmt.text = stmt.cell.snippet(stmt.node, [])
            if stmt.kind == "def":
                stmt.refs = _global_refs(stmt.text, stmt.node)
                need(stmt.refs)
        elif stmt.kind == "assign":
            plain, mutated = _bindings(stmt.node)
            for name in plain | mutated:
                by_name.setdefault(name, []).append(stmt)
        elif stmt.kind == "compound":
            for name in _bound_inside(stmt.node):
                by_name.setdefault(name, []).append(stmt)
    for stmt in stmts:  # blocks holding imports or defs, and ``Class.method = f`` patches
        if stmt.kind == "compound" or (stmt.kind == "assign" and _bindings(stmt.node)[1] & defined):
            consider(stmt)
    while queue:
        for stmt in by_name.get(queue.pop(), ()):
            consider(stmt)
    # Cheap constants (``pad = 57``, ``n_letters = len(all_letters)``) stay even when no kept
    # code reads them (a probe may); they run quietly and a failure is not reported.
    for stmt in stmts:
        if stmt.kind == "assign" and not stmt.keep and _is_constant(stmt.node, defined):
            stmt.keep, stmt.kind = True, "constant"
            stmt.text = stmt.cell.snippet(stmt.node, [])
    return needed, defined, functions


def module_source(raw: bytes, module: str) -> str:
    """Python source for ``module`` built from the notebook ``raw`` (see the module docstring)."""
    try:
        return _module_source(raw, module)
    except ProbeError:
        raise
    except (RecursionError, MemoryError):
        raise ProbeError("import_error", f"{module}.ipynb is too large or too deeply nested to be read.") from None
    except Exception as exc:  # a bug here must not read as the student's import error
        raise ProbeError("grader", f"could not read {module}.ipynb ({type(exc).__name__}: {exc})") from None


def _module_source(raw: bytes, module: str) -> str:
    cells, broken = _parse_cells(_code_cells(raw, module), module)
    notes = [f"{error}: {error.detail.strip()!r}; that cell is skipped (Jupyter would not run it), so what it defines is missing" for error in broken]
    stmts = [_Stmt(cell, node, _classify(node)) for cell in cells for node in cell.tree.body]
    needed, defined, functions = _select(stmts)

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
                bad = _syntax_error(module, cell.number, error, cell.original, first - 1)
                notes.append(f"{bad}: {bad.detail.strip()!r}; {_label(stmt.node, cell)} is skipped")
            continue
        text = stmt.text
        if stmt.kind != "import":
            base = _compound_edits(stmt.node, needed, defined, functions) if stmt.kind == "compound" else []
            rewritten = cell.snippet(stmt.node, base + _cuda_edits(stmt.node))
            if rewritten != text and _compiles(rewritten, name, flags) is None:
                text = rewritten
        imported = _import_bindings(stmt.node) if stmt.kind == "import" else None
        steps.append((cell.number, first, stmt.kind, flags, text, _label(stmt.node, cell), imported))
        used_cells[cell.number] = cell.original
        if isinstance(stmt.node, ast.ImportFrom) and stmt.node.module == "__future__":
            for alias in stmt.node.names:
                feature = getattr(_future, alias.name, None)
                if isinstance(feature, _future._Feature):
                    flags |= feature.compiler_flag

    header = (
        f"# Module {module}, built by autograder/notebook.py from {module}.ipynb.\n"
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
