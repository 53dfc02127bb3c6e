"""Prove the grader: mutants it must catch, correct variants it must accept, attacks it must contain.

The fixtures come from the assignment's catalogue (its manifest's ``catalogue`` folder; ``catalogue.py``); each is built
into a submission (``building``, and the assignment's ``adversarial_builders``) and graded only on the parts it touches:
mutants and variants in a pool of processes (``grading``), each adversarial case alone in a
fresh child and then checked for containment (``adversarial``, ``instruments``). What a
grading produced becomes a verdict (``verdicts``), the verdicts a report (``report``).
Used by ``python -m autograder verify`` and by ``tests/verification``; it does not depend
on pytest. Module-level imports stay light (the standard library, ``autograder.config``):
importing this package loads neither the reference nor the checks.
"""
from __future__ import annotations

import os
import shutil
import time
from typing import Callable, Iterable

from autograder.walk import remove_tree
from autograder.verify.catalogue import (
    ADVERSARIAL_DIR,
    Catalogue,
    CatalogueError,
    FIXTURES,
    Fixture,
    KINDS,
    MODULE_PART,
    MUTANTS_DIR,
    OUTCOMES,
    PART_ORDER,
    PatchError,
    REFERENCE,
    TEMPLATE,
    VARIANTS_DIR,
    graded_parts,
    honest_fixture,
    in_parts,
    load_case,
    load_catalogue,
    load_fixture_files,
    rubric_parts,
    template_fixture,
)
from autograder.verify.building import apply_patches, build_submission, module_to_notebook, zip_folder
from autograder.verify.schema import SCHEMA_PATH, load_schema, validate
from autograder.verify.results_checks import hidden_leaks, leaked_secrets, results_problems, secret_lines
from autograder.verify.verdicts import (
    KILLED,
    Observation,
    RETRIES,
    Verdict,
    failed_checks,
    foreign_kill_suspected,
    judge,
)
from autograder.verify.folders import traversable_folder
from autograder.verify.grading import determinism, grade_many
from autograder.verify.instruments import (
    LoopbackListener,
    SandboxUids,
    case_processes,
    descendants,
    grader_state,
    sandbox_processes,
    sandbox_uid,
    state_changes,
)
from autograder.verify.adversarial import CHILD_TIMEOUT, run_case, run_cases
from autograder.verify.report import Proof, format_report
# private helpers that tests/verification uses
from autograder.verify.folders import _traversable  # noqa: F401
from autograder.verify.instruments import _boot_ticks, _kill_pids  # noqa: F401

__all__ = [
    "ADVERSARIAL_DIR",
    "CHILD_TIMEOUT",
    "Catalogue",
    "CatalogueError",
    "FIXTURES",
    "Fixture",
    "KILLED",
    "KINDS",
    "LoopbackListener",
    "MODULE_PART",
    "MUTANTS_DIR",
    "OUTCOMES",
    "Observation",
    "PART_ORDER",
    "PatchError",
    "Proof",
    "REFERENCE",
    "RETRIES",
    "SCHEMA_PATH",
    "SandboxUids",
    "TEMPLATE",
    "VARIANTS_DIR",
    "Verdict",
    "apply_patches",
    "build_submission",
    "case_processes",
    "descendants",
    "determinism",
    "failed_checks",
    "foreign_kill_suspected",
    "format_report",
    "grade_many",
    "graded_parts",
    "grader_state",
    "hidden_leaks",
    "honest_fixture",
    "in_parts",
    "judge",
    "leaked_secrets",
    "load_case",
    "load_catalogue",
    "load_fixture_files",
    "load_schema",
    "module_to_notebook",
    "prove",
    "results_problems",
    "rubric_parts",
    "run_case",
    "run_cases",
    "sandbox_processes",
    "sandbox_uid",
    "secret_lines",
    "state_changes",
    "template_fixture",
    "traversable_folder",
    "validate",
    "zip_folder",
]


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
        batch = [f for f in selected if f.kind in ("mutant", "variant", "heldout")]
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
        remove_tree(workroot)
    hints = None
    if any(f.kind == "heldout" for f in selected):
        from autograder.verify.hints import measure

        hints = measure(verdicts, {f.key: f for f in catalogue.fixtures})
    return Proof(verdicts, [(f, why) for f, why in catalogue.pending if f.kind in set(kinds)], checks, time.monotonic() - started, hints)
