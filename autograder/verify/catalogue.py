"""The assignment's proof catalogue (its manifest's ``catalogue`` folder; data, not code): loaded, validated, selected.

- ``mutants/<part>.toml``: realistic student bugs, each the reference module with
  exact-text (before, after) patches, the check ids it must fail, and (implicitly)
  every other check of the module's parts passing;
- ``variants/<part>.toml``: correct implementations a too-strict grader would reject,
  as patches or as a small folder of files (``variants/<folder>/``): full marks;
- ``adversarial/<case>/case.toml``: hostile submissions with their expected outcome.

Fixtures of parts whose checks are not in the rubric yet are "pending": listed, never counted.
"""
from __future__ import annotations

import fnmatch
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from autograder import assignment

_TASK = assignment.current()
FIXTURES = _TASK.catalogue
MUTANTS_DIR = FIXTURES / "mutants"
HELDOUT_DIR = FIXTURES / "heldout"
VARIANTS_DIR = FIXTURES / "variants"
ADVERSARIAL_DIR = FIXTURES / "adversarial"
REFERENCE = _TASK.reference
TEMPLATE = _TASK.template
MODULE_PART = {m.name: m.proof_part for m in _TASK.modules}  # the part verify counts a module's fixtures under
PART_ORDER = _TASK.proof_parts
DEFAULT_MODULE = _TASK.module_names[0]
KINDS = ("mutant", "variant", "adversarial", "heldout")  # heldout: bugs that measure the hints (never shown to the diagnosis)
OUTCOMES = ("full", "zero", "fails", "lost")  # lost: some checks fail, which ones is not pinned


class CatalogueError(ValueError):
    """A fixture entry is malformed (unknown field, missing expectation, duplicate name...)."""


class PatchError(CatalogueError):
    """A patch's 'before' text does not occur exactly once in the module it patches."""


@dataclass(frozen=True)
class Fixture:
    """One submission of the proof and what the grader must make of it."""

    kind: str  # mutant | variant | adversarial | honest | template
    name: str
    module: str  # the module it is about (its part is graded)
    description: str = ""
    patches: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()  # (module, ((before, after), ...))
    folder: str | None = None  # absolute path of a folder of files laid over the base
    base: str = "reference"  # reference | template | none
    modules: tuple[str, ...] = ()  # modules copied from the base (default: (module,))
    outcome: str = "full"  # full | zero | fails | lost
    fails: tuple[str, ...] = ()
    only: tuple[str, ...] = ()  # parts or check-id prefixes graded (default: the module's parts)
    default: bool = False  # in the fast pytest subset
    source: str = ""  # catalogue file it came from
    options: dict = field(default_factory=dict, hash=False, compare=False)  # adversarial settings

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.name}"

    @property
    def part(self) -> str:
        return MODULE_PART.get(self.module, "?")

    def patch_map(self) -> dict[str, list[tuple[str, str]]]:
        return {m: list(edits) for m, edits in self.patches}


@dataclass
class Catalogue:
    fixtures: list[Fixture]
    pending: list[tuple[Fixture, str]]  # not gradable yet, with the reason
    parts: dict[str, tuple[str, ...]]  # module -> part ids present in the rubric (e.g. 1a, 1b...)

    def select(self, kinds: Iterable[str] = KINDS, names: Iterable[str] = (), parts: Iterable[str] = (), default_only: bool = False) -> list[Fixture]:
        kinds, names, parts = set(kinds), list(names), set(parts)
        out = []
        for f in self.fixtures:
            if f.kind not in kinds:
                continue
            if names and not any(fnmatch.fnmatchcase(f.name, n) or fnmatch.fnmatchcase(f.key, n) for n in names):
                continue
            if parts and f.part not in parts:
                continue
            if default_only and not f.default:
                continue
            out.append(f)
        return out

    def by_key(self) -> dict[str, Fixture]:
        return {f.key: f for f in self.fixtures}


_MUTANT_FIELDS = {"name", "description", "module", "fails", "patches", "default", "only", "modules", "notebook", "known_issue", "hint", "family"}
_HELDOUT_FIELDS = {"name", "description", "module", "patches", "only", "modules", "mistake"}
_VARIANT_FIELDS = {"name", "description", "module", "patches", "folder", "default", "only", "modules", "notebook", "known_issue"}
_CASE_FIELDS = {
    "description", "module", "modules", "base", "only", "requires_root", "default", "append", "prepend",
    "patches", "expect", "builder", "timeout", "deadline", "hidden", "settle", "zip", "pre_results",
    "child_timeout", "notes", "known_weakness", "plant",
}
_EXPECT_FIELDS = {"outcome", "fails", "messages", "absent"}


def _patches(raw: Any, module: str, where: str) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    """Patches are [[before, after], ...] for ``module`` or {module = [[before, after], ...]}."""
    if raw is None:
        return ()
    if isinstance(raw, dict):
        items = raw.items()
    else:
        items = [(module, raw)]
    out = []
    for mod, edits in items:
        if mod not in MODULE_PART:
            raise CatalogueError(f"{where}: unknown module {mod!r} in patches")
        pairs = []
        for edit in edits:
            if not (isinstance(edit, list) and len(edit) == 2 and all(isinstance(s, str) for s in edit)):
                raise CatalogueError(f"{where}: a patch is a [before, after] pair of strings")
            if edit[0] == edit[1]:
                raise CatalogueError(f"{where}: a patch changes nothing: {edit[0]!r}")
            pairs.append((edit[0], edit[1]))
        out.append((mod, tuple(pairs)))
    return tuple(out)


def _check_fields(entry: dict, allowed: set[str], where: str) -> None:
    unknown = set(entry) - allowed
    if unknown:
        raise CatalogueError(f"{where}: unknown fields {sorted(unknown)}")
    if "name" in allowed and not re.fullmatch(r"[a-z0-9_]+", str(entry.get("name", ""))):
        raise CatalogueError(f"{where}: name must be lower_snake_case, got {entry.get('name')!r}")


def _mutant_entries(folder: Path, fields: set[str], label: str):
    """(where, entry, module, patches, file name) of every [[mutant]] in ``folder``'s TOML files, validated."""
    for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for i, entry in enumerate(data.get("mutant", [])):
            where = f"{label}{path.name} mutant #{i + 1} ({entry.get('name')})"
            _check_fields(entry, fields, where)
            module = entry.get("module", data.get("module"))
            if module not in MODULE_PART:
                raise CatalogueError(f"{where}: unknown module {module!r}")
            patches = _patches(entry.get("patches"), module, where)
            if not patches:
                raise CatalogueError(f"{where}: a mutant needs patches")
            yield where, entry, module, patches, path.name


def load_mutants() -> list[Fixture]:
    """The catalogue's mutants (``mutants/<part>.toml``): what the tests, ``verify`` and the diagnosis read."""
    fixtures: list[Fixture] = []
    for where, entry, module, patches, source in _mutant_entries(MUTANTS_DIR, _MUTANT_FIELDS, ""):
        fails = tuple(entry.get("fails", ()))
        if not fails:
            raise CatalogueError(f"{where}: a mutant must name the checks it fails")
        fixtures.append(
            Fixture(
                kind="mutant", name=entry["name"], module=module, description=entry.get("description", ""),
                patches=patches, outcome="fails", fails=fails, only=tuple(entry.get("only", ())),
                modules=tuple(entry.get("modules", ())), default=bool(entry.get("default", False)), source=source,
                options={"notebook": bool(entry.get("notebook", False)), "known_issue": str(entry.get("known_issue", "")),
                         "hint": str(entry.get("hint", "")), "family": str(entry.get("family", entry["name"]))},
            )
        )
    return fixtures


def load_fixture_files() -> list[Fixture]:
    """Every fixture of the catalogue, ready or not (raises CatalogueError on a malformed entry)."""
    fixtures = load_mutants()
    fixtures += _heldout()
    for path in sorted(VARIANTS_DIR.glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        default_module = data.get("module")
        for i, entry in enumerate(data.get("variant", [])):
            where = f"{path.name} variant #{i + 1} ({entry.get('name')})"
            _check_fields(entry, _VARIANT_FIELDS, where)
            module = entry.get("module", default_module)
            if module not in MODULE_PART:
                raise CatalogueError(f"{where}: unknown module {module!r}")
            folder = entry.get("folder")
            if folder is not None:
                full = (VARIANTS_DIR / folder).resolve()
                if not full.is_dir() or VARIANTS_DIR.resolve() not in full.parents:
                    raise CatalogueError(f"{where}: folder {folder!r} is not a folder under variants/")
                folder = str(full)
            patches = _patches(entry.get("patches"), module, where)
            if not patches and folder is None and not entry.get("notebook"):
                raise CatalogueError(f"{where}: a variant needs patches, a folder or notebook = true")
            fixtures.append(
                Fixture(
                    kind="variant", name=entry["name"], module=module, description=entry.get("description", ""),
                    patches=patches, folder=folder, outcome="full", only=tuple(entry.get("only", ())),
                    modules=tuple(entry.get("modules", ())), default=bool(entry.get("default", False)), source=path.name,
                    options={"notebook": bool(entry.get("notebook", False)), "known_issue": str(entry.get("known_issue", ""))},
                )
            )
    for case_dir in sorted(p for p in ADVERSARIAL_DIR.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))) if ADVERSARIAL_DIR.is_dir() else []:
        fixtures.append(load_case(case_dir))
    names = [f.key for f in fixtures]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise CatalogueError(f"duplicate fixture names: {dupes}")
    return fixtures


def _heldout() -> list[Fixture]:
    """``heldout/<part>.toml``: bugs the diagnosis never sees, each naming the catalogued mistake it
    re-expresses (``mistake``: a mutant's name or family) or ``mistake = ""`` for an unrelated bug.
    They measure the hints (``verify``): graded like mutants, expected to lose some points."""
    out = []
    for where, entry, module, patches, source in _mutant_entries(HELDOUT_DIR, _HELDOUT_FIELDS, "heldout/"):
        if not isinstance(entry.get("mistake"), str):
            raise CatalogueError(f"{where}: mistake (a catalogued mutant's name or family, or \"\" for an unrelated bug) is required")
        out.append(
            Fixture(
                kind="heldout", name=entry["name"], module=module, description=entry.get("description", ""),
                patches=patches, outcome="lost", only=tuple(entry.get("only", ())), modules=tuple(entry.get("modules", ())),
                source=f"heldout/{source}", options={"mistake": entry["mistake"]},
            )
        )
    return out


def load_case(case_dir: Path) -> Fixture:
    where = f"adversarial/{case_dir.name}/case.toml"
    path = case_dir / "case.toml"
    if not path.is_file():
        raise CatalogueError(f"{where} is missing")
    entry = tomllib.loads(path.read_text(encoding="utf-8"))
    _check_fields(entry, _CASE_FIELDS, where)
    if not re.fullmatch(r"[a-z0-9_]+", case_dir.name):
        raise CatalogueError(f"{where}: the case folder name must be lower_snake_case")
    module = entry.get("module", DEFAULT_MODULE)
    if module not in MODULE_PART:
        raise CatalogueError(f"{where}: unknown module {module!r}")
    expect = entry.get("expect", {})
    if not isinstance(expect, dict) or set(expect) - _EXPECT_FIELDS:
        raise CatalogueError(f"{where}: [expect] takes {sorted(_EXPECT_FIELDS)}")
    outcome = expect.get("outcome")
    if outcome not in OUTCOMES:
        raise CatalogueError(f"{where}: expect.outcome must be one of {OUTCOMES}")
    if (outcome == "fails") != bool(expect.get("fails")):
        raise CatalogueError(f"{where}: expect.fails is required exactly when outcome = 'fails'")
    for key in ("append", "prepend"):
        for name in entry.get(key, []):
            if not (case_dir / name).is_file():
                raise CatalogueError(f"{where}: {key} file {name!r} not found")
    base = entry.get("base", "reference")
    if base not in ("reference", "template", "none"):
        raise CatalogueError(f"{where}: base must be reference, template or none")
    options = {k: entry[k] for k in entry if k not in ("description", "module", "modules", "base", "only", "default", "patches")}
    options["expect"] = expect
    options["dir"] = str(case_dir)
    return Fixture(
        kind="adversarial", name=case_dir.name, module=module, description=entry.get("description", ""),
        patches=_patches(entry.get("patches"), module, where), base=base, modules=tuple(entry.get("modules", ())),
        outcome=outcome, fails=tuple(expect.get("fails", ())), only=tuple(entry.get("only", ())),
        default=bool(entry.get("default", False)), source=f"adversarial/{case_dir.name}", options=options,
    )


def rubric_parts(use_registry: bool = True) -> tuple[dict[str, tuple[str, ...]], set[str] | None, str]:
    """module -> parts in the rubric, the set of check ids with a registered function, and a note.

    ``use_registry=False`` skips importing the check modules (which import the reference):
    a process that later forks sandboxes itself (pytest, with in-process graders in other
    suites) should not hold the reference. Readiness is then judged by the rubric alone.
    """
    from autograder import rubric as rubric_mod

    rubric = rubric_mod.load()
    parts: dict[str, list[str]] = {}
    for c in rubric.checks:
        parts.setdefault(c.module, [])
        if c.part not in parts[c.module]:
            parts[c.module].append(c.part)
    note = ""
    if not use_registry:
        return {m: tuple(p) for m, p in parts.items()}, None, note
    from autograder import checks

    try:
        registered = set(checks.registry())
    except Exception as exc:  # a check module being written may not import yet: keep the others
        import importlib

        for name in _TASK.checks:
            try:
                importlib.import_module(_TASK.qualified(name))
            except Exception as inner:
                note += f"{_TASK.qualified(name)} does not import: {type(inner).__name__}: {inner}. "
        registered = set(getattr(checks, "_REGISTRY", {}))
        note = note or f"check functions could not be imported: {type(exc).__name__}: {exc}"
    return {m: tuple(p) for m, p in parts.items()}, registered, note


def load_catalogue(use_registry: bool = True) -> Catalogue:
    """The catalogue, split into fixtures gradable now and those waiting for their part's checks."""
    from autograder import rubric as rubric_mod

    fixtures = load_fixture_files()
    parts, registered, note = rubric_parts(use_registry)
    rubric = rubric_mod.load()
    ids_by_module: dict[str, set[str]] = {}
    for c in rubric.checks:
        ids_by_module.setdefault(c.module, set()).add(c.id)
    ready, pending = [], []
    for f in fixtures:
        ids = ids_by_module.get(f.module, set())
        if not ids:
            pending.append((f, f"no checks of {f.module} in the rubric yet"))
            continue
        unregistered = [] if registered is None else sorted(i for i in ids if i not in registered)
        if unregistered:
            pending.append((f, f"rubric ids without a check function: {', '.join(unregistered[:5])}" + (f" ({note})" if note else "")))
            continue
        missing = [i for i in f.fails if i not in ids]
        if missing:
            pending.append((f, f"expected failures not in the rubric yet: {', '.join(missing)}"))
            continue
        ready.append(f)
    return Catalogue(ready, pending, parts)


def graded_parts(fixture: Fixture, parts: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    return fixture.only or parts.get(fixture.module, (fixture.part,))


def in_parts(check_id: str, only: Iterable[str]) -> bool:
    part = check_id.split(".")[0]
    return any(check_id.startswith(p + ".") or check_id == p or part == p for p in only)


def honest_fixture(parts: dict[str, tuple[str, ...]]) -> Fixture:
    modules = tuple(m for m in MODULE_PART if m in parts)
    only = tuple(p for m in modules for p in parts[m])
    return Fixture(kind="honest", name="reference", module=modules[0] if modules else DEFAULT_MODULE, modules=modules, only=only, outcome="full")


def template_fixture(parts: dict[str, tuple[str, ...]]) -> Fixture:
    modules = tuple(m for m in MODULE_PART if m in parts and (TEMPLATE / f"{m}.py").is_file())
    only = tuple(p for m in modules for p in parts[m])
    return Fixture(kind="template", name="template", module=modules[0] if modules else DEFAULT_MODULE, modules=modules, only=only, base="template", outcome="zero")
