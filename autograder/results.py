"""Gradescope's results.json, written atomically and fail-closed.

The file is valid from the first moment (score 0, "grading did not finish") and
rewritten after every check, so a crash or a kill at any point leaves a grade
file that Gradescope accepts and that never overstates the score.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from typing import Any

from autograder.text import clean, clean_value

TEST_OUTPUT_CAP = 4000
TOP_OUTPUT_CAP = 8000
FIELD_CAP = 8000  # any other string of the file (names, extra_data): cleaned and capped too
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")


@dataclass
class TestResult:
    """One entry of ``tests[]``: a rubric check and its verdict."""

    __test__ = False  # not a pytest test class

    number: str
    name: str
    score: float
    max_score: float
    status: str
    visibility: str
    output: str = ""
    tags: list[str] = field(default_factory=list)
    extra_data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = clean_value(asdict(self), FIELD_CAP)
        data["output"] = clean(self.output, TEST_OUTPUT_CAP)
        data["score"] = round(float(self.score), 4)
        data["max_score"] = round(float(self.max_score), 4)
        if not self.tags:
            del data["tags"]
        if not self.extra_data:
            del data["extra_data"]
        return data


def cap(text: str, limit: int) -> str:
    """Trim text to ``limit`` characters, saying how much was cut (and clean it: ``autograder.text``)."""
    return clean(text, limit)


class ResultsWriter:
    """Owns results.json for one grading run."""

    def __init__(self, path: str, extra_data: dict[str, Any]) -> None:
        self.path = os.path.abspath(path)
        self.extra_data = extra_data
        self.tests: list[TestResult] = []
        self.output = ""
        self.execution_time = 0.0

    def fail_closed(self, reason: str = "Grading did not finish: the grader stopped before completing. Score 0 until it does.") -> None:
        self.output = reason
        self.write(finished=False)

    def infrastructure_error(self, message: str, cause: str) -> None:
        """Nobody is graded: no tests, the student told it is not their fault, the cause for staff."""
        self.tests = []
        self.output = message
        self.extra_data["infrastructure_error"] = cause
        self.write(finished=False)

    def record(self, result: TestResult) -> None:
        self.tests.append(result)
        self.write(finished=False)

    def write(self, finished: bool) -> None:
        score = sum(t.score for t in self.tests)
        payload = {
            "score": round(float(score), 4),
            "execution_time": round(self.execution_time, 2),
            "output": clean(self.output, TOP_OUTPUT_CAP),
            "output_format": "text",
            "stdout_visibility": "hidden",
            # The last line of defence: whatever reached extra_data (file names, notes) is valid
            # Unicode without control or escape sequences, as the tests' names and outputs are.
            "extra_data": clean_value(dict(self.extra_data, finished=finished), FIELD_CAP),
            "tests": [t.to_json() for t in self.tests],
        }
        atomic_write_json(self.path, payload)


def atomic_write_json(path: str, payload: dict[str, Any]) -> None:
    """results.json, via ``atomic_write``: grades are nobody's business but the grader's (and Gradescope's, as root)."""
    atomic_write(path, (json.dumps(payload, indent=2, allow_nan=False) + "\n").encode("utf-8"), prefix=".results-", suffix=".json")


def atomic_write(path: str, data: bytes, prefix: str, suffix: str) -> None:
    """Write via a private (0600) temp file next to ``path`` and a rename, which also replaces
    (never follows) a planted link: a reader sees the old file or the new one, never a part."""
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
