"""``check-rubric``: ids match the registered checks both ways, totals add up, the reference keeps full marks."""
from __future__ import annotations

import re
from pathlib import Path

from autograder import checks, rubric
from tests.workflow.conftest import ROOT, cli

RUBRIC = ROOT / "assignments" / "hw7" / "rubric.toml"


def full_rubric(tmp_path: Path, edit=None) -> Path:
    """The project's rubric plus an entry for every registered check it lacks (rubric fragments not merged yet)."""
    text = RUBRIC.read_text()
    have = {c.id for c in rubric.load(RUBRIC).checks}
    modules = {"1": "q_rnn_and_grad", "2": "q_rnn_last_name", "3a": "q_autoencoder", "3b": "q_linear_autoencoder", "5": "q_graph_clustering"}
    order = sorted(checks.registry(), key=lambda i: (i.split(".")[0], int(i.split(".")[1])))
    for cid in order:
        if cid in have:
            continue
        part = cid.split(".")[0]
        module = modules.get(part) or modules[part[0]]
        text += f'\n[[check]]\nid = "{cid}"\ntitle = "added for the test"\npoints = 1\nmodule = "{module}"\n'
    if edit:
        text = edit(text)
    path = tmp_path / "rubric.toml"
    path.write_text(text)
    return path


def test_consistent_rubric_passes_and_prints_totals(tmp_path):
    path = full_rubric(tmp_path)
    result = cli("check-rubric", "--rubric", str(path), "--no-grade")
    assert result.returncode == 0, result.stdout + result.stderr
    loaded = rubric.load(path)
    assert re.search(rf"^all\s+{len(loaded.checks)}\s+\S+\s+\S+\s+{loaded.total_points + loaded.extra_points:g}$", result.stdout, re.M), result.stdout
    assert f"Total to set on Gradescope: {loaded.total_points:g} points" in result.stdout
    assert re.search(r"^1a\s+4\s+6\s+0\s+6$", result.stdout, re.M), result.stdout
    assert "Rubric OK." in result.stdout


def test_unknown_ids_and_unlisted_checks_fail(tmp_path):
    def edit(text: str) -> str:
        text = text.replace('id = "1c.3"', 'id = "1c.9"')  # no function for 1c.9, and 1c.3 is now unlisted
        return text

    path = full_rubric(tmp_path, edit)
    result = cli("check-rubric", "--rubric", str(path), "--no-grade")
    assert result.returncode == 1
    assert "FAIL  1c.9: no check function is registered for this rubric id" in result.stdout
    assert "FAIL  1c.3: a check function is registered but the rubric has no entry for it" in result.stdout


def test_malformed_rubric_fails_with_the_parser_message(tmp_path):
    path = tmp_path / "rubric.toml"
    path.write_text(RUBRIC.read_text().replace('id = "1a.2"', 'id = "1a.1"'))
    result = cli("check-rubric", "--rubric", str(path), "--no-grade")
    assert result.returncode == 1
    assert "1a.1 appears twice" in result.stdout


def test_reference_keeps_full_marks(tmp_path):
    path = full_rubric(tmp_path)
    result = cli("check-rubric", "--rubric", str(path), "--only", "1c", "--shared-sandbox")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Reference: 3.0 points, 3 checks graded, 0 below full marks" in result.stdout


def test_reference_below_full_marks_is_reported(tmp_path):
    # An impossible budget for one check: the reference now loses those points.
    def edit(text: str) -> str:
        return text.replace('id = "1c.1"\ntitle = "loss_fn over all time steps"\npoints = 1\n', 'id = "1c.1"\ntitle = "loss_fn over all time steps"\npoints = 1\ntimeout = 0.000001\n')

    path = full_rubric(tmp_path, edit)
    assert "timeout = 0.000001" in path.read_text()
    result = cli("check-rubric", "--rubric", str(path), "--only", "1c.1", "--shared-sandbox")
    assert result.returncode == 1, result.stdout
    assert "FAIL  reference loses points on 1c.1 (0.0/1.0)" in result.stdout
