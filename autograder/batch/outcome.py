"""One submission's grade: the ``Outcome`` that becomes its grades.csv row, read from the
results.json its grader wrote."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from autograder.batch.export import Student, Submission
from autograder.class_view import Finding, findings
from autograder.text import clean_value


@dataclass
class Outcome:
    """One submission's grade, as it goes into grades.csv."""

    submission: str
    students: list[Student]
    parts: dict[str, float] = field(default_factory=dict)
    total: float = 0.0
    max_score: float = 0.0
    status: str = ""
    seconds: float = 0.0
    reused: bool = False  # a finished result from an earlier run, with the same fingerprint
    graded: bool = False  # a grader ran for it in this run
    findings: list[Finding] = field(default_factory=list)  # diagnosed mistakes of its failed checks (mistakes.csv)


def finished(results: Path) -> bool:
    """Whether a results.json says its grading ran to the end (only such a result is ever reused)."""
    try:
        return bool(json.loads(results.read_text()).get("extra_data", {}).get("finished"))
    except (OSError, ValueError, AttributeError):
        return False


def read_outcome(sub: Submission, results: Path, part_ids: list[str]) -> Outcome:
    """Points per part, total and status from a results.json (status '' when there is none)."""
    outcome = Outcome(sub.name, sub.students, parts={p: 0.0 for p in part_ids})
    try:
        data = json.loads(results.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return outcome
    data = clean_value(data)  # its texts reach grades.csv and the progress line: valid Unicode, no escapes
    if not isinstance(data, dict):
        outcome.status = "error: results.json is not a JSON object"
        return outcome
    for test in data.get("tests", []) or []:
        if not isinstance(test, dict):
            continue
        part = str(test.get("number", "")).split(".")[0]
        outcome.parts[part] = outcome.parts.get(part, 0.0) + float(test.get("score", 0) or 0)
        outcome.max_score += float(test.get("max_score", 0) or 0)
    outcome.findings = findings(data.get("tests"))
    outcome.total = float(data.get("score", 0) or 0)
    extra = data.get("extra_data", {}) if isinstance(data.get("extra_data"), dict) else {}
    if isinstance(extra.get("total_points"), (int, float)):
        outcome.max_score = float(extra["total_points"])  # one total for every row; extra credit on top
    if extra.get("infrastructure_error"):
        outcome.status = "error: infrastructure (not the student's fault): " + str(extra["infrastructure_error"])[:200]
    elif not extra.get("finished"):
        first = str(data.get("output", "")).strip().splitlines()
        outcome.status = "error: grading did not finish" + (f" ({first[0][:120]})" if first else "")
    else:
        found = (extra.get("submission") or {}).get("modules") or {}
        problems = (extra.get("submission") or {}).get("problems") or []
        if not found:
            outcome.status = "no modules: " + (problems[0][:160] if problems else "none of the homework modules were found")
        else:
            outcome.status = "ok"
    return outcome


def not_graded(sub: Submission, part_ids: list[str], status: str) -> Outcome:
    """The row of a submission no grader finished: zero points per part, and why."""
    return Outcome(sub.name, sub.students, parts={p: 0.0 for p in part_ids}, status=status)
