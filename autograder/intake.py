"""Intake: find the assignment's modules in an uploaded zip or folder and stage copies for the worker.

Only the module files (``.py``, or ``.ipynb`` in place of a ``.py``) are ever
copied out of a submission, so a shipped ``numpy.py``, ``sitecustomize.py`` or
``conftest.py`` never reaches an import path. Links, path traversal and absurd
sizes are refused with a message; nothing in the upload can crash the grader.
"""
from __future__ import annotations

import os
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from autograder import assignment
from autograder.text import clean
from autograder.walk import walk



def modules() -> tuple[str, ...]:
    return assignment.current().module_names


def notebookless() -> tuple[str, ...]:
    """Modules the course hands out no notebook for (a notebook submission needs none of them)."""
    return assignment.current().notebookless


def fingerprints() -> dict[str, tuple[str, ...]]:
    """Names each module's handout defines: a .py or .ipynb whose name matches no module is taken
    for the one module whose names it defines (a notebook saved as "Untitled3.ipynb")."""
    return {m.name: m.fingerprint for m in assignment.current().modules if m.fingerprint}

MAX_FILES = 5000
MAX_MODULE_BYTES = 5 * 1024 * 1024
MAX_TOTAL_BYTES = 200 * 1024 * 1024
MAX_UNMATCHED = 50  # files with other names read to recognise a module by its code
MAX_FOLDER_DEPTH = 32  # folders of an uploaded folder searched below its top
MAX_FOLDER_ENTRIES = 4 * MAX_FILES  # files and folders looked at in an uploaded folder
NAME_CHARS = 300  # of a file name shown in a message
IGNORED_PARTS = {"__MACOSX", "__pycache__", ".ipynb_checkpoints", ".git"}


@dataclass
class Intake:
    """What was found in a submission and staged for grading."""

    modules: dict[str, str] = field(default_factory=dict)  # module -> path inside the upload
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files_seen: int = 0
    names: list[str] = field(default_factory=list)  # every file in the upload, for messages

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


# What browsers and Colab add to a downloaded name: "Copy of q_x", "q_x (1)", "q_x - Copy", "q_x_v2".
DECORATION = re.compile(r"^(copy of |copy_of_)|( ?\(\d+\)| - copy| copy|_copy|-copy|[ _-]v?\d+)$", re.IGNORECASE)


def shown(name: object) -> str:
    """A file name from the upload as a message shows it: no control or escape sequences, capped."""
    return clean(str(name), NAME_CHARS)


def _normal_stem(stem: str) -> str:
    previous = None
    stem = stem.strip()
    while previous != stem:
        previous, stem = stem, DECORATION.sub("", stem).strip()
    return stem.replace(" ", "_").replace("-", "_").lower()


def _ignored(rel: PurePosixPath) -> bool:
    return any(part in IGNORED_PARTS or part.startswith(".") for part in rel.parts)


def _wanted(rel: PurePosixPath) -> str | None:
    """The module a path provides by its name (exact, or as a browser or Colab decorates it), or None."""
    if _ignored(rel) or rel.suffix not in (".py", ".ipynb"):
        return None
    if rel.stem in modules():
        return rel.stem
    stem = _normal_stem(rel.stem)
    return stem if stem in modules() else None


def by_content(data: bytes) -> str | None:
    """The one module whose handout names a file defines (``class RNNLayer``, ``def loss_fn`` ...), or None."""
    text = data[:MAX_MODULE_BYTES].decode("utf-8", errors="replace")
    hits = [m for m, names in fingerprints().items() if sum(bool(re.search(rf"(class|def)\s+{name}\b", text)) for name in names) >= min(2, len(names))]
    return hits[0] if len(hits) == 1 else None


def _choose(candidates: dict[str, list[tuple[PurePosixPath, object]]], intake: Intake) -> dict[str, tuple[PurePosixPath, object]]:
    """Prefer the exact name, then .py over .ipynb, then the shallowest path; say when a choice was made."""
    chosen = {}
    for module, items in candidates.items():
        items.sort(key=lambda item: (item[0].stem != module, item[0].suffix != ".py", len(item[0].parts), str(item[0])))
        chosen[module] = items[0]
        if items[0][0].stem != module:
            intake.notes.append(f"Took {shown(items[0][0])} for {module}{items[0][0].suffix} (by its name).")
        if len(items) > 1:
            others = clean(", ".join(shown(i[0]) for i in items[1:]), 2000)
            intake.notes.append(f"{module}: graded {shown(items[0][0])}; ignored {others}")
    return chosen


def _by_content(others: list[tuple[PurePosixPath, bytes]], found: dict, intake: Intake) -> None:
    """Modules still missing, taken from the files whose names matched nothing but whose code is plainly theirs."""
    claims: dict[str, list[tuple[PurePosixPath, bytes]]] = {}
    for rel, data in others:
        module = by_content(data)
        if module is not None and module not in found:
            claims.setdefault(module, []).append((rel, data))
    for module, items in claims.items():
        if len(items) == 1:
            found[module] = items[0]
            intake.notes.append(f"Took {shown(items[0][0])} for {module}{items[0][0].suffix} (its code defines {', '.join(fingerprints()[module][:2])}); rename it {module}{items[0][0].suffix} to be sure.")
        else:
            intake.problems.append(f"{module}: several files could be it ({clean(', '.join(shown(i[0]) for i in items), 2000)}); name one {module}.ipynb or {module}.py.")


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
            intake.problems.append(f"The submission {shown(repr(source.name))} was not found.")
            files = {}
    except _Refused as exc:
        intake.problems.append(str(exc))
        files = {}
    for module, (rel, data) in files.items():
        target = dest / (module + rel.suffix)
        target.write_bytes(data)
        os.chmod(target, 0o644)
        intake.modules[module] = clean(str(rel))  # shown in messages and results.json
    missing = [m for m in modules() if m not in intake.modules and not (intake.notebook_submission and m in notebookless())]
    if not intake.files_seen and not intake.problems:
        intake.problems.append(f"The upload is empty: it holds no files. Upload your notebooks ({modules()[0]}.ipynb, ...) or a zip of them.")
    elif missing and not intake.problems:
        seen = ", ".join(shown(n) for n in intake.names[:12]) + (f" and {len(intake.names) - 12} more" if len(intake.names) > 12 else "")
        intake.notes.append("Not found: " + ", ".join(f"{m}.ipynb (or .py)" for m in missing) + f". Files in the upload: {seen}. Name each file after its module, e.g. {missing[0]}.ipynb.")
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
        unmatched: list = []
        for member in members:
            name = member.filename.replace("\\", "/")
            rel = PurePosixPath(name)
            if name.startswith("/") or ".." in rel.parts or (rel.parts and ":" in rel.parts[0]):
                intake.problems.append(f"Refused unsafe path in zip: {shown(repr(name))}")
                continue
            if member.is_dir():
                continue
            intake.files_seen += 1
            intake.names.append(name)
            module = _wanted(rel)
            if module is None:
                if rel.suffix in (".py", ".ipynb") and not _ignored(rel) and member.file_size <= MAX_MODULE_BYTES and not stat.S_ISLNK(member.external_attr >> 16):
                    unmatched.append((rel, member))
                continue
            mode = member.external_attr >> 16
            if stat.S_ISLNK(mode):
                intake.problems.append(f"Refused link in zip: {shown(repr(name))}")
                continue
            if member.file_size > MAX_MODULE_BYTES:
                intake.problems.append(f"Refused {shown(repr(name))}: {member.file_size} bytes is larger than {MAX_MODULE_BYTES} bytes.")
                continue
            candidates.setdefault(module, []).append((rel, member))
        out = {}
        for module, (rel, member) in _choose(candidates, intake).items():
            try:
                with archive.open(member) as handle:
                    data = handle.read(MAX_MODULE_BYTES + 1)
            except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as exc:
                intake.problems.append(f"Could not read {shown(rel)} from the zip ({clean(exc, 300)}).")
                continue
            if len(data) > MAX_MODULE_BYTES:
                intake.problems.append(f"Refused {shown(rel)}: larger than {MAX_MODULE_BYTES} bytes.")
                continue
            out[module] = (rel, data)
        others = []
        for rel, member in unmatched[:MAX_UNMATCHED]:
            try:
                with archive.open(member) as handle:
                    others.append((rel, handle.read(MAX_MODULE_BYTES)))
            except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError):
                continue
        _by_content(others, out, intake)
        return out


def _from_folder(root: Path, intake: Intake) -> dict[str, tuple[PurePosixPath, bytes]]:
    candidates: dict[str, list] = {}
    unmatched: list = []
    # Iterative and bounded (autograder.walk): a folder nested 1,100 deep, or with paths
    # longer than PATH_MAX, is searched as far as the limits allow and then said so.
    walker = walk(root, max_depth=MAX_FOLDER_DEPTH, max_entries=MAX_FOLDER_ENTRIES)
    for folder, dirs, names in walker:
        dirs[:] = sorted(d for d in dirs if d not in IGNORED_PARTS and not d.startswith("."))
        for name in sorted(names):
            intake.files_seen += 1
            if intake.files_seen > MAX_FILES:
                raise _Refused(f"The submission holds more than {MAX_FILES} files.")
            full = Path(folder) / name
            rel = PurePosixPath(full.relative_to(root).as_posix())
            intake.names.append(str(rel))
            module = _wanted(rel)
            if module is None:
                if rel.suffix in (".py", ".ipynb") and not _ignored(rel):
                    unmatched.append((rel, full))
                continue
            try:
                info = full.lstat()
            except OSError:
                continue
            if stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode):
                intake.problems.append(f"Refused {shown(rel)}: not a regular file (a link?).")
                continue
            if info.st_size > MAX_MODULE_BYTES:
                intake.problems.append(f"Refused {shown(rel)}: {info.st_size} bytes is larger than {MAX_MODULE_BYTES} bytes.")
                continue
            candidates.setdefault(module, []).append((rel, full))
    if walker.truncated:
        intake.problems.append(f"Part of the upload was not searched: {clean(walker.describe(), 600)}. Put your files nearer the top of the upload.")
    out = {}
    for module, (rel, full) in _choose(candidates, intake).items():
        try:
            fd = os.open(full, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        except OSError as exc:
            intake.problems.append(f"Could not read {shown(rel)} ({clean(exc.strerror or exc, 200)}).")
            continue
        with os.fdopen(fd, "rb") as handle:
            out[module] = (rel, handle.read(MAX_MODULE_BYTES + 1)[:MAX_MODULE_BYTES])
    others = []
    for rel, full in unmatched[:MAX_UNMATCHED]:
        try:
            info = full.lstat()
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_MODULE_BYTES:
                continue
            fd = os.open(full, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            with os.fdopen(fd, "rb") as handle:
                others.append((rel, handle.read(MAX_MODULE_BYTES)))
        except OSError:
            continue
    _by_content(others, out, intake)
    return out
