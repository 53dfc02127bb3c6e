"""``Ctx.for_all``: how a failing property is searched and reported, with a scripted worker."""
from __future__ import annotations

import pytest
from hypothesis import strategies as st

from autograder import rubric as rubric_mod
from autograder.checks.compare import CheckFailed
from autograder.checks.context import Ctx
from autograder.sandbox.client import StudentRaised


class ScriptedSession:
    """Answers ``probe`` calls with ``answer(x)``, counting them; raises what ``answer`` raises."""

    def __init__(self, answer) -> None:
        self.answer = answer
        self.calls: list[int] = []

    def call(self, probe, args, deadline, sent=None):
        self.calls.append(args["x"])
        return self.answer(args["x"])


def run_property(answer) -> tuple[str, list[int]]:
    session = ScriptedSession(answer)
    check = rubric_mod.load(rubric_mod.default_path()).by_id()["1a.1"]
    ctx = Ctx(check, lambda: session, deadline=float("inf"))

    def test(x: int) -> None:
        ctx.equal(ctx.call("probe", x=x), x, f"double_or_same({x})")

    with pytest.raises(CheckFailed) as failed:
        ctx.for_all(st.integers(0, 1000), test, examples=50)
    return failed.value.message, session.calls


def not_implemented_from(threshold: int):
    def answer(x: int) -> int:
        if x >= threshold:
            raise StudentRaised({"kind": "not_implemented", "type": "NotImplementedError", "message": "1a: implement it"})
        return x

    return answer


def test_a_stub_is_called_once_and_its_failing_input_is_reported_as_found_not_as_smallest():
    message, calls = run_property(not_implemented_from(0))
    assert len(calls) == 1
    assert "Not implemented yet" in message and f"Failing input: {calls[0]}" in message
    assert "Smallest failing input" not in message


def test_code_unfinished_for_some_inputs_is_reported_at_the_first_input_that_reaches_the_stub():
    message, calls = run_property(not_implemented_from(500))
    assert calls[-1] >= 500 and all(x < 500 for x in calls[:-1])
    assert f"Failing input: {calls[-1]}" in message


def test_a_wrong_value_is_still_shrunk_to_the_smallest_failing_input():
    message, calls = run_property(lambda x: x if x < 500 else x + 1)
    assert "Smallest failing input: 500" in message
    assert len(calls) > 2
