#!/usr/bin/env python3
"""Pack your Homework 7 submission: zip exactly the files the autograder reads.

    python pack.py                 # packs this folder into submission.zip
    python pack.py DIR --out my.zip

The grader reads only the five homework modules, each as ``<module>.py`` or, in
place of the .py, ``<module>.ipynb``: q_rnn_and_grad, q_rnn_last_name,
q_autoencoder, q_linear_autoencoder and q_graph_clustering. When a module exists
in both forms the .py is graded; when it appears in several folders, the one
nearest the top. Everything else (data, checkpoints, other scripts) is left out.

It warns about parts that will score nothing: a missing module, a file with a
syntax error, or a function that still raises NotImplementedError("<part>: ...").
Your code is only read (parsed), never run. Standard library only.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import re
import stat
import sys
import zipfile
from pathlib import Path, PurePosixPath

# The same rules as the autograder's intake (autograder/intake.py).
MODULES = ("q_rnn_and_grad", "q_rnn_last_name", "q_autoencoder", "q_linear_autoencoder", "q_graph_clustering")
IGNORED_PARTS = {"__MACOSX", "__pycache__", ".ipynb_checkpoints", ".git"}
MAX_FILES = 5000
MAX_MODULE_BYTES = 5 * 1024 * 1024
PARTS = {
    "q_rnn_and_grad": ("1a", "1b", "1c", "1d", "1h"),
    "q_rnn_last_name": ("2",),
    "q_autoencoder": ("3a",),
    "q_linear_autoencoder": ("3b",),
    "q_graph_clustering": ("5a", "5b", "5c", "5d", "5e", "5f", "5g"),
}
PART_RE = re.compile(r"^\s*(1[a-h]|2|3a|3b|5[a-g])\s*:")
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


# Names each module's handout defines, and what browsers and Colab add to a downloaded name.
FINGERPRINTS = {
    "q_rnn_and_grad": ("RNNLayer", "RecurrentRegressionModel", "loss_fn"),
    "q_rnn_last_name": ("RecurrentClassifier", "letterToIndex"),
    "q_autoencoder": ("DenoisingAutoencoder", "MaskedAutoencoder", "plot_single"),
    "q_linear_autoencoder": ("linear_ae_gradients", "pca_solution"),
    "q_graph_clustering": ("get_adjacency_matrix", "get_degree_matrix", "stochastic_matrix_converter"),
}
DECORATION = re.compile(r"^(copy of |copy_of_)|( ?\(\d+\)| - copy| copy|_copy|-copy|[ _-]v?\d+)$", re.IGNORECASE)
NOTEBOOKLESS = ("q_linear_autoencoder",)  # 3b is written homework: no notebook, extra credit


def normal_stem(stem: str) -> str:
    previous = None
    stem = stem.strip()
    while previous != stem:
        previous, stem = stem, DECORATION.sub("", stem).strip()
    return stem.replace(" ", "_").replace("-", "_").lower()


def ignored(rel: PurePosixPath) -> bool:
    return any(part in IGNORED_PARTS or part.startswith(".") for part in rel.parts)


def wanted(rel: PurePosixPath) -> str | None:
    """The module a path provides by its name (exact, or as a browser or Colab decorates it), or None."""
    if ignored(rel) or rel.suffix not in (".py", ".ipynb"):
        return None
    if rel.stem in MODULES:
        return rel.stem
    stem = normal_stem(rel.stem)
    return stem if stem in MODULES else None


def by_content(data: bytes) -> str | None:
    """The one module whose handout names a file defines, or None."""
    text = data[:MAX_MODULE_BYTES].decode("utf-8", errors="replace")
    hits = [m for m, names in FINGERPRINTS.items() if sum(bool(re.search(rf"(class|def)\s+{name}\b", text)) for name in names) >= min(2, len(names))]
    return hits[0] if len(hits) == 1 else None


def find_modules(root: Path) -> tuple[dict[str, tuple[PurePosixPath, Path]], list[str]]:
    """module -> (path inside ``root``, file) the grader would read, plus notes about what was skipped."""
    notes: list[str] = []
    candidates: dict[str, list[tuple[PurePosixPath, Path]]] = {}
    unmatched: list[tuple[PurePosixPath, Path]] = []
    seen = 0
    for folder, dirs, names in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in IGNORED_PARTS and not d.startswith("."))
        for name in sorted(names):
            seen += 1
            if seen > MAX_FILES:
                notes.append(f"stopped looking after {MAX_FILES} files: pack a smaller folder")
                break
            full = Path(folder) / name
            rel = PurePosixPath(full.relative_to(root).as_posix())
            module = wanted(rel)
            if module is None:
                if rel.suffix in (".py", ".ipynb") and not ignored(rel):
                    unmatched.append((rel, full))
                continue
            info = full.lstat()
            if stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode):
                notes.append(f"skipped {rel}: not a regular file (a link?); the grader refuses links")
                continue
            if info.st_size > MAX_MODULE_BYTES:
                notes.append(f"skipped {rel}: {info.st_size} bytes is larger than the grader's limit of {MAX_MODULE_BYTES}")
                continue
            candidates.setdefault(module, []).append((rel, full))
    chosen: dict[str, tuple[PurePosixPath, Path]] = {}
    for module in MODULES:
        items = candidates.get(module)
        if not items:
            continue
        items.sort(key=lambda item: (item[0].stem != module, item[0].suffix != ".py", len(item[0].parts), str(item[0])))
        chosen[module] = items[0]
        if items[0][0].stem != module:
            notes.append(f"packing {items[0][0]} as {module}{items[0][0].suffix} (by its name)")
        if len(items) > 1:
            notes.append(f"{module}: packing {items[0][0]}; the grader would ignore {', '.join(str(i[0]) for i in items[1:])}")
    claims: dict[str, list[tuple[PurePosixPath, Path]]] = {}
    for rel, full in unmatched[:50]:
        try:
            if full.lstat().st_size <= MAX_MODULE_BYTES and stat.S_ISREG(full.lstat().st_mode):
                module = by_content(full.read_bytes())
                if module is not None and module not in chosen:
                    claims.setdefault(module, []).append((rel, full))
        except OSError:
            continue
    for module, items in claims.items():
        if len(items) == 1:
            chosen[module] = items[0]
            notes.append(f"packing {items[0][0]} as {module}{items[0][0].suffix}: its code is that module's")
        else:
            notes.append(f"{module}: several files could be it ({', '.join(str(i[0]) for i in items)}); rename one {module}.ipynb")
    return chosen, notes


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
                        match = PART_RE.match(exc.args[0].value)
                        if match:
                            part = match.group(1)
                    where = ".".join(scope) or "module level"
                    if where not in found.setdefault(part, []):
                        found[part].append(where)
            visit(child, scope)

    visit(tree, [])
    return found


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


def analyse(module: str, path: Path) -> list[str]:
    """Warnings about one module file (parsed, never run)."""
    data = path.read_bytes()
    if path.suffix == ".ipynb":
        try:
            broken = notebook_cell_errors(data)
        except (UnicodeDecodeError, ValueError) as exc:
            return [f"{path.name}: cannot be read ({exc}); {parts_phrase(module)} will score nothing"]
        if broken:
            return [f"{path.name}: syntax error in {error}; that cell's definitions are lost (the grader skips the cell, as Jupyter would)" for error in broken]
    try:
        source = notebook_source(data) if path.suffix == ".ipynb" else data.decode("utf-8")
    except (UnicodeDecodeError, ValueError) as exc:
        return [f"{path.name}: cannot be read ({exc}); {parts_phrase(module)} will score nothing"]
    try:
        unfinished = unfinished_parts(source)
    except SyntaxError as exc:
        return [f"{path.name}: syntax error at line {exc.lineno}: {exc.msg}; the grader cannot import it, so {parts_phrase(module)} will score nothing"]
    warnings = []
    for part in sorted(unfinished, key=_part_order):
        where = ", ".join(unfinished[part])
        if part == "?":
            warnings.append(f"{path.name}: raises NotImplementedError in {where}")
        else:
            warnings.append(f"part {part} not finished: {where} still raise(s) NotImplementedError")
    return warnings


def parts_phrase(module: str) -> str:
    parts = PARTS[module]
    return ("part " if len(parts) == 1 else "parts ") + ", ".join(parts)


def _part_order(part: str) -> tuple[int, str]:
    return (int(part[0]), part) if part[0].isdigit() else (99, part)


def pack(root: Path, out: Path) -> tuple[dict[str, tuple[PurePosixPath, Path]], list[str], list[str]]:
    """Write the zip; return (modules packed, warnings, notes)."""
    chosen, notes = find_modules(root)
    warnings = []
    notebooks = any(path.suffix == ".ipynb" for _, path in chosen.values())
    for module in MODULES:
        if module not in chosen and notebooks and module in NOTEBOOKLESS:
            notes.append(f"{module}: no notebook in the course (part 3b is written homework; its code checks are extra credit)")
        elif module not in chosen:
            warnings.append(f"{module}.ipynb (or .py) not found: {parts_phrase(module)} will score nothing")
        else:
            warnings.extend(analyse(module, chosen[module][1]))
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w") as archive:
        for module in MODULES:
            if module not in chosen:
                continue
            path = chosen[module][1]
            info = zipfile.ZipInfo(module + path.suffix, date_time=FIXED_TIME)
            info.create_system = 3
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            archive.writestr(info, path.read_bytes(), compress_type=zipfile.ZIP_DEFLATED)
    return chosen, warnings, notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python pack.py", description="Zip exactly the files the Homework 7 autograder reads, warning about missing parts.")
    parser.add_argument("folder", nargs="?", type=Path, default=Path(__file__).resolve().parent, help="folder holding your modules (default: the folder of pack.py)")
    parser.add_argument("--out", type=Path, default=Path("submission.zip"), help="zip to write (default: ./submission.zip)")
    parser.add_argument("--strict", action="store_true", help="exit with status 1 when there are warnings")
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        print(f"error: {args.folder} is not a folder", file=sys.stderr)
        return 2
    chosen, warnings, notes = pack(args.folder, args.out)
    for module in MODULES:
        if module in chosen:
            print(f"  packed  {chosen[module][0]}")
    for note in notes:
        print(f"  note    {note}")
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    missing = [w for w in warnings if " not found:" in w or "syntax error" in w or "cannot be read" in w]
    if missing:
        print(f"Wrote {args.out} ({len(chosen)} of {len(MODULES)} modules), but it is NOT ready to upload: {len(missing)} problem(s) above cost points. Fix them and pack again.", file=sys.stderr)
        return 1
    print(f"Wrote {args.out} ({len(chosen)} of {len(MODULES)} modules). Upload it to Gradescope.")
    if not warnings:
        print("No unfinished parts found.")
    return 1 if (warnings and args.strict) else 0


if __name__ == "__main__":
    sys.exit(main())
