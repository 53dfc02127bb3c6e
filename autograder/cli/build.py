"""``build``: the zip to upload to Gradescope, byte-identical when built twice from the same tree.

Contents: ``setup.sh`` and ``run_autograder`` at the zip root, ``requirements.txt`` and
``requirements.lock``, the ``autograder/`` package, ``assignments/`` (of the proof catalogue
only its mutants, from which the diagnosis names mistakes; the held-out bugs, variants and
attacks are read by ``verify`` alone), the assignment's reference and data folders, and
``examples/`` (the canary that ``setup.sh`` grades). Never tests, caches,
hidden files or editor droppings. Every entry has a fixed timestamp (1980-01-01),
fixed permissions (0755 for the two scripts and any executable, 0644 otherwise),
and the entries are sorted, so the zip depends only on the files' contents.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import stat
import sys
import zipfile
from pathlib import Path

from autograder.config import PROJECT_ROOT
from autograder.secrets import SECRET_FILE, ensure_key_file
from autograder.walk import walk

ROOT_FILES = ("setup.sh", "run_autograder", "requirements.txt", "requirements.lock")
TREES = ("autograder", "assignments", "examples")  # examples: the canary setup.sh grades
EXECUTABLES = ("setup.sh", "run_autograder")
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
SKIP_DIRS = {"__pycache__", "tests", "node_modules"}
CATALOGUE_SHIPPED = {"mutants"}  # the diagnosis names mistakes from them while grading; the rest only verify reads
SKIP_SUFFIXES = (".pyc", ".pyo", ".orig", ".rej", ".swp", ".swo", "~", ".tmp")


class BuildError(Exception):
    """The tree cannot be packaged (a required file is missing, a link, ...)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("autograder.zip"), help="where to write the zip (default: ./autograder.zip)")
    parser.add_argument("--source", type=Path, default=PROJECT_ROOT, help=argparse.SUPPRESS)
    parser.add_argument("--list", action="store_true", help="print every entry of the zip")


def run(args: argparse.Namespace) -> int:
    try:
        entries = build(args.source, args.out)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    data = args.out.read_bytes()
    if args.list:
        for name, mode, size in entries:
            print(f"{stat.filemode(mode)}  {size:>9}  {name}")
    print(f"Wrote {args.out} ({len(entries)} files, {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()})")
    return 0


def collect(source: Path) -> list[tuple[str, Path]]:
    """(archive name, file) for everything the zip holds, sorted by archive name."""
    source = source.resolve()
    files: list[tuple[str, Path]] = []
    for name in ROOT_FILES:
        path = source / name
        if not path.is_file():
            raise BuildError(f"{path} is missing: the Gradescope zip needs {', '.join(ROOT_FILES)} at its root")
        files.append((name, path))
    key = source / SECRET_FILE.name  # the key of the held-out seeds (autograder.secrets): made once, then kept
    if source == PROJECT_ROOT.resolve():
        ensure_key_file()
    if key.is_file():
        files.append((key.name, key))
    from autograder import assignment

    task = assignment.current()
    extra = [str(p.relative_to(PROJECT_ROOT)) for p in (task.reference, *task.data) if p.is_relative_to(PROJECT_ROOT)]
    catalogue = task.catalogue.resolve().relative_to(PROJECT_ROOT.resolve())
    for tree in (*TREES, *extra):
        top = source / tree
        if not top.is_dir():
            raise BuildError(f"{top} is missing")
        walker = walk(top, max_depth=32, max_entries=200_000)  # iterative: no RecursionError, whatever is in the tree
        for folder, dirs, names in walker:
            in_catalogue = Path(folder).resolve() == source / catalogue
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith(".") and (not in_catalogue or d in CATALOGUE_SHIPPED))
            for name in sorted(names):
                if name.startswith(".") or name.endswith(SKIP_SUFFIXES) or in_catalogue:
                    continue
                path = Path(folder) / name
                if path.is_symlink():
                    raise BuildError(f"{path} is a symbolic link; the zip holds regular files only")
                if not path.is_file():
                    continue
                files.append((path.relative_to(source).as_posix(), path))
        if walker.truncated:
            raise BuildError(f"{top} cannot be packaged whole: {walker.describe()}")
    files.sort(key=lambda item: item[0])
    return files


def build(source: Path, out: Path) -> list[tuple[str, int, int]]:
    """Write the zip; return (name, mode, size) per entry."""
    files = collect(source)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    entries = []
    with zipfile.ZipFile(tmp, "w") as archive:
        for name, path in files:
            data = path.read_bytes()
            executable = name in EXECUTABLES or bool(path.stat().st_mode & stat.S_IXUSR)
            mode = stat.S_IFREG | (0o755 if executable else 0o644)
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.create_system = 3  # Unix, so the permission bits are honoured by unzip
            info.external_attr = mode << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
            entries.append((name, mode, len(data)))
    os.replace(tmp, out)
    return entries
