"""The engine grades whatever assignment folder it is given: the toy one (one function, two checks)
end to end, through the same command line, sandbox and proof as Homework 7; and a bad manifest
is refused with a message naming the field."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import assignment
from autograder.config import PROJECT_ROOT

TOY = PROJECT_ROOT / "tests" / "fixtures" / "assignments" / "toy"


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", "--assignment", str(TOY), *args], cwd=PROJECT_ROOT, capture_output=True, text=True, env=env, timeout=600)


def grade(tmp_path: Path, source: str) -> dict:
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "q_add.py").write_text(source)
    results = tmp_path / "results.json"
    done = cli("grade", str(folder), "--results", str(results))
    assert done.returncode == 0, done.stderr
    return json.loads(results.read_text())


def test_the_toy_manifest_reads_as_one_module_with_one_part():
    toy = assignment.load(TOY)
    assert toy.package == "toy" and toy.module_names == ("q_add",) and toy.parts == ("1",)
    assert toy.reference == TOY / "toy_reference"


def test_the_toy_reference_gets_full_marks(tmp_path):
    data = grade(tmp_path, "def add(a, b):\n    return a + b\n")
    assert [(t["number"], t["status"]) for t in data["tests"]] == [("1.1", "passed"), ("1.2", "passed")]
    assert data["score"] == 3 and data["extra_data"]["assignment"] == "Toy assignment"
    assert set(data["extra_data"]["libraries"]) == {"numpy", "hypothesis"}


def test_a_toy_bug_loses_exactly_its_check_with_the_smallest_input(tmp_path):
    data = grade(tmp_path, "def add(a, b):\n    return int(a) + int(b)\n")
    by_id = {t["number"]: t for t in data["tests"]}
    assert by_id["1.1"]["status"] == "passed" and by_id["1.2"]["status"] == "failed"
    assert "add(0.0, 1.5): expected 1.5, got 1" in by_id["1.2"]["output"]


def test_the_toy_template_gets_zero(tmp_path):
    data = grade(tmp_path, (TOY / "template" / "q_add.py").read_text())
    assert data["score"] == 0 and all("Not implemented yet" in t["output"] or "depends" in t["output"] or "fix that first" in t["output"] for t in data["tests"])


@pytest.mark.slow
def test_verify_proves_the_toy_grader(tmp_path):
    done = cli("verify", "--jobs", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "mutants: 1/1" in done.stdout and "ok   template gets zero" in done.stdout


def test_the_environment_variable_chooses_the_assignment_too(tmp_path):
    env = {**os.environ, assignment.ENV: str(TOY)}
    done = subprocess.run([sys.executable, "-m", "autograder", "check-rubric", "--help"], cwd=PROJECT_ROOT, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0


@pytest.mark.parametrize(
    "change, named",
    [
        (("[[module]]\nname = \"q_add\"\nparts = [\"1\"]\nfingerprint = [\"add\"]\n", ""), "no [[module]] entries"),
        (("parts = [\"1\"]", "parts = []"), "'parts' must list part names"),
        (("name = \"q_add\"", "name = \"q-add\""), "is not a Python identifier"),
        (("[[module]]", "[hooks]\nbefore_everything = \"x:y\"\n\n[[module]]"), "unknown hooks ['before_everything']"),
        (("name = \"Toy assignment\"", "name = \"Toy assignment\"\nrubrik = \"rubric.toml\""), "unknown fields ['rubrik']"),
        (("[[module]]", "[[module]]\ncolour = \"red\""), "unknown fields ['colour']"),
    ],
)
def test_a_bad_manifest_is_refused_naming_the_problem(tmp_path, change, named):
    folder = tmp_path / "toy"
    folder.mkdir()
    before, after = change
    text = (TOY / "manifest.toml").read_text()
    assert before in text
    (folder / "manifest.toml").write_text(text.replace(before, after))
    with pytest.raises(assignment.ManifestError, match=named.replace("[", r"\[").replace("]", r"\]")):
        assignment.load(folder)


def test_the_command_line_refuses_a_folder_without_a_manifest(tmp_path):
    done = subprocess.run([sys.executable, "-m", "autograder", "--assignment", str(tmp_path), "grade", str(tmp_path)], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "cannot read the assignment manifest" in done.stderr


def test_the_student_kit_is_generated_from_the_manifest_and_up_to_date():
    done = subprocess.run([sys.executable, "-m", "autograder", "kit", "--check"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr + "\nrun: python -m autograder kit"
