"""Prove the grader: mutants it must catch, correct variants it must accept, attacks it must contain.

The proof reads a catalogue of fixtures under ``tests/fixtures/`` (data, not code):

- ``mutants/<part>.toml``: realistic student bugs, each the reference module with
  exact-text (before, after) patches, the check ids it must fail, and (implicitly)
  every other check of the module's parts passing;
- ``variants/<part>.toml``: correct implementations a too-strict grader would reject,
  as patches or as a small folder of files (``variants/<folder>/``): full marks;
- ``adversarial/<case>/case.toml``: hostile submissions (code appended to or
  prepended to the reference, extra files under ``submission/``, or a builder here
  that makes zips, links and FIFOs at run time) with their expected outcome;
  after each case the results file must be valid and untouched, no process of
  the submission may be left, and the grader's own files must be intact.

Every fixture is graded only on the parts it touches (``only=``). Mutants and
variants are graded in a pool of spawned processes (``--jobs``), each grading
several fixtures in-process with a shared sandbox uid (``kill_whole_uid`` off when
``--jobs`` > 1). Such a process has imported the reference after its first grading,
and later sandboxes fork from it, which is harmless for honest code only: each
adversarial case is therefore graded alone in a fresh ``python -m autograder.verify
--child`` process with the production settings, exactly as on Gradescope.

Another grader on the same machine (with ``kill_whole_uid`` on) kills every worker of
the sandbox uid whenever one of its checks ends; a fixture that loses points to such
a SIGKILL where it should not is graded again (``RETRIES``), with a note.

Fixtures of parts whose checks are not in the rubric yet are "pending": listed,
never counted. Used by ``python -m autograder verify`` and by
``tests/verification``; it does not depend on pytest.
"""
from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import traceback
import zipfile
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from autograder.config import DEFAULT_SANDBOX_USER, PROJECT_ROOT, SANDBOX_UID_POOL

FIXTURES = PROJECT_ROOT / "tests" / "fixtures"
MUTANTS_DIR = FIXTURES / "mutants"
VARIANTS_DIR = FIXTURES / "variants"
ADVERSARIAL_DIR = FIXTURES / "adversarial"
SCHEMA_PATH = FIXTURES / "gradescope_results.schema.json"
REFERENCE = PROJECT_ROOT / "reference"
TEMPLATE = PROJECT_ROOT / "student_template"

MODULE_PART = {
    "q_rnn_and_grad": "1",
    "q_rnn_last_name": "2",
    "q_autoencoder": "3a",
    "q_linear_autoencoder": "3b",
    "q_graph_clustering": "5",
}
PART_ORDER = ("1", "2", "3a", "3b", "5")
KINDS = ("mutant", "variant", "adversarial")
OUTCOMES = ("full", "zero", "fails", "lost")  # lost: some checks fail, which ones is not pinned
CHILD_TIMEOUT = 900.0
RETRIES = 3  # gradings per fixture when a worker looks killed from outside (see foreign_kill_suspected)
KILLED = "killed by signal SIGKILL"


class CatalogueError(ValueError):
    """A fixture entry is malformed (unknown field, missing expectation, duplicate name...)."""


class PatchError(CatalogueError):
    """A patch's 'before' text does not occur exactly once in the module it patches."""


# ============================================================================ catalogue


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


_MUTANT_FIELDS = {"name", "description", "module", "fails", "patches", "default", "only", "modules", "notebook", "known_issue"}
_VARIANT_FIELDS = {"name", "description", "module", "patches", "folder", "default", "only", "modules", "notebook", "known_issue"}
_CASE_FIELDS = {
    "description", "module", "modules", "base", "only", "requires_root", "default", "append", "prepend",
    "patches", "expect", "builder", "timeout", "deadline", "hidden", "settle", "zip", "pre_results",
    "child_timeout", "notes", "known_weakness",
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


def load_fixture_files() -> list[Fixture]:
    """Every fixture of the catalogue, ready or not (raises CatalogueError on a malformed entry)."""
    fixtures: list[Fixture] = []
    for path in sorted(MUTANTS_DIR.glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        default_module = data.get("module")
        for i, entry in enumerate(data.get("mutant", [])):
            where = f"{path.name} mutant #{i + 1} ({entry.get('name')})"
            _check_fields(entry, _MUTANT_FIELDS, where)
            module = entry.get("module", default_module)
            if module not in MODULE_PART:
                raise CatalogueError(f"{where}: unknown module {module!r}")
            fails = tuple(entry.get("fails", ()))
            if not fails:
                raise CatalogueError(f"{where}: a mutant must name the checks it fails")
            patches = _patches(entry.get("patches"), module, where)
            if not patches:
                raise CatalogueError(f"{where}: a mutant needs patches")
            fixtures.append(
                Fixture(
                    kind="mutant", name=entry["name"], module=module, description=entry.get("description", ""),
                    patches=patches, outcome="fails", fails=fails, only=tuple(entry.get("only", ())),
                    modules=tuple(entry.get("modules", ())), default=bool(entry.get("default", False)), source=path.name,
                    options={"notebook": bool(entry.get("notebook", False)), "known_issue": str(entry.get("known_issue", ""))},
                )
            )
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


def load_case(case_dir: Path) -> Fixture:
    where = f"adversarial/{case_dir.name}/case.toml"
    path = case_dir / "case.toml"
    if not path.is_file():
        raise CatalogueError(f"{where} is missing")
    entry = tomllib.loads(path.read_text(encoding="utf-8"))
    _check_fields(entry, _CASE_FIELDS, where)
    if not re.fullmatch(r"[a-z0-9_]+", case_dir.name):
        raise CatalogueError(f"{where}: the case folder name must be lower_snake_case")
    module = entry.get("module", "q_rnn_and_grad")
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

        for name in checks.CHECK_MODULES:
            try:
                importlib.import_module(f"autograder.checks.{name}")
            except Exception as inner:
                note += f"autograder.checks.{name} does not import: {type(inner).__name__}: {inner}. "
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


# ============================================================================ building submissions


def apply_patches(text: str, edits: Iterable[tuple[str, str]], where: str) -> str:
    for before, after in edits:
        count = text.count(before)
        if count != 1:
            raise PatchError(f"{where}: expected exactly one occurrence of {before!r}, found {count}")
        text = text.replace(before, after)
    return text


def _copy_base(fixture: Fixture, dest: Path, provided: set[str]) -> None:
    source = {"reference": REFERENCE, "template": TEMPLATE}.get(fixture.base)
    if source is None:
        return
    for module in fixture.modules or (fixture.module,):
        if module in provided:
            continue
        src = source / f"{module}.py"
        if src.is_file():
            shutil.copyfile(src, dest / f"{module}.py")


def build_submission(fixture: Fixture, dest: Path, substitutions: dict[str, str] | None = None) -> Path:
    """Write the fixture's submission folder into ``dest`` (created) and return the path to grade.

    Adversarial cases may return a zip built next to ``dest`` or rely on a builder.
    """
    dest.mkdir(parents=True, exist_ok=True)
    subs = substitutions or {}
    provided: set[str] = set()
    if fixture.folder:
        for item in sorted(Path(fixture.folder).iterdir()):
            if item.name in ("README.md", "README", "variant.toml") or item.name.startswith("."):
                continue
            if item.is_file():
                shutil.copyfile(item, dest / item.name)
                if item.suffix in (".py", ".ipynb") and item.stem in MODULE_PART:
                    provided.add(item.stem)
    if fixture.kind == "adversarial":
        case_dir = Path(fixture.options["dir"])
        extra = case_dir / "submission"
        if extra.is_dir():
            for item in sorted(extra.rglob("*")):
                rel = item.relative_to(extra)
                target = dest / rel
                if item.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(_substitute(item.read_bytes(), subs))
                if item.suffix in (".py", ".ipynb") and item.stem in MODULE_PART and len(rel.parts) == 1:
                    provided.add(item.stem)
    _copy_base(fixture, dest, provided)
    for module, edits in fixture.patches:
        path = dest / f"{module}.py"
        if not path.is_file():
            raise PatchError(f"{fixture.key}: {module}.py is not in the submission to patch")
        path.write_text(apply_patches(path.read_text(encoding="utf-8"), edits, f"{fixture.key} {module}"), encoding="utf-8")
    if fixture.options.get("notebook"):
        module_py = dest / f"{fixture.module}.py"
        (dest / f"{fixture.module}.ipynb").write_text(module_to_notebook(module_py.read_text(encoding="utf-8"), fixture.module), encoding="utf-8")
        module_py.unlink()
    if fixture.kind == "adversarial":
        case_dir = Path(fixture.options["dir"])
        path = dest / f"{fixture.module}.py"
        for key in ("prepend", "append"):
            snippets = [(case_dir / name).read_text(encoding="utf-8") for name in fixture.options.get(key, [])]
            if not snippets:
                continue
            body = path.read_text(encoding="utf-8") if path.is_file() else ""
            joined = "\n\n".join(snippets)
            body = (joined + "\n\n" + body) if key == "prepend" else (body + "\n\n" + joined + "\n")
            path.write_text(body, encoding="utf-8")
        if path.is_file():
            path.write_bytes(_substitute(path.read_bytes(), subs))
        builder = fixture.options.get("builder")
        if builder:
            if builder not in BUILDERS:
                raise CatalogueError(f"{fixture.key}: unknown builder {builder!r}")
            return BUILDERS[builder](fixture, dest, subs)
        if fixture.options.get("zip"):
            return zip_folder(dest, dest.parent / f"{dest.name}.zip", prefix=str(fixture.options.get("zip")) if isinstance(fixture.options.get("zip"), str) else "")
    return dest


# Cells a student's notebook holds besides the graded code: the notebook loader must drop them.
_NOTEBOOK_NOISE = {
    "q_rnn_and_grad": ["results = train_all(num_batches=20000)\nplot_losses(results)", "model = RecurrentRegressionModel(RNN(1, 32, 2))\nlosses = train(model, torch.optim.Adam(model.parameters()), 5000, False)"],
    "q_rnn_last_name": ["train_data, eval_data, categories = load_datasets('/content/drive/MyDrive/names')", "out = run_reference(verbose=True)\nprint(out['history'])"],
    "q_autoencoder": ["latent_size_sweep('sweep.png')", "print(run_mnist_probe())"],
    "q_linear_autoencoder": ["X = np.random.randn(5, 100)\nprint(linear_ae_loss(*pca_solution(X - X.mean(1, keepdims=True), 2), X))"],
    "q_graph_clustering": ["X, y = get_data()\nshow_data_results(X, kmeans_baseline(X), 'kmeans.png')", "print(ari_table())"],
}


def module_to_notebook(source: str, module: str) -> str:
    """The module as a Colab-style notebook: one cell per top-level definition, plus the
    magics, shell lines, markdown and experiment cells a student's notebook has around them."""
    import ast

    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    cells: list[dict] = [
        {"cell_type": "markdown", "metadata": {}, "source": [f"# {module}\n", "Run all cells in order.\n"]},
        {"cell_type": "code", "metadata": {}, "execution_count": 1, "outputs": [], "source": ["!pip install -q torch\n", "%matplotlib inline\n"]},
    ]
    chunk: list[str] = []
    for node in tree.body:
        begin = (node.decorator_list[0].lineno if getattr(node, "decorator_list", None) else node.lineno) - 1
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and chunk:
            cells.append({"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": chunk})
            chunk = []
        chunk += lines[begin:node.end_lineno] + ["\n"]
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            cells.append({"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": chunk})
            cells.append({"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": [f"{node.name}?\n"]})
            chunk = []
    if chunk:
        cells.append({"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": chunk})
    for noise in _NOTEBOOK_NOISE.get(module, []):
        cells.append({"cell_type": "code", "metadata": {}, "execution_count": 7, "outputs": [{"output_type": "stream", "name": "stdout", "text": ["epoch 1\n"]}], "source": [ln + "\n" for ln in noise.split("\n")]})
    cells.append({"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": ["%%bash\n", "ls /content\n"]})
    notebook = {"cells": cells, "metadata": {"colab": {"provenance": []}, "kernelspec": {"display_name": "Python 3", "name": "python3"}, "language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 0}
    return json.dumps(notebook, indent=1)


def _substitute(data: bytes, subs: dict[str, str]) -> bytes:
    for key, value in subs.items():
        data = data.replace(f"@@{key}@@".encode(), value.encode())
    return data


def zip_folder(folder: Path, target: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in sorted(folder.rglob("*")):
            if item.is_file() and not item.is_symlink():
                archive.write(item, (prefix.rstrip("/") + "/" if prefix else "") + item.relative_to(folder).as_posix())
    return target


def _zip_entry(archive: zipfile.ZipFile, name: str, data: bytes, mode: int = 0o100644) -> None:
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
    info.external_attr = mode << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def _build_zip_slip(fixture: Fixture, dest: Path, subs: dict[str, str]) -> Path:
    """A zip whose honest modules sit under hw7/ next to traversal, absolute and link entries."""
    marker = subs["MARKER"]
    payload = f"open({marker + '-zipslip'!r}, 'w').write('escaped')\n".encode()
    target = dest.parent / f"{dest.name}.zip"
    with zipfile.ZipFile(target, "w") as archive:
        for item in sorted(dest.iterdir()):
            if item.is_file():
                _zip_entry(archive, f"hw7/{item.name}", item.read_bytes())
        _zip_entry(archive, "../../../../../../tmp/" + Path(marker).name + "-slip.py", payload)
        _zip_entry(archive, "../q_rnn_last_name.py", payload)
        _zip_entry(archive, "/tmp/" + Path(marker).name + "-abs.py", payload)
        _zip_entry(archive, "C:/evil/q_rnn_last_name.py", payload)
        _zip_entry(archive, "hw7\\..\\..\\q_autoencoder.py", payload)
        _zip_entry(archive, "q_linear_autoencoder.py", str(REFERENCE / "q_rnn_and_grad.py").encode(), mode=0o120777)
        _zip_entry(archive, "__MACOSX/hw7/._q_rnn_and_grad.py", b"\x00\x05\x16\x07junk")
        _zip_entry(archive, "hw7/.ipynb_checkpoints/q_rnn_and_grad-checkpoint.ipynb", b"{not json")
        _zip_entry(archive, "deep/er/q_rnn_and_grad.py", payload)
        _zip_entry(archive, "hw7/q_rnn_and_grad.ipynb", b"{not json")
        big = zipfile.ZipInfo("hw7/padding.bin", date_time=(2026, 1, 1, 0, 0, 0))
        big.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(big, b"\0" * (8 * 1024 * 1024))
    return target


def _build_zip_bomb(fixture: Fixture, dest: Path, subs: dict[str, str]) -> Path:
    """A zip that expands past the intake's total-size cap (about 200 MB of zeros, 200 KB on disk)."""
    target = dest.parent / f"{dest.name}.zip"
    with zipfile.ZipFile(target, "w") as archive:
        for item in sorted(dest.iterdir()):
            if item.is_file():
                _zip_entry(archive, item.name, item.read_bytes())
        info = zipfile.ZipInfo("data/zeros.bin", date_time=(2026, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w", force_zip64=True) as handle:
            chunk = b"\0" * (1 << 20)
            for _ in range(210):
                handle.write(chunk)
    return target


def _build_not_a_zip(fixture: Fixture, dest: Path, subs: dict[str, str]) -> Path:
    target = dest.parent / f"{dest.name}.zip"
    target.write_bytes(b"PK\x03\x04" + os.urandom(2048))
    return target


def _build_hostile_names(fixture: Fixture, dest: Path, subs: dict[str, str]) -> Path:
    """Links, a FIFO and odd names next to honest modules (made at run time: git cannot hold them)."""
    marker = subs["MARKER"]
    (dest / "q_rnn_last_name.py").symlink_to(REFERENCE / "q_rnn_last_name.py")
    os.mkfifo(dest / "q_autoencoder.py")
    (dest / "q_linear_autoencoder.py").mkdir()
    (dest / "q_graph_clustering.py").symlink_to("/dev/zero")
    (dest / "linked_dir").symlink_to(REFERENCE, target_is_directory=True)
    (dest / "loop").symlink_to(dest / "loop")
    for name in ("new\nline.py", "tab\there.py", "-rf.py", "$(touch " + Path(marker).name + ").py", "ü" * 60 + ".py", "a" * 250 + ".py", " q_rnn_and_grad.py", "Q_RNN_AND_GRAD.PY"):
        (dest / name).write_bytes(f"open({marker + '-name'!r}, 'w').write('ran')\n".encode())
    try:
        (dest / os.fsdecode(b"bad-\xff\xfe-bytes.py")).write_bytes(b"raise SystemExit\n")
    except (OSError, UnicodeError):
        pass
    return dest


def _build_symlinked_module(fixture: Fixture, dest: Path, subs: dict[str, str]) -> Path:
    target = dest / f"{fixture.module}.py"
    if target.exists():
        target.unlink()
    target.symlink_to(REFERENCE / f"{fixture.module}.py")
    return dest


BUILDERS: dict[str, Callable[[Fixture, Path, dict[str, str]], Path]] = {
    "symlinked_module": _build_symlinked_module,
    "zip_slip": _build_zip_slip,
    "zip_bomb": _build_zip_bomb,
    "not_a_zip": _build_not_a_zip,
    "hostile_names": _build_hostile_names,
}


# ============================================================================ results.json checks


def load_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def validate(instance: Any, schema: dict | None = None) -> list[str]:
    """Errors of ``instance`` against the JSON Schema subset used by the results schema ([] if valid)."""
    root = schema if schema is not None else load_schema()
    errors: list[str] = []

    def resolve(node: dict) -> dict:
        seen = 0
        while "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise ValueError(f"unsupported $ref {ref}")
            target: Any = root
            for part in ref[2:].split("/"):
                target = target[part]
            node = target
            seen += 1
            if seen > 20:
                raise ValueError("$ref loop")
        return node

    def check(value: Any, node: dict, path: str) -> list[str]:
        node = resolve(node)
        errs: list[str] = []
        kinds = node.get("type")
        if kinds is not None:
            kinds = [kinds] if isinstance(kinds, str) else kinds
            if not any(_TYPES[k](value) for k in kinds):
                return [f"{path}: expected {'/'.join(kinds)}, got {type(value).__name__}"]
        if "enum" in node and value not in node["enum"]:
            errs.append(f"{path}: {value!r} is not one of {node['enum']}")
        if "const" in node and value != node["const"]:
            errs.append(f"{path}: must be {node['const']!r}")
        if _TYPES["number"](value):
            if "minimum" in node and value < node["minimum"]:
                errs.append(f"{path}: {value} < minimum {node['minimum']}")
            if "maximum" in node and value > node["maximum"]:
                errs.append(f"{path}: {value} > maximum {node['maximum']}")
            if isinstance(value, float) and value != value:
                errs.append(f"{path}: NaN")
        if isinstance(value, str):
            if "maxLength" in node and len(value) > node["maxLength"]:
                errs.append(f"{path}: longer than {node['maxLength']}")
            if "minLength" in node and len(value) < node["minLength"]:
                errs.append(f"{path}: shorter than {node['minLength']}")
            if "pattern" in node and not re.search(node["pattern"], value):
                errs.append(f"{path}: does not match {node['pattern']}")
        if isinstance(value, list):
            if "minItems" in node and len(value) < node["minItems"]:
                errs.append(f"{path}: fewer than {node['minItems']} items")
            if "items" in node:
                for i, item in enumerate(value):
                    errs += check(item, node["items"], f"{path}[{i}]")
        if isinstance(value, dict):
            for key in node.get("required", []):
                if key not in value:
                    errs.append(f"{path}: missing required key {key!r}")
            props = node.get("properties", {})
            extra = node.get("additionalProperties", True)
            for key, item in value.items():
                if key in props:
                    errs += check(item, props[key], f"{path}.{key}")
                elif extra is False:
                    errs.append(f"{path}: unexpected key {key!r}")
                elif isinstance(extra, dict):
                    errs += check(item, extra, f"{path}.{key}")
        if "anyOf" in node and not any(not check(value, sub, path) for sub in node["anyOf"]):
            errs.append(f"{path}: matches none of anyOf")
        if "allOf" in node:
            for sub in node["allOf"]:
                errs += check(value, sub, path)
        return errs

    errors = check(instance, root, "$")
    return errors


def results_problems(results: Any, raw: bytes | None = None) -> list[str]:
    """Schema errors plus the grader's own promises: caps, finished, scores within bounds."""
    from autograder.results import TEST_OUTPUT_CAP, TOP_OUTPUT_CAP

    problems = validate(results)
    if problems:
        return problems
    if raw is not None:
        try:
            json.loads(raw.decode("utf-8"), parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
        except (ValueError, UnicodeDecodeError) as exc:
            problems.append(f"not strict JSON: {exc}")
    if not results.get("extra_data", {}).get("finished"):
        problems.append("extra_data.finished is not true")
    if len(results.get("output", "")) > TOP_OUTPUT_CAP:
        problems.append(f"top-level output has {len(results['output'])} characters (cap {TOP_OUTPUT_CAP})")
    total = 0.0
    for t in results["tests"]:
        if len(t.get("output", "")) > TEST_OUTPUT_CAP:
            problems.append(f"{t.get('number')}: output has {len(t['output'])} characters (cap {TEST_OUTPUT_CAP})")
        if t.get("score", 0) > t.get("max_score", 0) + 1e-9:
            problems.append(f"{t.get('number')}: score {t['score']} above max_score {t['max_score']}")
        if (t.get("status") == "passed") != (t.get("score", 0) >= t.get("max_score", 0)):
            if t.get("max_score", 0) > 0:
                problems.append(f"{t.get('number')}: status {t.get('status')} with {t.get('score')}/{t.get('max_score')}")
        total += t.get("score", 0)
    if abs(total - results.get("score", total)) > 1e-6:
        problems.append(f"score {results.get('score')} is not the sum of the tests' scores {total}")
    return problems


def hidden_leaks(results: dict) -> list[str]:
    """Text of non-visible tests (failing inputs, printed output) that shows up in visible places."""
    visible_text = results.get("output", "") + "\n" + "\n".join(t.get("name", "") + "\n" + t.get("output", "") for t in results["tests"] if t.get("visibility", "visible") == "visible")
    leaks = []
    for t in results["tests"]:
        if t.get("visibility", "visible") == "visible":
            continue
        for line in t.get("output", "").splitlines():
            line = line.strip()
            if len(line) >= 16 and ("Smallest failing input" in line or "HIDDEN-INPUT" in line) and line in visible_text:
                leaks.append(f"{t['number']}: {line[:80]}")
        for match in re.findall(r"HIDDEN-INPUT<<[^>]*>>", t.get("output", "")):
            if match in visible_text:
                leaks.append(f"{t['number']}: {match[:80]}")
    return leaks


_SECRET_CACHE: dict[str, set[str]] = {}


def secret_lines() -> set[str]:
    """Distinctive lines of the trusted side (checks, reference) that no submission shows."""
    if "lines" in _SECRET_CACHE:
        return _SECRET_CACHE["lines"]
    public: set[str] = set()
    for path in list(TEMPLATE.glob("*.py")) + list((PROJECT_ROOT / "autograder" / "probes").glob("*.py")) + [PROJECT_ROOT / "autograder" / "messages.toml"]:
        public |= {ln.strip() for ln in path.read_text(encoding="utf-8", errors="replace").splitlines()}
    secret: set[str] = set()
    for path in list((PROJECT_ROOT / "autograder" / "checks").glob("*.py")) + list(REFERENCE.glob("*.py")):
        for ln in path.read_text(encoding="utf-8", errors="replace").splitlines():
            ln = ln.strip()
            if len(ln) >= 28 and ln not in public and not ln.startswith(("#", "from ", "import ", '"""', "def ", "class ", "return ", "@")):
                secret.add(ln)
    _SECRET_CACHE["lines"] = secret
    return secret


def leaked_secrets(results_text: str, submission_texts: Iterable[str]) -> list[str]:
    """Secret lines that appear in the results but not in the submission's own files."""
    own: set[str] = set()
    for text in submission_texts:
        own |= {ln.strip() for ln in text.splitlines()}
    found = []
    for line in secret_lines():
        if line not in own and line in results_text:
            found.append(line[:100])
    return sorted(found)


def _submission_texts(path: Path) -> list[str]:
    texts = []
    if path.is_dir():
        for item in path.rglob("*"):
            try:
                if item.is_file() and not item.is_symlink() and item.stat().st_size < 2_000_000:
                    texts.append(item.read_text(encoding="utf-8", errors="replace"))
            except OSError:
                pass
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.file_size < 2_000_000:
                    texts.append(archive.read(info).decode("utf-8", "replace"))
    return texts


# ============================================================================ grading


@dataclass
class Observation:
    """What one grading produced (plain data, so it can cross process boundaries)."""

    key: str
    results: dict | None = None
    raw_ok: bool = True
    outcomes: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    error: str = ""
    problems: list[str] = field(default_factory=list)  # containment / validity problems seen while grading
    notes: list[str] = field(default_factory=list)
    leaked: list[str] = field(default_factory=list)


def _grade_in_process(fixture: Fixture, only: tuple[str, ...], workdir: Path, shared_sandbox: bool) -> Observation:
    """Build and grade one fixture in this process (pool worker)."""
    from autograder.config import GradeConfig
    from autograder.runner import grade

    obs = Observation(fixture.key)
    started = time.monotonic()
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        submission = build_submission(fixture, workdir / "submission")
        results_path = workdir / "results" / "results.json"
        results_path.parent.mkdir(parents=True, exist_ok=True)
        report = grade(GradeConfig(submission=submission, results=results_path, only=only, kill_whole_uid=not shared_sandbox, work_dir=workdir))
        obs.outcomes = [asdict(o) for o in report.outcomes]
        raw = results_path.read_bytes()
        obs.results = json.loads(raw)
        obs.problems += results_problems(obs.results, raw)
        obs.problems += _report_matches(obs.results, obs.outcomes)
        obs.problems += [f"hidden text leaked: {x}" for x in hidden_leaks(obs.results)]
        obs.leaked = leaked_secrets(raw.decode("utf-8", "replace"), _submission_texts(submission))
    except Exception:
        obs.error = traceback.format_exc(limit=8)
    obs.seconds = time.monotonic() - started
    return obs


def _report_matches(results: dict, outcomes: list[dict]) -> list[str]:
    """The file on disk says what the grader decided (nobody rewrote it)."""
    problems = []
    by_id = {t["number"]: t for t in results.get("tests", [])}
    if len(by_id) != len(outcomes):
        problems.append(f"results.json lists {len(by_id)} tests, the grader decided {len(outcomes)}")
    for o in outcomes:
        t = by_id.get(o["id"])
        if t is None:
            problems.append(f"{o['id']} missing from results.json")
        elif abs(t["score"] - round(o["score"], 4)) > 1e-9 or abs(t["max_score"] - round(o["max_score"], 4)) > 1e-9:
            problems.append(f"{o['id']}: results.json says {t['score']}/{t['max_score']}, the grader decided {o['score']}/{o['max_score']}")
    return problems


def _pool_job(args: tuple[dict, tuple[str, ...], str, bool]) -> dict:
    fixture_data, only, workdir, shared = args
    fixture = Fixture(**{k: (tuple(tuple(x) if isinstance(x, list) else x for x in v) if k == "patches" else v) for k, v in fixture_data.items()})
    fixture = _fix_patches(fixture)
    obs = _grade_in_process(fixture, only, Path(workdir), shared)
    shutil.rmtree(workdir, ignore_errors=True)
    return asdict(obs)


def _fixture_data(f: Fixture) -> dict:
    return {k: getattr(f, k) for k in f.__dataclass_fields__}


def _fix_patches(f: Fixture) -> Fixture:
    patches = tuple((m, tuple((b, a) for b, a in edits)) for m, edits in f.patches)
    return Fixture(**{**_fixture_data(f), "patches": patches})


# ---------------------------------------------------------------------------- adversarial


class SandboxUids:
    """The uids a worker can run under: the sandbox user's and the private pool."""

    def __init__(self, named: int) -> None:
        self.named = named

    def __contains__(self, uid: object) -> bool:
        return uid == self.named or uid in SANDBOX_UID_POOL


def sandbox_uid() -> SandboxUids | None:
    if os.geteuid() != 0:
        return None
    try:
        return SandboxUids(pwd.getpwnam(DEFAULT_SANDBOX_USER).pw_uid)
    except KeyError:
        return None


def _proc_table() -> dict[int, tuple[int, int, str]]:
    """pid -> (ppid, real uid, command line) for every visible process."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            uid = None
            with open(f"/proc/{entry}/status") as handle:
                for line in handle:
                    if line.startswith("Uid:"):
                        uid = int(line.split()[1])
                        break
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    cmd = handle.read(300).replace(b"\0", b" ").decode("utf-8", "replace").strip()
            except OSError:
                cmd = ""
            table[int(entry)] = (int(fields[1]), uid if uid is not None else -1, cmd)
        except (OSError, IndexError, ValueError):
            pass
    return table


def descendants(root: int, table: dict[int, tuple[int, int, str]] | None = None) -> list[int]:
    table = table if table is not None else _proc_table()
    found, frontier = [], [root]
    while frontier:
        current = frontier.pop()
        for pid, (ppid, _, _) in table.items():
            if ppid == current and pid not in found:
                found.append(pid)
                frontier.append(pid)
    return found


def _boot_ticks() -> int:
    """Now, in the clock ticks since boot that /proc/<pid>/stat uses for a process's start time."""
    with open("/proc/uptime") as handle:
        return int(float(handle.read().split()[0]) * os.sysconf("SC_CLK_TCK"))


def _start_ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return int(handle.read().rsplit(b")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return -1


def case_processes(marker: str, uid: int | None, since_ticks: int) -> list[tuple[int, str]]:
    """Processes of one case still alive: any whose command line names the case's folder (the
    grader's children inherit it), and any sandbox-uid orphan (parent init, or this process)
    started during the case. A process that escaped its grader's subreaper ends up an orphan;
    sandbox-uid processes with a living parent belong to other graders or test runs on this
    machine and are left alone."""
    table = _proc_table()
    me = os.getpid()
    found = []
    for pid, (ppid, u, cmd) in table.items():
        if pid == me:
            continue
        if marker in cmd:
            found.append((pid, cmd))
            continue
        if uid is None or u not in uid or _start_ticks(pid) < since_ticks - 1:
            continue
        if ppid in (0, 1, me):
            found.append((pid, cmd))
    return found


def sandbox_processes(uid: int | None) -> list[tuple[int, str]]:
    if uid is None:
        return []
    return [(pid, cmd) for pid, (_, u, cmd) in _proc_table().items() if u in uid]


def _kill_pids(pids: Iterable[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


STATE_TREES = ("reference", "data", "student_template")
STATE_FILES = ("autograder/rubric.toml", "autograder/messages.toml")


def grader_state() -> dict[str, str]:
    """sha256 of the files an honest grading relies on: the reference, the rubric, the messages,
    the data and the template; plus every file of the project owned by the sandbox uid.

    The grader's own code is not hashed: other engineers edit it while the proof runs, and a
    submission (running as the sandbox uid) could only change it by owning it, which the
    ownership scan catches.
    """
    digests = {}
    paths = [PROJECT_ROOT / f for f in STATE_FILES]
    for top in STATE_TREES:
        root = PROJECT_ROOT / top
        if root.exists():
            paths += sorted(p for p in root.rglob("*") if "__pycache__" not in p.parts and p.is_file())
    for path in paths:
        try:
            digests[str(path.relative_to(PROJECT_ROOT))] = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as exc:
            digests[str(path.relative_to(PROJECT_ROOT))] = f"unreadable: {exc}"
    uid = sandbox_uid()
    if uid is not None:
        for folder, dirs, names in os.walk(PROJECT_ROOT):
            for name in dirs + names:
                full = os.path.join(folder, name)
                try:
                    if os.lstat(full).st_uid in uid:
                        digests[f"owned by the sandbox uid: {os.path.relpath(full, PROJECT_ROOT)}"] = "sandbox"
                except OSError:
                    pass
    return digests


def state_changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    changed = [k for k in before if after.get(k) != before[k]]
    added = [k for k in after if k not in before]
    return [f"changed {k}" for k in changed] + [f"added {k}" for k in added]


class LoopbackListener:
    """TCP and UDP listeners on 127.0.0.1 that record every connection or datagram (attack targets)."""

    def __init__(self) -> None:
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen(16)
        self.tcp.settimeout(0.2)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.settimeout(0.2)
        self.events: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._accept, daemon=True), threading.Thread(target=self._recv, daemon=True)]
        for t in self._threads:
            t.start()

    @property
    def tcp_port(self) -> int:
        return self.tcp.getsockname()[1]

    @property
    def udp_port(self) -> int:
        return self.udp.getsockname()[1]

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, addr = self.tcp.accept()
            except (socket.timeout, OSError):
                continue
            conn.settimeout(0.5)
            try:
                data = conn.recv(200)
            except OSError:
                data = b""
            self.events.append(f"tcp connection from {addr}: {data[:60]!r}")
            conn.close()

    def _recv(self) -> None:
        while not self._stop.is_set():
            try:
                data, addr = self.udp.recvfrom(2048)
            except (socket.timeout, OSError):
                continue
            self.events.append(f"udp datagram from {addr}: {data[:60]!r}")

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=2)
        self.tcp.close()
        self.udp.close()


def _write_rubric(path: Path, timeout: float | None, hidden: Iterable[str]) -> None:
    """A copy of the rubric with shorter per-check timeouts and/or some checks hidden."""
    from autograder import rubric as rubric_mod

    rubric = rubric_mod.load()
    hidden = tuple(hidden)

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, str):
            return json.dumps(v)
        return "[" + ", ".join(value(x) for x in v) + "]"

    lines = ["[grader]", f"deadline_seconds = {value(rubric.grader.deadline_seconds)}", f"version = {value(rubric.grader.version)}", ""]
    for c in rubric.checks:
        lines.append("[[check]]")
        for name in c.__dataclass_fields__:
            v = getattr(c, name)
            if name == "timeout" and timeout is not None:
                v = min(v, timeout)
            if name == "visibility" and any(in_parts(c.id, (h,)) for h in hidden):
                v = "hidden"
            lines.append(f"{name} = {value(list(v) if isinstance(v, tuple) else v)}")
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


def _files_of_uid(uid: int | None, since: float, roots: Iterable[str] = ("/tmp", "/dev/shm", "/var/tmp")) -> list[str]:
    """Entries the sandbox uid created in the world-writable folders during a case.

    Only the top level is scanned: below it, only the uid's own folders are writable
    (its per-check scratch folders live in the grader's work folder and are removed by it)."""
    if uid is None:
        return []
    found = []
    for root in roots:
        try:
            names = os.listdir(root)
        except OSError:
            continue
        for name in names:
            full = os.path.join(root, name)
            try:
                info = os.lstat(full)
            except OSError:
                continue
            if info.st_uid in uid and info.st_mtime >= since - 1:
                found.append(full)
    return found


def _remove_paths(paths: Iterable[str]) -> None:
    for path in sorted(paths, key=len, reverse=True):
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)
        except OSError:
            pass


def run_case(fixture: Fixture, only: tuple[str, ...], workdir: Path, state_before: dict[str, str] | None = None) -> Observation:
    """Grade one adversarial case in a fresh child process and check containment afterwards."""
    obs = Observation(fixture.key)
    started = time.monotonic()
    wall_start = time.time()
    uid = sandbox_uid()
    opts = fixture.options
    if opts.get("requires_root") and uid is None:
        obs.error = "SKIP: needs root and the sandbox user (uid switching)"
        return obs
    token = hashlib.sha256(os.urandom(16)).hexdigest()[:12]
    workdir.mkdir(parents=True, exist_ok=True)
    os.chmod(workdir, 0o755)
    if not _traversable(workdir):
        obs.error = f"the case folder {workdir} is not traversable by the sandbox user: use traversable_folder()"
        return obs
    results_dir = workdir / "results"
    results_dir.mkdir()
    os.chmod(results_dir, 0o755)
    results = results_dir / "results.json"
    canary = results_dir / "canary.txt"
    canary_text = f"canary {token}\n"
    canary.write_text(canary_text)
    os.chmod(canary, 0o644)
    marker = f"/tmp/hw7verify-{token}-marker"
    heartbeat = f"/tmp/hw7verify-{token}-heartbeat"
    listener = LoopbackListener()
    since_ticks = _boot_ticks()
    state_before = state_before if state_before is not None else grader_state()
    try:
        subs = {
            "RESULTS": str(results),
            "RESULTS_DIR": str(results_dir),
            "CANARY": str(canary),
            "TOKEN": token,
            "MARKER": marker,
            "HEARTBEAT": heartbeat,
            "PORT": str(listener.tcp_port),
            "UDP_PORT": str(listener.udp_port),
            "PROJECT": str(PROJECT_ROOT),
            "REFERENCE": str(REFERENCE),
            "RUBRIC": str(PROJECT_ROOT / "autograder" / "rubric.toml"),
        }
        submission = build_submission(fixture, workdir / "submission", subs)
        pre = opts.get("pre_results")
        if pre == "symlink":
            results.symlink_to(canary)
        rubric_path = None
        if opts.get("timeout") is not None or opts.get("hidden"):
            rubric_path = workdir / "rubric.toml"
            _write_rubric(rubric_path, opts.get("timeout"), opts.get("hidden", ()))
        job = {
            "submission": str(submission),
            "results": str(results),
            "only": list(only),
            "rubric": str(rubric_path) if rubric_path else None,
            "deadline": opts.get("deadline"),
            "out": str(workdir / "child.json"),
            "work_dir": str(workdir),
        }
        (workdir / "job.json").write_text(json.dumps(job))
        child_timeout = float(opts.get("child_timeout", CHILD_TIMEOUT))
        proc = subprocess.Popen(
            [sys.executable, "-m", "autograder.verify", "--child", str(workdir / "job.json")],
            cwd=str(PROJECT_ROOT), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            log, _ = proc.communicate(timeout=child_timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            log, _ = proc.communicate()
            obs.problems.append(f"the grader did not finish within {child_timeout:.0f} s")
        except BaseException:  # interrupted: never leave a grading child (and its sandbox) behind
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
            proc.wait()
            raise
        grade_end = time.time()
        child = {}
        try:
            child = json.loads((workdir / "child.json").read_text())
        except (OSError, ValueError):
            obs.problems.append(f"the grading child wrote no report (exit {proc.returncode}): {log.decode('utf-8', 'replace')[-1500:]}")
        if child.get("error"):
            obs.problems.append(f"the grader crashed: {child['error'][-1500:]}")
        obs.outcomes = child.get("outcomes", [])
        for pid, cmd in child.get("descendants", []):
            obs.problems.append(f"process {pid} ({cmd[:60]}) of the submission outlived grade()")
        # Let anything that escaped show itself: a daemon rewriting files, late processes.
        time.sleep(float(opts.get("settle", 1.0)))
        leftovers = case_processes(str(workdir), uid, since_ticks)
        for _ in range(20):
            if not leftovers:
                break
            time.sleep(0.1)
            leftovers = case_processes(str(workdir), uid, since_ticks)
        for pid, cmd in leftovers:
            obs.problems.append(f"process {pid} ({cmd[:60]}) of the submission left after grading")
        _kill_pids([p for p, _ in leftovers])
        # results.json: present, a regular file, valid, exactly what the grader wrote.
        if results.is_symlink() or not results.is_file():
            obs.problems.append("results.json is not a regular file after grading")
        else:
            raw = results.read_bytes()
            if child.get("results_sha") and hashlib.sha256(raw).hexdigest() != child["results_sha"]:
                obs.problems.append("results.json changed after the grader's last write")
            try:
                obs.results = json.loads(raw)
                obs.problems += results_problems(obs.results, raw)
                obs.problems += _report_matches(obs.results, obs.outcomes)
                obs.problems += [f"hidden text leaked: {x}" for x in hidden_leaks(obs.results)]
                obs.leaked = leaked_secrets(raw.decode("utf-8", "replace"), _submission_texts(submission))
            except ValueError as exc:
                obs.problems.append(f"results.json is not JSON: {exc}")
        if canary.read_text() != canary_text:
            obs.problems.append("the canary next to results.json was modified")
        stray = sorted(p.name for p in results_dir.iterdir() if p.name not in ("results.json", "canary.txt"))
        if stray:
            obs.problems.append(f"unexpected files next to results.json: {stray}")
        for path in sorted(Path("/tmp").glob(f"hw7verify-{token}-marker*")):
            obs.problems.append(f"hostile code ran outside the sandbox or escaped intake: {path} exists")
            _remove_paths([str(path)])
        for event in listener.events:
            obs.problems.append(f"network: {event}")
        if os.path.exists(heartbeat):
            before = os.stat(heartbeat).st_mtime
            time.sleep(0.6)
            after = os.stat(heartbeat).st_mtime if os.path.exists(heartbeat) else before
            if after != before or before > grade_end + 0.05:
                obs.problems.append("a background process kept writing after the grader finished")
        for change in state_changes(state_before, grader_state()):
            obs.problems.append(f"grader state: {change}")
        files = _files_of_uid(uid, wall_start)
        if files:
            obs.notes.append(f"left {len(files)} file(s) in world-writable folders (removed): {', '.join(files[:4])}")
            _remove_paths(files)
        for root in ("/tmp", "/dev/shm"):
            _remove_paths(str(p) for p in Path(root).glob(f"hw7verify-{token}*"))
    except Exception:
        obs.error = traceback.format_exc(limit=8)
    finally:
        listener.close()
    obs.seconds = time.monotonic() - started
    return obs


def _child_main(job_path: str) -> int:
    """Grade as production does, as a subreaper; report outcomes and any surviving descendant."""
    from autograder.sandbox import hardening

    job = json.loads(Path(job_path).read_text())
    hardening.become_subreaper()
    out: dict[str, Any] = {}
    try:
        from autograder.config import GradeConfig
        from autograder.runner import grade

        config = GradeConfig(
            submission=Path(job["submission"]),
            results=Path(job["results"]),
            only=tuple(job["only"]),
            rubric_path=Path(job["rubric"]) if job.get("rubric") else None,
            deadline_seconds=job.get("deadline"),
            work_dir=Path(job["work_dir"]) if job.get("work_dir") else None,
        )
        report = grade(config)
        out["outcomes"] = [asdict(o) for o in report.outcomes]
    except BaseException:
        out["error"] = traceback.format_exc(limit=10)
    try:
        out["results_sha"] = hashlib.sha256(Path(job["results"]).read_bytes()).hexdigest()
    except OSError:
        out["results_sha"] = None
    table = _proc_table()
    left = descendants(os.getpid(), table)
    out["descendants"] = [(pid, table.get(pid, (0, 0, ""))[2]) for pid in left]
    _kill_pids(left)
    Path(job["out"]).write_text(json.dumps(out))
    return 0


# ============================================================================ judging


@dataclass
class Verdict:
    key: str
    kind: str
    name: str
    part: str
    ok: bool  # the fixture behaved exactly as the catalogue says
    caught: bool  # mutants: lost points; variants: full marks; adversarial: contained
    failed: list[str] = field(default_factory=list)
    detail: str = ""
    seconds: float = 0.0
    skipped: str = ""
    notes: list[str] = field(default_factory=list)
    observation: Observation | None = None
    known: str = ""  # a documented weakness or grader issue: failing as_catalogued is then expected (ok)
    as_catalogued: bool = False  # behaved exactly as its catalogue entry says (before any known-issue inversion)


def failed_checks(obs: Observation, only: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(graded checks that lost points, graded checks that scored) from the observation."""
    lost, scored = [], []
    for o in obs.outcomes:
        if not in_parts(o["id"], only):
            continue
        if o["score"] < o["max_score"] or o["status"] in ("failed", "not run"):
            lost.append(o["id"])
        else:
            scored.append(o["id"])
    return sorted(lost), sorted(scored)


def judge(fixture: Fixture, obs: Observation, only: tuple[str, ...]) -> Verdict:
    v = Verdict(fixture.key, fixture.kind, fixture.name, fixture.part, ok=False, caught=False, seconds=obs.seconds, observation=obs, notes=list(obs.notes))
    if obs.error.startswith("SKIP:"):
        v.skipped = obs.error[5:].strip()
        return v
    if obs.error:
        v.detail = f"grading failed: {obs.error.strip().splitlines()[-1] if obs.error.strip() else ''}\n{obs.error[-1200:]}"
        return v
    lost, scored = failed_checks(obs, only)
    v.failed = lost
    messages = {o["id"]: o["message"] for o in obs.outcomes}
    problems = list(obs.problems) + [f"trusted-side text in the results: {x}" for x in obs.leaked]
    grader_error = _grader_error_prefix()
    for check_id in lost:
        if grader_error in messages.get(check_id, ""):
            problems.append(f"{check_id}: a grader error, not a verdict: {_first_line(messages[check_id])}")
    if not lost and not scored:
        problems.append(f"no check of {', '.join(only)} was graded")
    expect_ok = True
    detail = []
    if fixture.outcome == "full":
        expect_ok = not lost
        if lost:
            detail.append("lost points on " + ", ".join(f"{i} ({_first_line(messages.get(i, ''))})" for i in lost))
    elif fixture.outcome == "zero":
        expect_ok = not scored
        if scored:
            detail.append("scored on " + ", ".join(scored))
    elif fixture.outcome == "fails":
        want = sorted(fixture.fails)
        expect_ok = lost == want
        if not expect_ok:
            missed = sorted(set(want) - set(lost))
            extra = sorted(set(lost) - set(want))
            if missed:
                detail.append("passed but should fail: " + ", ".join(missed))
            if extra:
                detail.append("failed but should pass: " + ", ".join(f"{i} ({_first_line(messages.get(i, ''))})" for i in extra))
    elif fixture.outcome == "lost":
        expect_ok = bool(lost)
        if not lost:
            detail.append("lost no points")
    for check_id, needle in fixture.options.get("expect", {}).get("messages", {}).items() if fixture.kind == "adversarial" else []:
        if needle not in messages.get(check_id, ""):
            expect_ok = False
            detail.append(f"{check_id}: message lacks {needle!r}: {_first_line(messages.get(check_id, ''))}")
    if fixture.kind == "adversarial" and obs.results is not None:
        text = json.dumps(obs.results)
        for needle in fixture.options.get("expect", {}).get("absent", []):
            if needle in text:
                problems.append(f"{needle!r} appears in results.json")
    contained = not problems
    if fixture.kind in ("mutant", "variant"):
        v.caught = (bool(lost) if fixture.kind == "mutant" else expect_ok) and not problems
        v.ok = v.as_catalogued = expect_ok and not problems
        v.known = str(fixture.options.get("known_issue", ""))
        if v.known:
            v.ok = not v.ok  # the documented grader issue still shows
            if v.ok is False:
                detail.append("the documented issue no longer shows: remove known_issue from the catalogue")
    else:
        v.caught = contained and expect_ok
        v.ok = v.as_catalogued = v.caught
        v.known = str(fixture.options.get("known_weakness", ""))
        if v.known:
            v.ok = not v.caught  # still reproduces, as documented
            if v.caught:
                detail.append("the documented weakness no longer reproduces: remove known_weakness from its case.toml")
    v.detail = "; ".join(detail + problems)
    return v


def _grader_error_prefix() -> str:
    """The start of messages.toml's grader_error: a grader bug, never a fixture's expected outcome."""
    from autograder.messages import say

    return say("grader_error", detail="\0").split("\0")[0].strip()


def _first_line(text: str) -> str:
    text = text.strip()
    return (text.splitlines()[0] if text else "")[:140]


def foreign_kill_suspected(fixture: Fixture, verdict: Verdict) -> bool:
    """Interference from outside, worth grading the fixture again (at most RETRIES times, noted):
    a check the catalogue expects to pass died of SIGKILL (another grader on this machine,
    sharing the sandbox uid with kill_whole_uid on, kills every worker of the uid when its own
    check ends), or the reference/rubric changed during an adversarial case (someone edited it)."""
    if verdict.ok or verdict.skipped or verdict.observation is None:
        return False
    problems = [p for p in verdict.detail.split("; ") if p]
    if problems and all(p.startswith(("grader state: changed", "failed but should pass", "passed but should fail")) for p in problems) and any(p.startswith("grader state: changed") for p in problems):
        return True  # someone edited the reference or rubric during the case: look again
    allowed = set(fixture.fails) if fixture.outcome == "fails" else set()
    if fixture.outcome in ("zero", "lost"):
        return False
    messages = {o["id"]: o["message"] for o in verdict.observation.outcomes}
    return any(KILLED in messages.get(i, "") for i in verdict.failed if i not in allowed)


# ============================================================================ running the proof


@dataclass
class Proof:
    verdicts: list[Verdict]
    pending: list[tuple[Fixture, str]]
    invariants: list[tuple[str, bool, str]]  # (name, ok, detail)
    seconds: float

    def count(self, kind: str, part: str | None = None) -> tuple[int, int]:
        vs = [v for v in self.verdicts if v.kind == kind and not v.skipped and (part is None or v.part == part)]
        return sum(v.caught for v in vs), len(vs)

    @property
    def ok(self) -> bool:
        return all(v.ok for v in self.verdicts if not v.skipped) and all(ok for _, ok, _ in self.invariants)


def honest_fixture(parts: dict[str, tuple[str, ...]]) -> Fixture:
    modules = tuple(m for m in MODULE_PART if m in parts)
    only = tuple(p for m in modules for p in parts[m])
    return Fixture(kind="honest", name="reference", module=modules[0] if modules else "q_rnn_and_grad", modules=modules, only=only, outcome="full")


def template_fixture(parts: dict[str, tuple[str, ...]]) -> Fixture:
    modules = tuple(m for m in MODULE_PART if m in parts and (TEMPLATE / f"{m}.py").is_file())
    only = tuple(p for m in modules for p in parts[m])
    return Fixture(kind="template", name="template", module=modules[0] if modules else "q_rnn_and_grad", modules=modules, only=only, base="template", outcome="zero")


def traversable_folder(prefix: str = "hw7verify-") -> Path:
    """A fresh work folder the sandbox user can traverse (0755 under /tmp).

    The grader's per-run folder (and its per-check scratch folders) live inside it; under a
    0700 folder (pytest's tmp_path, mkdtemp) the worker cannot enter its scratch folder and
    dies before running any student code.
    """
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(folder, 0o755)
    return folder


def grade_many(fixtures: list[Fixture], parts: dict[str, tuple[str, ...]], jobs: int, workroot: Path | None = None, progress: Callable[[Verdict], None] | None = None) -> list[Verdict]:
    """Grade mutants, variants, honest and template fixtures in a pool of spawned processes.

    ``workroot`` is ignored unless it is traversable by the sandbox user; a fresh folder is
    used (and removed) otherwise.
    """
    import multiprocessing

    verdicts: list[Verdict] = []
    if not fixtures:
        return verdicts
    own = workroot is None or not _traversable(workroot)
    if own:
        workroot = traversable_folder()
    try:
        return _grade_many(fixtures, parts, jobs, workroot, progress, multiprocessing)
    finally:
        if own:
            shutil.rmtree(workroot, ignore_errors=True)


def _traversable(path: Path) -> bool:
    path = Path(path).resolve()
    for folder in [path, *path.parents]:
        try:
            if not os.stat(folder).st_mode & 0o001:
                return False
        except OSError:
            return False
    return True


def _grade_many(fixtures, parts, jobs, workroot, progress, multiprocessing) -> list[Verdict]:
    verdicts: list[Verdict] = []
    shared = jobs > 1
    work = []
    for i, f in enumerate(fixtures):
        only = graded_parts(f, parts)
        work.append((f, only, (_fixture_data(f), only, str(workroot / f"{i:03d}-{f.kind}-{f.name}"), shared)))
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=max(1, min(jobs, len(work))), mp_context=context)
    try:
        futures = {pool.submit(_pool_job, args): (f, only, args, 1) for f, only, args in work}
        while futures:
            done, _ = wait(list(futures), return_when=FIRST_COMPLETED)
            for future in done:
                f, only, args, attempt = futures.pop(future)
                try:
                    obs = Observation(**_obs_fields(future.result()))
                except Exception:
                    obs = Observation(f.key, error=traceback.format_exc(limit=6))
                v = judge(f, obs, only)
                if attempt < RETRIES and foreign_kill_suspected(f, v):
                    futures[pool.submit(_pool_job, args)] = (f, only, args, attempt + 1)
                    continue
                if attempt > 1:
                    v.notes.append(f"graded {attempt} times: a worker was killed from outside (another grader sharing the sandbox uid?)")
                verdicts.append(v)
                if progress:
                    progress(v)
    except BaseException:  # interrupted: stop the pool's gradings now (their sandboxes die with them)
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    order = {f.key: i for i, f in enumerate(fixtures)}
    verdicts.sort(key=lambda v: order.get(v.key, 0))
    return verdicts


def _obs_fields(data: dict) -> dict:
    return {k: data[k] for k in Observation.__dataclass_fields__ if k in data}


def run_cases(fixtures: list[Fixture], parts: dict[str, tuple[str, ...]], workroot: Path | None = None, progress: Callable[[Verdict], None] | None = None) -> list[Verdict]:
    """Adversarial cases, one at a time (each may kill every process of the sandbox uid)."""
    if workroot is None or not _traversable(workroot):
        workroot = traversable_folder()
        try:
            return run_cases(fixtures, parts, workroot, progress)
        finally:
            shutil.rmtree(workroot, ignore_errors=True)
    verdicts = []
    for i, f in enumerate(fixtures):
        only = graded_parts(f, parts)
        notes: list[str] = []
        for attempt in range(1, RETRIES + 1):
            folder = workroot / f"case-{i:03d}-{f.name}-{attempt}"
            obs = run_case(f, only, folder)
            shutil.rmtree(folder, ignore_errors=True)
            v = judge(f, obs, only)
            if not foreign_kill_suspected(f, v):
                break
            earlier = [p for p in v.detail.split("; ") if p.startswith("grader state")]
            if earlier:
                notes.append(f"attempt {attempt}: {', '.join(earlier)} (an edit by someone else, or by the case: check)")
        v.notes += notes
        if attempt > 1:
            v.notes.append(f"graded {attempt} times: a worker was killed from outside, or the grader's files changed during the case")
        verdicts.append(v)
        if progress:
            progress(v)
    return verdicts


def determinism(parts: dict[str, tuple[str, ...]], fixtures: list[Fixture], workroot: Path | None, jobs: int) -> list[tuple[str, bool, str]]:
    """Grade each fixture twice: identical scores and messages (the seconds aside)."""
    out = []
    doubled = [f for f in fixtures for _ in range(2)]
    verdicts = grade_many(doubled, parts, jobs, workroot)
    for f in fixtures:
        pair = [v for v in verdicts if v.key == f.key]
        if len(pair) != 2 or any(v.observation is None or v.observation.results is None for v in pair):
            out.append((f"deterministic: {f.key}", False, "could not grade twice: " + "; ".join(v.detail for v in pair)))
            continue
        a, b = (_stable(v.observation.results) for v in pair)
        out.append((f"deterministic: {f.key}", a == b, "" if a == b else "the two runs differ: " + _diff(a, b)))
    return out


def _stable(results: dict) -> list[tuple]:
    return [(t["number"], t["score"], t["max_score"], t["status"], t.get("output", "")) for t in results["tests"]]


def _diff(a: list[tuple], b: list[tuple]) -> str:
    for x, y in zip(a, b):
        if x != y:
            return f"{x[0]}: {x[1:4]} {x[4][:100]!r} vs {y[1:4]} {y[4][:100]!r}"
    return "different lengths"


def prove(
    kinds: Iterable[str] = KINDS,
    names: Iterable[str] = (),
    parts_filter: Iterable[str] = (),
    jobs: int = 0,
    invariants: bool = True,
    default_only: bool = False,
    progress: Callable[[Verdict], None] | None = None,
    catalogue: Catalogue | None = None,
) -> Proof:
    """Run the proof: honest and template invariants, mutants and variants in parallel, then attacks."""
    started = time.monotonic()
    jobs = jobs or max(1, os.cpu_count() or 1)
    catalogue = catalogue or load_catalogue()
    selected = catalogue.select(kinds, names, parts_filter, default_only)
    workroot = traversable_folder()
    checks: list[tuple[str, bool, str]] = []
    try:
        batch = [f for f in selected if f.kind in ("mutant", "variant")]
        if invariants:
            batch = [honest_fixture(catalogue.parts), template_fixture(catalogue.parts)] + batch
        verdicts = grade_many(batch, catalogue.parts, jobs, workroot, progress)
        if invariants:
            honest = next(v for v in verdicts if v.kind == "honest")
            template = next(v for v in verdicts if v.kind == "template")
            checks.append(("reference gets full marks", honest.ok, honest.detail))
            checks.append(("template gets zero", template.ok, template.detail))
            verdicts = [v for v in verdicts if v.kind not in ("honest", "template")]
            sample = [f for f in selected if f.kind == "mutant"][:1] + [f for f in selected if f.kind == "variant"][:1]
            if sample:
                checks += determinism(catalogue.parts, sample, workroot, jobs)
        cases = [f for f in selected if f.kind == "adversarial"]
        verdicts += run_cases(cases, catalogue.parts, workroot, progress)
        if invariants and cases:
            after = grade_many([honest_fixture(catalogue.parts)], catalogue.parts, 1, workroot)[0]
            checks.append(("reference still gets full marks after the attacks", after.ok, after.detail))
    finally:
        shutil.rmtree(workroot, ignore_errors=True)
    return Proof(verdicts, [(f, why) for f, why in catalogue.pending if f.kind in set(kinds)], checks, time.monotonic() - started)


def format_report(proof: Proof, verbose: bool = False) -> str:
    """Per-part table, failures and survivors, pending fixtures, invariants; the summary lines last."""
    lines = []
    parts = [p for p in PART_ORDER if any(v.part == p for v in proof.verdicts) or any(f.part == p for f, _ in proof.pending)]
    lines.append(f"{'part':<6}{'mutants':>12}{'variants':>12}{'adversarial':>14}{'pending':>10}")
    for p in parts:
        cells = []
        for kind in KINDS:
            c, t = proof.count(kind, p)
            cells.append(f"{c}/{t}" if t else "-")
        pending = sum(1 for f, _ in proof.pending if f.part == p)
        lines.append(f"{p:<6}{cells[0]:>12}{cells[1]:>12}{cells[2]:>14}{pending or '-':>10}")
    known = [v for v in proof.verdicts if v.known and v.kind == "adversarial" and not v.caught and not v.skipped]
    if known:
        lines.append("")
        lines.append("known weaknesses (attacks NOT contained, documented in their case.toml):")
        for v in known:
            lines.append(f"  {v.name}: {v.known}")
            lines.append(f"    observed: {v.detail[:600]}")
    issues = [v for v in proof.verdicts if v.known and v.kind != "adversarial" and v.ok and not v.skipped]
    if issues:
        lines.append("")
        lines.append("known grader issues (documented in the catalogue):")
        for v in issues:
            lines.append(f"  {v.key}: {v.known}")
            lines.append(f"    observed: {v.detail[:600]}")
    bad = [v for v in proof.verdicts if not v.ok and not v.skipped]
    survivors = [v for v in proof.verdicts if v.kind == "mutant" and not v.caught and not v.skipped and not v.known]
    if survivors:
        lines.append("")
        lines.append("surviving mutants (no check lost a point):")
        for v in survivors:
            lines.append(f"  {v.name} [{v.part}]: {v.detail or 'all graded checks passed'}")
    wrong = [v for v in bad if v not in survivors]
    if wrong:
        lines.append("")
        lines.append("fixtures that did not behave as the catalogue says:")
        for v in wrong:
            lines.append(f"  {v.key} [{v.part}]: {v.detail[:1500]}")
    skipped = [v for v in proof.verdicts if v.skipped]
    if skipped:
        lines.append("")
        lines.append("skipped:")
        for v in skipped:
            lines.append(f"  {v.key}: {v.skipped}")
    notes = [(v, n) for v in proof.verdicts for n in v.notes]
    if notes:
        lines.append("")
        lines.append("notes:")
        for v, n in notes:
            lines.append(f"  {v.key}: {n}")
    if proof.pending:
        lines.append("")
        lines.append(f"pending ({len(proof.pending)}; their part's checks are not ready):")
        for f, why in proof.pending:
            lines.append(f"  {f.key} [{f.part}]: {why}")
    if proof.invariants:
        lines.append("")
        lines.append("invariants:")
        for name, ok, detail in proof.invariants:
            lines.append(f"  {'ok  ' if ok else 'FAIL'} {name}" + (f": {detail[:600]}" if detail and not ok else ""))
    if verbose:
        lines.append("")
        lines.append("timings:")
        for v in sorted(proof.verdicts, key=lambda v: -v.seconds):
            lines.append(f"  {v.seconds:7.1f} s  {v.key}")
    lines.append("")
    lines.append(f"wall time: {proof.seconds:.1f} s")
    for kind, label in (("mutant", "mutants"), ("variant", "variants"), ("adversarial", "adversarial")):
        c, t = proof.count(kind)
        lines.append(f"{label}: {c}/{t}")
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        sys.exit(_child_main(sys.argv[2]))
    print("usage: python -m autograder verify [--jobs N]  (this module's own entry point is internal)", file=sys.stderr)
    sys.exit(2)
