"""Helpers shared by the test suite: build submissions from the reference by small patches, grade them."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Iterable

from autograder.config import PROJECT_ROOT, GradeConfig
from autograder.runner import GradeReport, grade

REFERENCE = PROJECT_ROOT / "reference"
TEMPLATE = PROJECT_ROOT / "student_template"
MODULES = ("q_rnn_and_grad", "q_rnn_last_name", "q_autoencoder", "q_linear_autoencoder", "q_graph_clustering")


def catalogue_bugs(part: str, names: Iterable[str]) -> dict[str, tuple[tuple[str, ...], list[tuple[str, str]]]]:
    """name -> (the check ids it fails, its (before, after) patches of its module) for the named
    mutants of the proof catalogue's ``mutants/part<part>.toml``: the one table of student bugs."""
    from autograder.verify import load_fixture_files

    found = {f.name: f for f in load_fixture_files() if f.kind == "mutant" and f.source == f"part{part}.toml"}
    missing = sorted(set(names) - set(found))
    if missing:
        raise KeyError(f"not in the catalogue's mutants/part{part}.toml: {missing}")
    return {name: (found[name].fails, found[name].patch_map()[found[name].module]) for name in names}


class PatchError(AssertionError):
    """A patch's 'before' text does not occur exactly once in the module it patches."""


def make_submission(folder: Path, patches: dict[str, list[tuple[str, str]]] | None = None, source: Path = REFERENCE, modules: tuple[str, ...] = MODULES) -> Path:
    """Copy ``modules`` from ``source`` into ``folder`` and apply (before, after) text patches per module."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in modules:
        src = source / f"{name}.py"
        if src.exists():
            shutil.copy(src, folder / f"{name}.py")
    for name, edits in (patches or {}).items():
        path = folder / f"{name}.py"
        text = path.read_text()
        for before, after in edits:
            if text.count(before) != 1:
                raise PatchError(f"{name}: expected exactly one occurrence of {before!r}, found {text.count(before)}")
            text = text.replace(before, after)
        path.write_text(text)
    return folder


def run_grade(submission: Path, results: Path, only: tuple[str, ...] = (), **options) -> tuple[GradeReport, dict]:
    """Grade and return both the report and the parsed results.json."""
    report = grade(GradeConfig(submission=submission, results=results, only=only, **options))
    return report, json.loads(results.read_text())


def scores(results: dict) -> dict[str, tuple[float, float]]:
    """check id -> (score, max_score)."""
    return {t["number"]: (t["score"], t["max_score"]) for t in results["tests"]}


class GradedPart:
    """Grades each named submission of one module once (sandboxed, only ``part``) and keeps the results."""

    def __init__(self, root: Path, module: str, part: str) -> None:
        self.root, self.module, self.part = root, module, part
        self.results: dict[str, dict] = {}
        self.seconds: dict[str, dict[str, float]] = {}

    def __call__(self, name: str, patches: list[tuple[str, str]] | None = None, source: Path | None = None) -> dict:
        if name not in self.results:
            folder = self.root / name
            kwargs = {"source": source} if source is not None else {}
            make_submission(folder / "submission", {self.module: patches} if patches else None, modules=(self.module,), **kwargs)
            report, results = run_grade(folder / "submission", folder / "results.json", only=(self.part,), kill_whole_uid=False)
            self.results[name] = results
            self.seconds[name] = {o.id: o.seconds for o in report.outcomes if o.id.split(".")[0] == self.part}
        return self.results[name]


def messages(results: dict) -> dict[str, str]:
    """check id -> the message shown for it."""
    return {t["number"]: t["output"] for t in results["tests"]}


def failed_ids(results: dict, only: tuple[str, ...] = ()) -> set[str]:
    """Ids of graded checks that lost points (checks outside ``only`` are ignored)."""
    out = set()
    for t in results["tests"]:
        if only and not any(t["number"].startswith(p) for p in only):
            continue
        if t["score"] < t["max_score"]:
            out.add(t["number"])
    return out
