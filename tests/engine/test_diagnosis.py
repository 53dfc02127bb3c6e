"""The diagnosis: a failed check names the catalogued mistake its outputs equal, and only then.

Specification:
- the sample submission's bugs are each named, in the message and in the test's extra_data;
- a reply equal to exactly one mistake is named; equal to the reference, to two mistakes of
  different families, or to none, a stub's NotImplementedError, a harness refusal, a replay over
  the time budget: nothing is said (the code's own exception matches by type and first line);
- a rubric's ``hints = false`` turns the line off for that check;
- ``verify``'s figures count hits, wrong hints and hints on variants as documented.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from autograder.config import PROJECT_ROOT
from autograder.diagnosis import same
from autograder.messages import say
from autograder.verify.catalogue import Fixture
from autograder.verify.hints import measure
from autograder.verify.verdicts import Observation, Verdict

SAMPLE = PROJECT_ROOT / "examples" / "sample_submission.zip"
SAMPLE_MISTAKES = {  # examples/make_sample.py: the four bugs it plants
    "1c.1": "loss_sum_over_time",
    "1d.3": "custom_layer_scaled_by_name",
    "3a.3": "loss_elementwise_mean",
    "5g.1": "stochastic_rows",
}


def grade(submission: Path, out: Path, *extra: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", str(submission), "--results", str(out), "--quiet", *extra], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def sample_results(tmp_path_factory) -> dict:
    return grade(SAMPLE, tmp_path_factory.mktemp("sample") / "results.json")


def test_the_sample_submissions_bugs_are_each_named(sample_results):
    named = {t["number"]: t.get("extra_data", {}).get("diagnosis", {}).get("mistake") for t in sample_results["tests"] if t["score"] < t["max_score"]}
    assert named == SAMPLE_MISTAKES
    for test in sample_results["tests"]:
        diagnosis = test.get("extra_data", {}).get("diagnosis")
        if diagnosis:
            assert test["output"].endswith(say("diagnosis", hint=diagnosis["hint"])), test["output"]


def test_passing_checks_carry_no_diagnosis(sample_results):
    assert not [t["number"] for t in sample_results["tests"] if t["score"] >= t["max_score"] and "extra_data" in t]


def test_a_rubric_can_turn_hints_off_per_check(tmp_path):
    rubric = (PROJECT_ROOT / "assignments" / "hw7" / "rubric.toml").read_text()
    marker = 'id = "5g.1"\n'
    assert marker in rubric
    (tmp_path / "rubric.toml").write_text(rubric.replace(marker, marker + "hints = false\n"))
    results = grade(SAMPLE, tmp_path / "off.json", "--only", "5g", "--rubric", str(tmp_path / "rubric.toml"))
    test = next(t for t in results["tests"] if t["number"] == "5g.1")
    assert test["score"] == 0 and "extra_data" not in test and "Likely mistake" not in test["output"]


REPLAY = textwrap.dedent(
    """
    import dataclasses, json, sys
    import numpy as np
    from autograder.probes import load_all
    from autograder.checks.context import Call
    from autograder.diagnosis import Diagnoser, suspects
    from autograder.rubric import load
    from autograder import assignment

    load_all()
    check = load().by_id()["5g.1"]
    rows = next(s for s in suspects() if s.name == "stochastic_rows")
    M = np.array([[1.0, 2.0], [3.0, 4.0]])
    def reply(S):
        return [[Call("5g.stochastic", {"M": M}, {"S": S, "M_after": None}, None, 0.001)]]
    d = Diagnoser(assignment.current().reference, [rows])
    twin = Diagnoser(assignment.current().reference, [rows, dataclasses.replace(rows, name="twin", family="twin")])
    out = {
        "rows": d.diagnose(check, reply(M / M.sum(axis=1, keepdims=True)), 5.0),
        "correct": d.diagnose(check, reply(M / M.sum(axis=0, keepdims=True)), 5.0),
        "other": d.diagnose(check, reply(M * 0.5), 5.0),
        "two_families": twin.diagnose(check, reply(M / M.sum(axis=1, keepdims=True)), 5.0),
        "over_budget": d.diagnose(check, [[dataclasses.replace(c, seconds=10.0) for c in reply(M / M.sum(axis=1, keepdims=True))[0]]], 5.0),
        "not_implemented": d.diagnose(check, [[Call("5g.stochastic", {"M": M}, None, "not_implemented/NotImplementedError: 5g", 0.001)]], 5.0),
        "harness_refused": d.diagnose(check, [[Call("5g.stochastic", {"M": M}, None, "bad_value/bad_value: could not set", 0.001)]], 5.0),
        "raised_otherwise": d.diagnose(check, [[Call("5g.stochastic", {"M": M}, None, "exception/ValueError: no such thing", 0.001)]], 5.0),
    }
    print(json.dumps({k: (v.mistake if v else None) for k, v in out.items()}))
    """
)


def test_only_a_single_family_matching_and_the_reference_not_is_named():
    # In a child: the replay loads the reference's text, and this test process forks sandboxes.
    proc = subprocess.run([sys.executable, "-c", REPLAY], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.splitlines()[-1]) == {"rows": "stochastic_rows", "correct": None, "other": None, "two_families": None, "over_budget": None, "not_implemented": None, "harness_refused": None, "raised_otherwise": None}


@pytest.mark.parametrize(
    "a, b, equal",
    [
        (np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-9]), True),
        (np.array([1.0, 2.0]), np.array([1.0, 2.1]), False),
        (np.array([1.0, 2.0]), np.array([[1.0, 2.0]]), False),
        (np.array([np.nan]), np.array([np.nan]), True),
        ({"S": np.ones(2), "M_after": None}, {"S": np.ones(2), "M_after": None}, True),
        ({"S": np.ones(2)}, {"S": np.ones(2), "extra": 1}, False),
        ([1.0, "a"], [1.0, "a"], True),
        ([1.0, "a"], [1.0, "b"], False),
        (None, 0.0, False),
        (True, 1.0, False),
    ],
)
def test_replies_are_compared_within_tolerance_and_exactly_otherwise(a, b, equal):
    assert same(a, b, rtol=1e-6, atol=1e-8) is equal


def _verdict(kind: str, name: str, named: dict[str, str]) -> Verdict:
    tests = [{"number": c, "score": 0, "max_score": 1, "extra_data": {"diagnosis": {"mistake": m, "hint": "h"}}} for c, m in named.items()]
    obs = Observation(f"{kind}:{name}", results={"tests": tests + [{"number": "9.9", "score": 0, "max_score": 1}]})
    return Verdict(f"{kind}:{name}", kind, name, "1", ok=True, caught=True, failed=sorted(named) or ["9.9"], observation=obs)


def test_verify_counts_hits_wrong_hints_and_hints_on_variants():
    fixtures = {
        f.key: f
        for f in (
            Fixture("mutant", "a", "m", options={"family": "a"}),
            Fixture("mutant", "a2", "m", options={"family": "a"}),
            Fixture("mutant", "b", "m", options={"family": "b"}),
            Fixture("heldout", "is_a2", "m", options={"mistake": "a2"}),
            Fixture("heldout", "is_b", "m", options={"mistake": "b"}),
            Fixture("heldout", "is_b_silent", "m", options={"mistake": "b"}),
            Fixture("heldout", "unrelated", "m", options={"mistake": ""}),
            Fixture("variant", "v", "m"),
        )
    }
    verdicts = [
        _verdict("heldout", "is_a2", {"1.1": "a"}),  # named by its family: a hit
        _verdict("heldout", "is_b", {"1.1": "b", "1.2": "a"}),  # one wrong hint spoils it
        _verdict("heldout", "is_b_silent", {}),  # no hint: a miss, not a wrong hint
        _verdict("heldout", "unrelated", {"1.3": "a"}),  # any hint on an unrelated bug is wrong
        _verdict("variant", "v", {}),
        _verdict("mutant", "b", {"1.1": "b"}),
    ]
    fig = measure(verdicts, fixtures)
    assert (fig.known, fig.hits, fig.unrelated) == (3, 1, 1)
    assert (fig.hints, fig.wrong) == (4, 2)
    assert (fig.variants, fig.variant_hints) == (1, 0)
    assert (fig.seen, fig.seen_hits) == (1, 1)
    assert not fig.met
