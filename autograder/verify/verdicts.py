"""What one grading produced (``Observation``) turned into a ``Verdict``: did the fixture
behave as its catalogue entry says? Also when a grading is worth repeating: another grader
on the same machine (with ``kill_whole_uid`` on) kills every worker of the sandbox uid
whenever one of its checks ends; a fixture that loses points to such a SIGKILL where it
should not is graded again (``RETRIES``), with a note."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from autograder.verify.catalogue import Fixture, in_parts

RETRIES = 3  # gradings per fixture when a worker looks killed from outside (see foreign_kill_suspected)
KILLED = "killed by signal SIGKILL"


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
        # Looked for in the file's JSON text and in its strings as decoded (json.dumps shows a
        # control character as \u001b: a needle such as ESC itself is found only there), and in
        # the messages the grader reported (the table it prints).
        text = json.dumps(obs.results)
        decoded = "\n".join(_strings(obs.results))
        graded = "\n".join(str(o.get("message", "")) for o in obs.outcomes)
        for needle in fixture.options.get("expect", {}).get("absent", []):
            if needle in text or needle in decoded:
                problems.append(f"{needle!r} appears in results.json")
            elif needle in graded:
                problems.append(f"{needle!r} appears in the graded messages")
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


def _strings(value) -> list[str]:
    """Every string in a JSON value (keys too), iteratively."""
    out, stack = [], [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            out.extend(k for k in item if isinstance(k, str))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return out


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
