"""Intake: find the homework modules in an uploaded zip or folder and stage copies for the worker.

Only the five module files (``.py``, or ``.ipynb`` in place of a ``.py``) are ever
copied out of a submission, so a shipped ``numpy.py``, ``sitecustomize.py`` or
``conftest.py`` never reaches an import path. Links, path traversal and absurd
sizes are refused with a message; nothing in the upload can crash the grader.
"""
from __future__ import annotations

import os
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from autograder.rubric import MODULES

MAX_FILES = 5000
MAX_MODULE_BYTES = 5 * 1024 * 1024
MAX_TOTAL_BYTES = 200 * 1024 * 1024
IGNORED_PARTS = {"__MACOSX", "__pycache__", ".ipynb_checkpoints", ".git"}


@dataclass
class Intake:
    """What was found in a submission and staged for grading."""

    modules: dict[str, str] = field(default_factory=dict)  # module -> path inside the upload
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files_seen: int = 0

    def found_summary(self) -> str:
        if not self.modules:
            return "none of the homework modules"
        return ", ".join(sorted(self.modules.values()))

    def is_notebook(self, module: str) -> bool:
        return self.modules.get(module, "").endswith(".ipynb")

    @property
    def notebook_submission(self) -> bool:
        """True when the student submitted notebooks (the course's notebook version)."""
        return any(path.endswith(".ipynb") for path in self.modules.values())


def _wanted(rel: PurePosixPath) -> str | None:
    """The module a path provides, or None for files the grader ignores."""
    if any(part in IGNORED_PARTS or part.startswith(".") for part in rel.parts):
        return None
    stem, suffix = rel.stem, rel.suffix
    if stem in MODULES and suffix in (".py", ".ipynb"):
        return stem
    return None


def _choose(candidates: dict[str, list[tuple[PurePosixPath, object]]], intake: Intake) -> dict[str, tuple[PurePosixPath, object]]:
    """Prefer .py over .ipynb, then the shallowest path; say when a choice was made."""
    chosen = {}
    for module, items in candidates.items():
        items.sort(key=lambda item: (item[0].suffix != ".py", len(item[0].parts), str(item[0])))
        chosen[module] = items[0]
        if len(items) > 1:
            others = ", ".join(str(i[0]) for i in items[1:])
            intake.notes.append(f"{module}: graded {items[0][0]}; ignored {others}")
    return chosen


def stage(source: Path, dest: Path) -> Intake:
    """Copy the homework modules found in ``source`` (zip or folder) into ``dest``."""
    intake = Intake()
    dest.mkdir(parents=True, exist_ok=True)
    os.chmod(dest, 0o755)
    try:
        if source.is_dir():
            files = _from_folder(source, intake)
        elif source.is_file():
            files = _from_zip(source, intake)
        else:
            intake.problems.append(f"The submission {source.name!r} was not found.")
            files = {}
    except _Refused as exc:
        intake.problems.append(str(exc))
        files = {}
    for module, (rel, data) in files.items():
        target = dest / (module + rel.suffix)
        target.write_bytes(data)
        os.chmod(target, 0o644)
        intake.modules[module] = str(rel)
    missing = [m for m in MODULES if m not in intake.modules]
    if missing and not intake.problems:
        intake.notes.append("Not found: " + ", ".join(f"{m}.py" for m in missing))
    return intake


class _Refused(Exception):
    pass


def _from_zip(path: Path, intake: Intake) -> dict[str, tuple[PurePosixPath, bytes]]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _Refused(f"The submission is not a readable zip file ({exc}).") from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_FILES:
            raise _Refused(f"The zip holds {len(members)} entries; at most {MAX_FILES} are accepted.")
        if sum(m.file_size for m in members) > MAX_TOTAL_BYTES:
            raise _Refused(f"The zip expands to more than {MAX_TOTAL_BYTES // 2**20} MB; remove large files.")
        candidates: dict[str, list] = {}
        for member in members:
            name = member.filename.replace("\\", "/")
            rel = PurePosixPath(name)
            if name.startswith("/") or ".." in rel.parts or (rel.parts and ":" in rel.parts[0]):
                intake.problems.append(f"Refused unsafe path in zip: {name!r}")
                continue
            if member.is_dir():
                continue
            intake.files_seen += 1
            module = _wanted(rel)
            if module is None:
                continue
            mode = member.external_attr >> 16
            if stat.S_ISLNK(mode):
                intake.problems.append(f"Refused link in zip: {name!r}")
                continue
            if member.file_size > MAX_MODULE_BYTES:
                intake.problems.append(f"Refused {name!r}: {member.file_size} bytes is larger than {MAX_MODULE_BYTES} bytes.")
                continue
            candidates.setdefault(module, []).append((rel, member))
        out = {}
        for module, (rel, member) in _choose(candidates, intake).items():
            try:
                with archive.open(member) as handle:
                    data = handle.read(MAX_MODULE_BYTES + 1)
            except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as exc:
                intake.problems.append(f"Could not read {rel} from the zip ({exc}).")
                continue
            if len(data) > MAX_MODULE_BYTES:
                intake.problems.append(f"Refused {rel}: larger than {MAX_MODULE_BYTES} bytes.")
                continue
            out[module] = (rel, data)
        return out


def _from_folder(root: Path, intake: Intake) -> dict[str, tuple[PurePosixPath, bytes]]:
    candidates: dict[str, list] = {}
    for folder, dirs, names in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in IGNORED_PARTS and not d.startswith("."))
        for name in sorted(names):
            intake.files_seen += 1
            if intake.files_seen > MAX_FILES:
                raise _Refused(f"The submission holds more than {MAX_FILES} files.")
            full = Path(folder) / name
            rel = PurePosixPath(full.relative_to(root).as_posix())
            module = _wanted(rel)
            if module is None:
                continue
            info = full.lstat()
            if stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode):
                intake.problems.append(f"Refused {rel}: not a regular file (a link?).")
                continue
            if info.st_size > MAX_MODULE_BYTES:
                intake.problems.append(f"Refused {rel}: {info.st_size} bytes is larger than {MAX_MODULE_BYTES} bytes.")
                continue
            candidates.setdefault(module, []).append((rel, full))
    out = {}
    for module, (rel, full) in _choose(candidates, intake).items():
        fd = os.open(full, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as handle:
            out[module] = (rel, handle.read(MAX_MODULE_BYTES + 1)[:MAX_MODULE_BYTES])
    return out
