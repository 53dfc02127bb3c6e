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
    """A failing mutant (its messages carry a shrunk failing input) and the honest reference,
    each graded twice on the loss checks: identical scores and messages."""
    by_key = CATALOGUE.by_key()
    fixtures = [dataclasses.replace(verify.honest_fixture(CATALOGUE.parts), only=("1c",))]
    if "mutant:loss_last_wrong_axis" in by_key:
        fixtures.append(dataclasses.replace(by_key["mutant:loss_last_wrong_axis"], only=("1c",)))
    for name, ok, detail in verify.determinism(CATALOGUE.parts, fixtures, None, jobs=2):
        assert ok, f"{name}: {detail}"
