"""Reading what is to be graded: a Gradescope export (submission_metadata.yml plus one folder per
submission) or a plain folder of zips and folders, as a sorted list of submissions and their students."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from autograder.text import clean

METADATA = "submission_metadata.yml"


class YamlError(ValueError):
    """The metadata file is not YAML that PyYAML's safe loader reads."""


class _StringsLoader(yaml.SafeLoader):
    """PyYAML's safe loader with every scalar kept a string (a student id such as 00123 keeps its
    zeros, a date stays as Gradescope wrote it); only an empty value, ``~`` and null are None."""


_StringsLoader.yaml_implicit_resolvers = {}
_StringsLoader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])


def parse_yaml(text: str) -> Any:
    """Gradescope's submission_metadata.yml (Ruby-style ``:key:`` mappings) as plain data."""
    try:
        return yaml.load(text, Loader=_StringsLoader)  # noqa: S506 - a safe loader, resolvers trimmed
    except yaml.YAMLError as exc:
        raise YamlError(str(exc).replace("\n", " ")[:300]) from None


@dataclass
class Student:
    """One submitter, as Gradescope's metadata names them (empty strings when it does not)."""

    name: str = ""
    email: str = ""
    sid: str = ""


@dataclass
class Submission:
    """One submission to grade: its folder or zip and the students who share it."""

    name: str  # folder (or zip stem) name; the output sub-folder
    path: Path | None  # None: listed in the metadata, but no folder was exported
    students: list[Student] = field(default_factory=list)


def _field(entry: dict, key: str) -> str:
    for k in (f":{key}", key):
        if k in entry and entry[k] is not None:
            return str(entry[k])
    return ""


def read_metadata(path: Path) -> dict[str, list[Student]]:
    """submission folder -> its submitters, from Gradescope's submission_metadata.yml."""
    data = parse_yaml(path.read_text(encoding="utf-8", errors="replace"))
    out: dict[str, list[Student]] = {}
    if not isinstance(data, dict):
        raise YamlError(f"{path.name}: expected a mapping of submission folders")
    for folder, info in data.items():
        students = []
        if isinstance(info, dict):
            submitters = info.get(":submitters", info.get("submitters")) or []
            if isinstance(submitters, dict):
                submitters = [submitters]
            for s in submitters if isinstance(submitters, list) else []:
                if isinstance(s, dict):
                    # Names are students' own text: no control or escape sequence reaches grades.csv or a terminal.
                    students.append(Student(clean(_field(s, "name"), 300), clean(_field(s, "email"), 300), clean(_field(s, "sid"), 100)))
        out[str(folder)] = students
    return out


def discover(root: Path, exclude: Path | None = None) -> tuple[list[Submission], list[str]]:
    """The submissions under ``root``: Gradescope's export layout, or a plain folder of zips/folders."""
    notes: list[str] = []
    root = root.resolve()
    if not (root / METADATA).is_file():
        inner = [d for d in root.iterdir() if d.is_dir() and (d / METADATA).is_file()]
        if len(inner) == 1:
            notes.append(f"using the Gradescope export in {inner[0].name}/")
            root = inner[0]
    metadata: dict[str, list[Student]] = {}
    if (root / METADATA).is_file():
        try:
            metadata = read_metadata(root / METADATA)
            notes.append(f"{METADATA}: {len(metadata)} submissions, {sum(len(v) for v in metadata.values())} students")
        except (YamlError, OSError, UnicodeError) as exc:
            notes.append(f"could not read {METADATA} ({exc}); rows will name submission folders only")
    excluded = exclude.resolve() if exclude else None
    entries: dict[str, Path] = {}
    for path in sorted(root.iterdir()):
        if path.name.startswith(".") or path.name in ("__MACOSX", "__pycache__") or path.name == METADATA:
            continue
        if excluded is not None and (path.resolve() == excluded or excluded.is_relative_to(path.resolve())):
            continue
        if path.is_dir():
            name = path.name
        elif path.is_file() and path.suffix.lower() == ".zip":
            name = path.stem
        else:
            continue
        if name in entries:
            name = path.name
        entries[name] = path
    subs = [Submission(name, path, metadata.get(name, [])) for name, path in entries.items()]
    subs += [Submission(name, None, students) for name, students in metadata.items() if name not in entries]
    subs.sort(key=lambda s: natural_key(s.name))
    return subs, notes


def natural_key(text: str) -> list:
    """A sort key that puts submission_9 before submission_10."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", text)]
