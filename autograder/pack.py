"""Pack a submission: zip exactly the files the grader reads, and say which parts will score nothing.

File selection is the grader's own: ``autograder.intake.stage`` picks the modules
(``.py`` preferred over ``.ipynb``, the shallowest copy, no links, size limits),
so what this zips is exactly what grading would read. Unfinished parts are found
by parsing (AST), never by importing: a function that still raises
``NotImplementedError("<part>: ...")`` names its part.

``student_template/pack.py`` is the stand-alone (standard library only) twin of
this module that students run; tests keep the two in agreement.
"""
from __future__ import annotations

import ast
import json
import re
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from autograder import assignment, intake

FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def parts() -> dict[str, tuple[str, ...]]:
    """Which parts each module carries (the assignment's layout; the rubric may grade a subset)."""
    return {m.name: m.parts for m in assignment.current().modules}


def part_label() -> re.Pattern:
    """``"<part>: ..."``, the message a stub's NotImplementedError starts with."""
    names = sorted(assignment.current().parts, key=len, reverse=True)
    return re.compile(r"^\s*(" + "|".join(map(re.escape, names)) + r")\s*:")


@dataclass
class PackResult:
    modules: dict[str, str] = field(default_factory=dict)  # module -> path inside the input
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unfinished: dict[str, list[str]] = field(default_factory=dict)  # part -> functions


def notebook_source(data: bytes) -> str:
    """The code cells of a notebook joined into one module; IPython magics become blank lines."""
    nb = json.loads(data.decode("utf-8"))
    chunks = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in text.splitlines()]
        chunks.append("\n".join(lines))
    return "\n\n".join(chunks) + "\n"


def unfinished_parts(source: str) -> dict[str, list[str]]:
    """part -> functions that still raise NotImplementedError("<part>: ..."); "?" for unlabelled ones."""
    tree = ast.parse(source)
    found: dict[str, list[str]] = {}
    label = part_label()

    def visit(node: ast.AST, scope: list[str]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                visit(child, scope + [child.name])
                continue
            if isinstance(child, ast.Raise) and child.exc is not None:
                exc = child.exc
                name = exc.func if isinstance(exc, ast.Call) else exc
                if isinstance(name, ast.Name) and name.id == "NotImplementedError":
                    part = "?"
                    if isinstance(exc, ast.Call) and exc.args and isinstance(exc.args[0], ast.Constant) and isinstance(exc.args[0].value, str):
                        match = label.match(exc.args[0].value)
                        if match:
                            part = match.group(1)
                    where = ".".join(scope) or "module level"
                    if where not in found.setdefault(part, []):
                        found[part].append(where)
            visit(child, scope)

    visit(tree, [])
    return found


def parts_phrase(module: str) -> str:
    carried = parts()[module]
    return ("part " if len(carried) == 1 else "parts ") + ", ".join(carried)


def part_order(part: str) -> tuple[int, str]:
    return (int(part[0]), part) if part[0].isdigit() else (99, part)


def notebook_cell_errors(data: bytes) -> list[str]:
    """A syntax error per code cell, named as the notebook shows the cell (its position and first line)."""
    nb = json.loads(data.decode("utf-8"))
    errors = []
    for number, cell in enumerate(nb.get("cells", []), start=1):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in text.splitlines()]
        try:
            ast.parse("\n".join(lines))
        except SyntaxError as exc:
            first = next((line.strip() for line in lines if line.strip() and not line.strip().startswith("#")), "")
            errors.append(f"cell {number} ({first[:50]}), line {exc.lineno}: {exc.msg}")
    return errors


def analyse(module: str, name: str, data: bytes, result: PackResult) -> None:
    """Add warnings about one module file (parsed, never run)."""
    if name.endswith(".ipynb"):
        try:
            broken = notebook_cell_errors(data)
        except (UnicodeDecodeError, ValueError) as exc:
            result.warnings.append(f"{name}: cannot be read ({exc}); {parts_phrase(module)} will score nothing")
            return
        if broken:
            result.warnings.extend(f"{name}: syntax error in {error}; that cell's definitions are lost (the grader skips the cell, as Jupyter would)" for error in broken)
            return
    try:
        source = notebook_source(data) if name.endswith(".ipynb") else data.decode("utf-8")
    except (UnicodeDecodeError, ValueError) as exc:
        result.warnings.append(f"{name}: cannot be read ({exc}); {parts_phrase(module)} will score nothing")
        return
    try:
        unfinished = unfinished_parts(source)
    except SyntaxError as exc:
        result.warnings.append(f"{name}: syntax error at line {exc.lineno}: {exc.msg}; the grader cannot import it, so {parts_phrase(module)} will score nothing")
        return
    for part in sorted(unfinished, key=part_order):
        where = ", ".join(unfinished[part])
        result.unfinished.setdefault(part, []).extend(unfinished[part])
        if part == "?":
            result.warnings.append(f"{name}: raises NotImplementedError in {where}")
        else:
            result.warnings.append(f"part {part} not finished: {where} still raise(s) NotImplementedError")


def pack(source: Path, out: Path) -> PackResult:
    """Zip the modules the grader would read from ``source`` (a folder or a zip) into ``out``."""
    result = PackResult()
    staging = Path(tempfile.mkdtemp(prefix="autograder-pack-"))
    try:
        found = intake.stage(Path(source), staging)
        result.modules = dict(found.modules)
        result.notes = list(found.notes)
        result.warnings.extend(found.problems)
        files = {}
        for module in intake.modules():
            if module not in found.modules and found.notebook_submission and module in intake.notebookless():
                result.notes.append(f"{module}: no notebook in the course for {parts_phrase(module)}, so a notebook submission needs none")
                continue
            if module not in found.modules:
                result.warnings.append(f"{module}.ipynb (or .py) not found: {parts_phrase(module)} will score nothing")
                continue
            suffix = Path(found.modules[module]).suffix
            data = (staging / (module + suffix)).read_bytes()
            files[module + suffix] = data
            analyse(module, module + suffix, data, result)
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w") as archive:
            for name in sorted(files):
                info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
                info.create_system = 3
                info.external_attr = (stat.S_IFREG | 0o644) << 16
                archive.writestr(info, files[name], compress_type=zipfile.ZIP_DEFLATED)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    result.notes = [n for n in result.notes if not n.startswith("Not found:")]
    return result
