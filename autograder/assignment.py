"""The assignment being graded: a folder with a ``manifest.toml``, found and read here.

The engine knows an assignment only through this object: its modules and parts, its rubric,
its check and probe modules (imported by name), its reference, student kit and proof
catalogue, and a few hooks. The folder is a Python package; its parent goes on ``sys.path``
so that the package imports under the folder's name.
"""
from __future__ import annotations

import importlib
import os
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ENV = "AUTOGRADER_ASSIGNMENT"  # set by use(): subprocesses (supervisor, batch jobs) grade the same one
SEARCH_DIR = Path(__file__).resolve().parent.parent / "assignments"  # the project's own
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PART = re.compile(r"^[0-9A-Za-z]+$")
HOOKS = ("warm_up", "worker", "reseed", "plots", "kit", "adversarial_builders")
FIELDS = ("name", "version", "reference", "template", "rubric", "catalogue", "calibration", "data", "checks", "probes", "preload", "not_preloaded", "versions", "hooks", "module")


class ManifestError(ValueError):
    """The assignment's manifest is missing or malformed; the message names the field."""


@dataclass(frozen=True)
class Module:
    """One file a student hands in (``<name>.py`` or ``<name>.ipynb``)."""

    name: str
    parts: tuple[str, ...]
    proof_part: str  # the part verify reports this module's fixtures under
    fingerprint: tuple[str, ...] = ()
    notebook: bool = True
    noise: tuple[str, ...] = ()


@dataclass(frozen=True)
class Assignment:
    """A validated manifest, with its paths made absolute."""

    folder: Path
    name: str
    version: str
    modules: tuple[Module, ...]
    reference: Path
    template: Path
    rubric: Path
    catalogue: Path
    calibration: Path | None = None  # the reference's own time per check (``python -m autograder calibrate``)
    data: tuple[Path, ...] = ()
    checks: tuple[str, ...] = ()
    probes: tuple[str, ...] = ()
    preload: tuple[str, ...] = ()
    not_preloaded: tuple[str, ...] = ()  # optional imports of the preloaded libraries, kept out of the payload
    versions: tuple[str, ...] = ()
    hooks: dict[str, str] = field(default_factory=dict, hash=False, compare=False)

    @property
    def package(self) -> str:
        return self.folder.name

    @property
    def module_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.modules)

    def module(self, name: str) -> Module:
        for m in self.modules:
            if m.name == name:
                return m
        raise KeyError(name)

    @property
    def parts(self) -> tuple[str, ...]:
        """Every part, in the homework's order."""
        return tuple(p for m in self.modules for p in m.parts)

    @property
    def proof_parts(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m.proof_part for m in self.modules))

    @property
    def notebookless(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.modules if not m.notebook)

    def qualified(self, name: str) -> str:
        """``checks.part1`` -> ``<package>.checks.part1`` (importable once ``importable()`` ran)."""
        return f"{self.package}.{name}"

    def importable(self) -> "Assignment":
        """Put the package's parent on ``sys.path`` (idempotent)."""
        parent = str(self.folder.parent)
        if parent not in sys.path:
            sys.path.insert(0, parent)
        return self

    def import_all(self, names: tuple[str, ...]) -> list[Any]:
        self.importable()
        return [importlib.import_module(self.qualified(n)) for n in names]

    def hook(self, name: str) -> Callable[..., Any] | Any | None:
        """The object a ``[hooks]`` entry names (``module:attribute``), or None if unset."""
        spec = self.hooks.get(name)
        if not spec:
            return None
        module, _, attribute = spec.partition(":")
        self.importable()
        return getattr(importlib.import_module(self.qualified(module)), attribute)


def load(folder: Path | str) -> Assignment:
    """Read and validate ``folder/manifest.toml``; raise ManifestError naming the first problem."""
    folder = Path(folder).resolve()
    path = folder / "manifest.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ManifestError(f"cannot read the assignment manifest {path}: {exc}") from None
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise ManifestError(f"{path}: unknown fields {sorted(unknown)} (known: {', '.join(FIELDS)})")
    if not _NAME.match(folder.name):
        raise ManifestError(f"{folder}: the folder name must be a Python identifier (it is the package name)")

    def text(key: str, default: str | None = None) -> str:
        value = data.get(key, default)
        if not isinstance(value, str) or not value:
            raise ManifestError(f"{path}: '{key}' must be a non-empty string")
        return value

    def names(key: str, source: dict = data) -> tuple[str, ...]:
        value = source.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ManifestError(f"{path}: '{key}' must be a list of strings")
        return tuple(value)

    modules = []
    for raw in data.get("module", []):
        unknown = set(raw) - {"name", "parts", "proof_part", "fingerprint", "notebook", "noise"}
        if unknown:
            raise ManifestError(f"{path}: module {raw.get('name')!r} has unknown fields {sorted(unknown)}")
        name = raw.get("name", "")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ManifestError(f"{path}: module name {name!r} is not a Python identifier")
        parts = names("parts", raw)
        if not parts or not all(_PART.match(p) for p in parts):
            raise ManifestError(f"{path}: module {name}: 'parts' must list part names such as '1a'")
        modules.append(Module(name, parts, str(raw.get("proof_part", parts[0])), names("fingerprint", raw), bool(raw.get("notebook", True)), names("noise", raw)))
    if not modules:
        raise ManifestError(f"{path}: no [[module]] entries")
    every = [p for m in modules for p in m.parts]
    if len(every) != len(set(every)) or len({m.name for m in modules}) != len(modules):
        raise ManifestError(f"{path}: a module or part is listed twice")
    hooks = data.get("hooks", {})
    unknown = set(hooks) - set(HOOKS)
    if unknown:
        raise ManifestError(f"{path}: unknown hooks {sorted(unknown)} (known: {', '.join(HOOKS)})")
    return Assignment(
        folder=folder, name=text("name"), version=str(data.get("version", "1")), modules=tuple(modules),
        reference=(folder / text("reference")).resolve(), template=(folder / text("template")).resolve(),
        rubric=folder / text("rubric", "rubric.toml"), catalogue=folder / text("catalogue", "catalogue"),
        calibration=folder / text("calibration", "calibration.toml"),
        data=tuple((folder / d).resolve() for d in names("data")), checks=names("checks"), probes=names("probes"),
        preload=names("preload"), not_preloaded=names("not_preloaded"), versions=names("versions"), hooks={k: str(v) for k, v in hooks.items()},
    )


_CURRENT: dict[str, Assignment] = {}


def current() -> Assignment:
    """The assignment of this run: ``$AUTOGRADER_ASSIGNMENT``, else the one folder under ``assignments/``."""
    folder = os.environ.get(ENV) or _default_folder()
    found = _CURRENT.get(folder)
    if found is None:
        found = _CURRENT[folder] = load(folder)
    return found


def use(folder: Path | str) -> Assignment:
    """Grade ``folder``'s assignment from now on, in this process and the ones it starts."""
    loaded = load(folder)
    os.environ[ENV] = str(loaded.folder)
    _CURRENT[str(loaded.folder)] = loaded
    return loaded


def _default_folder() -> str:
    found = sorted(p.parent for p in SEARCH_DIR.glob("*/manifest.toml"))
    if len(found) != 1:
        raise ManifestError(f"{SEARCH_DIR} holds {len(found)} assignments: choose one with --assignment or ${ENV}")
    return str(found[0])
