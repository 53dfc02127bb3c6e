"""Hostile submissions: each is graded alone, as in production, and must be contained.

After each case: results.json is valid against the Gradescope schema and exactly what
the grader wrote, no process of the submission is left, nothing reached the loopback
listener, no hostile file ran outside the sandbox, and the grader's files (reference,
rubric, grader code, data) are unchanged, so the honest reference, graded once per
session, would still get full marks. Cases that need root skip when not root; cases
with a documented ``known_weakness`` are expected failures until the grader is fixed.
"""
from __future__ import annotations


import pytest

from autograder import verify

from .conftest import CATALOGUE, explain


def _params() -> list:
    params = []
    for f in CATALOGUE.select(kinds=("adversarial",)):
        marks = []
        if not f.default:
            marks.append(pytest.mark.slow)
        if f.options.get("requires_root") and verify.sandbox_uid() is None:
            marks.append(pytest.mark.skip(reason="needs root and the sandbox user: without uid switching the worker can write what the grader can"))
        if f.options.get("known_weakness"):
            marks.append(pytest.mark.xfail(strict=True, reason="known weakness: " + f.options["known_weakness"]))
        params.append(pytest.param(f, marks=marks, id=f.name))
    return params


@pytest.mark.parametrize("case", _params())
def test_attack_is_contained(case: verify.Fixture) -> None:
    only = verify.graded_parts(case, CATALOGUE.parts)
    verdict = verify.run_cases([case], CATALOGUE.parts)[0]
    if verdict.skipped:
        pytest.skip(verdict.skipped)
    assert verdict.as_catalogued, f"NOT CONTAINED (graded {', '.join(only)}): " + explain(verdict)
