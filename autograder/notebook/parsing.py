"""Reading a .ipynb file: its JSON into the code cells' sources, within size limits.

Anything that is not a readable notebook raises ``ProbeError("import_error", ...)``.
"""
from __future__ import annotations

import json

from autograder.probe_error import ProbeError

MAX_NOTEBOOK_BYTES = 32 * 1024 * 1024  # the whole .ipynb, outputs and images included
MAX_CODE_CHARS = 2 * 1024 * 1024  # code in all code cells together
MAX_CODE_CELLS = 3000


def code_cells(raw: bytes, module: str) -> list[tuple[int, str]]:
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
