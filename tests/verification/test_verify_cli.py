"""``python -m autograder verify``: lists the catalogue and ends its report with the three count lines."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from autograder.config import PROJECT_ROOT


def _run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", "verify", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout)


def test_verify_lists_the_catalogue() -> None:
    done = _run("--list")
    assert done.returncode == 0, done.stderr
    assert re.search(r"^mutant\s+1\s+", done.stdout, re.M) and re.search(r"^variant\s+", done.stdout, re.M) and re.search(r"^adversarial\s+", done.stdout, re.M)


def test_verify_ends_with_the_wall_time_and_three_count_lines() -> None:
    done = _run("--name", "no_fixture_has_this_name", "--no-invariants")
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.fullmatch(r"wall time: \d+\.\d s", lines[-4])
    assert lines[-3:] == ["mutants: 0/0", "variants: 0/0", "adversarial: 0/0"]


@pytest.mark.slow
def test_verify_grades_a_case_and_counts_it() -> None:
    done = _run("--kind", "adversarial", "--name", "selfkill_at_import", "--no-invariants", "--jobs", "1")
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.fullmatch(r"wall time: \d+\.\d s", lines[-4])
    assert lines[-3] == "mutants: 0/0"
    assert lines[-2] == "variants: 0/0"
    assert lines[-1] == "adversarial: 1/1"


def test_verify_rejects_an_unknown_kind() -> None:
    done = _run("--kind", "mutants")
    assert done.returncode == 2 and "unknown kind" in done.stderr
