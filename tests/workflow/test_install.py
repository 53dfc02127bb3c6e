"""The install, as a new machine and Gradescope see it: refusals that name the fix, the canary, the layout.

Gradescope (https://gradescope-autograders.readthedocs.io, "Autograder specifications")
unpacks the autograder zip into /autograder/source, runs setup.sh there while building the
image, copies run_autograder to /autograder/run_autograder and runs it from /autograder with
the student's files in /autograder/submission; results go to /autograder/results/results.json.
The layout test rebuilds exactly that in a temporary folder.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from autograder.cli.selftest import compare
from autograder.config import SANDBOX_UID_POOL
from tests.workflow.conftest import ROOT, cli
from tests.workflow.test_build import build, unzip_like_gradescope

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox user exists only as root")
VENV = Path(os.path.realpath(sys.prefix))
SAMPLE_SCORE = 59  # README: the sample submission's documented score


def setup_sh(cwd: Path, **env: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    full.update(env)
    return subprocess.run(["bash", "./setup.sh"], cwd=str(cwd), env=full, capture_output=True, text=True, timeout=1200)


@ROOT_ONLY
def test_setup_refuses_an_interpreter_the_sandbox_user_cannot_run_and_says_what_to_do(tmp_path):
    closed = tmp_path / "home"
    closed.mkdir(mode=0o700)
    python = closed / "python3.11"
    shutil.copy(os.path.realpath(sys._base_executable), python)
    proc = setup_sh(ROOT, AUTOGRADER_PYTHON=str(python), AUTOGRADER_VENV="/opt/autograder-never-built")
    assert proc.returncode == 1
    assert f"AUTOGRADER_PYTHON={python} cannot run the grader's workers" in proc.stderr
    assert "grader-sandbox cannot use it" in proc.stderr
    assert not Path("/opt/autograder-never-built").exists()


@ROOT_ONLY
def test_setup_refuses_a_venv_folder_the_sandbox_user_cannot_reach_and_names_it(tmp_path):
    closed = tmp_path / "home"
    closed.mkdir(mode=0o750)
    proc = setup_sh(ROOT, AUTOGRADER_VENV=str(closed / "venv"))
    assert proc.returncode == 1
    blocked = proc.stderr.split("cannot enter ", 1)[1].split(" (mode", 1)[0]
    assert str(closed / "venv").startswith(blocked + os.sep)
    assert "AUTOGRADER_VENV=" in proc.stderr and not (closed / "venv").exists()


def test_the_canary_grades_modules_and_notebooks_through_the_sandbox_as_its_spec_says(tmp_path):
    spec = tomllib.loads((ROOT / "examples" / "canary.toml").read_text())
    for entry in spec["submission"]:
        results = tmp_path / (Path(entry["path"]).stem + ".json")
        proc = cli("grade", str(ROOT / "examples" / entry["path"]), "--results", str(results), "--only", ",".join(spec["only"]), "--quiet", "--shared-sandbox")
        assert compare(results, entry["expected"], proc) == [], entry["path"]
        sandbox = json.loads(results.read_text())["extra_data"]["sandbox"]
        if os.geteuid() == 0:
            assert sandbox["user"] == "grader-sandbox" and sandbox["uid"] in SANDBOX_UID_POOL, sandbox
    assert {Path(e["path"]).suffix for e in spec["submission"]} == {".zip"}
    with zipfile.ZipFile(ROOT / "examples" / spec["submission"][1]["path"]) as notebooks:
        assert all(name.endswith(".ipynb") for name in notebooks.namelist())


def test_selftest_fails_loudly_when_a_verdict_differs(tmp_path):
    spec = (ROOT / "examples" / "canary.toml").read_text().replace('"1c.1" = "failed"', '"1c.1" = "passed"', 1)
    canary = tmp_path / "canary.toml"
    canary.write_text(spec)
    for name in ("sample_submission.zip", "sample_notebooks.zip"):
        shutil.copy(ROOT / "examples" / name, tmp_path / name)
    proc = cli("selftest", "--canary", str(canary))
    assert proc.returncode == 1
    assert "FAIL  sample_submission.zip" in proc.stdout and "1c.1: expected passed, got failed" in proc.stdout


@ROOT_ONLY
def test_gradescope_layout_setup_then_run_autograder_copied_to_the_root_grades_the_sample(tmp_path):
    root = tmp_path / "autograder"
    unzip_like_gradescope(build(tmp_path, "autograder.zip"), root / "source")
    with zipfile.ZipFile(ROOT / "examples" / "sample_submission.zip") as sample:  # Gradescope unzips the upload
        sample.extractall(root / "submission")
    # setup.sh as Gradescope runs it: in the source folder, as root (the venv is this test's own).
    proc = setup_sh(root / "source", AUTOGRADER_ROOT=str(root), AUTOGRADER_VENV=str(VENV))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "warning" not in (proc.stdout + proc.stderr).lower()
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["AUTOGRADER_ROOT"] = str(root)
    proc = subprocess.run([str(root / "run_autograder")], cwd=str(root), env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["extra_data"]["finished"] is True, results["output"]
    assert results["score"] == SAMPLE_SCORE, [(t["number"], t["score"], t["max_score"]) for t in results["tests"] if t["score"] < t["max_score"]]
    # The sandbox user can read neither the grader nor the results.
    assert (root / "source").stat().st_mode & 0o007 == 0
    assert (root / "results").stat().st_mode & 0o007 == 0
