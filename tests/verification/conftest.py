"""Shared fixtures of the grader's proof: the catalogue, and one parallel batch of gradings per session.

Every mutant and variant test selected in this session (after ``-m`` deselection) is
graded in one pool of spawned processes the first time any of them asks, together with
the honest reference and the student template, so the reference is graded exactly once
per session and both CPUs are busy. Adversarial cases are graded one at a time, each in
a fresh process (see ``autograder.verify.run_case``).
"""
from __future__ import annotations

import os

import pytest

from autograder import verify

# Collected at import (parametrisation needs it); the rubric alone decides readiness here,
# so this process never imports the reference (other suites fork sandboxes from it).
CATALOGUE = verify.load_catalogue(use_registry=False)
HONEST = "honest:reference"
TEMPLATE = "template:template"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "verify_fixture(key): a test about one fixture of autograder.verify's catalogue")


def fixture_params(kind: str) -> list:
    """One pytest.param per ready fixture of ``kind``; those not in the default subset are marked slow."""
    params = []
    for f in CATALOGUE.select(kinds=(kind,)):
        marks = [pytest.mark.verify_fixture(f.key)]
        if not f.default:
            marks.append(pytest.mark.slow)
        if f.options.get("known_issue"):
            marks.append(pytest.mark.xfail(strict=True, reason="known grader issue: " + f.options["known_issue"]))
        params.append(pytest.param(f.key, marks=marks, id=f.name))
    return params


@pytest.fixture(scope="session")
def catalogue() -> verify.Catalogue:
    return CATALOGUE


@pytest.fixture(scope="session")
def graded(request: pytest.FixtureRequest) -> dict[str, verify.Verdict]:
    """Verdicts of the honest reference, the template and every selected mutant and variant."""
    keys = {m.args[0] for item in request.session.items for m in item.iter_markers("verify_fixture")}
    by_key = CATALOGUE.by_key()
    batch = [verify.honest_fixture(CATALOGUE.parts), verify.template_fixture(CATALOGUE.parts)]
    batch += [by_key[k] for k in sorted(keys) if k in by_key and by_key[k].kind in ("mutant", "variant")]
    jobs = max(1, min(os.cpu_count() or 1, int(os.environ.get("AUTOGRADER_VERIFY_JOBS", "0")) or os.cpu_count() or 1))
    verdicts = verify.grade_many(batch, CATALOGUE.parts, jobs)
    return {v.key: v for v in verdicts}


def explain(verdict: verify.Verdict) -> str:
    lines = [f"{verdict.key}: {verdict.detail or 'no detail'}"]
    obs = verdict.observation
    if obs is not None:
        for o in obs.outcomes:
            if o["score"] < o["max_score"]:
                lines.append(f"  {o['id']} {o['status']}: {o['message'][:300]}")
    return "\n".join(lines)
