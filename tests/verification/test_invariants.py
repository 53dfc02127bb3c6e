"""Invariants over the fixtures: reference full, template zero, reproducible, valid and capped output."""
from __future__ import annotations

import dataclasses

from autograder import verify
from autograder.results import TEST_OUTPUT_CAP, TOP_OUTPUT_CAP

from .conftest import CATALOGUE, HONEST, TEMPLATE, explain


def test_reference_gets_full_marks(graded) -> None:
    verdict = graded[HONEST]
    assert verdict.ok, explain(verdict)
    assert verdict.failed == []


def test_template_gets_zero(graded) -> None:
    verdict = graded[TEMPLATE]
    assert verdict.ok, explain(verdict)
    outcomes = [o for o in verdict.observation.outcomes if verify.in_parts(o["id"], verify.template_fixture(CATALOGUE.parts).only)]
    assert outcomes and all(o["score"] == 0 for o in outcomes)


def test_every_results_file_of_the_session_is_valid_capped_and_leaks_nothing(graded) -> None:
    for key, verdict in graded.items():
        results = verdict.observation.results
        assert results is not None, explain(verdict)
        assert verify.validate(results) == [], key
        assert len(results["output"]) <= TOP_OUTPUT_CAP
        assert all(len(t.get("output", "")) <= TEST_OUTPUT_CAP for t in results["tests"]), key
        assert verify.hidden_leaks(results) == [], key
        assert verdict.observation.leaked == [], (key, verdict.observation.leaked)


def test_two_gradings_give_identical_scores_and_messages() -> None:
    """Two failing mutants (their messages carry shrunk failing inputs), each graded twice on the
    checks they fail: identical scores and messages. (The honest reference is graded only once.)"""
    by_key = CATALOGUE.by_key()
    picks = {"mutant:loss_last_wrong_axis": ("1c",), "mutant:scale_everything_else_as_bias": ("1d.3",)}
    fixtures = [dataclasses.replace(by_key[k], only=only) for k, only in picks.items() if k in by_key]
    assert fixtures
    for name, ok, detail in verify.determinism(CATALOGUE.parts, fixtures, None, jobs=2):
        assert ok, f"{name}: {detail}"
