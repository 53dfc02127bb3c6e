"""The course's own notebooks, as handed out, are the interface: filled from their instructions
they get full marks, unfilled they get 0, every signature a student writes is accepted, and one
bug per graded TODO costs exactly its check."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from autograder import rubric as rubric_mod
from tests.workflow.conftest import ROOT, cli

sys.path.insert(0, str(ROOT / "tests" / "fixtures" / "handouts"))
import fill  # noqa: E402

PARTS = {"q_rnn_and_grad": "1", "q_rnn_last_name": "2", "q_autoencoder": "3a", "q_graph_clustering": "5"}


def grade(folder: Path, only: str | None = None) -> dict:
    results = folder.parent / f"{folder.name}.json"
    args = ["grade", str(folder), "--results", str(results), "--quiet"] + (["--only", only] if only else [])
    cli(*args)
    data = json.loads(results.read_text())
    assert data["extra_data"]["finished"] is True, data["output"]
    return data


def notebooks(tmp_path: Path, name: str, **override: str) -> Path:
    """The four handouts, filled (one module with a variant or bug if asked) in a folder."""
    folder = tmp_path / name
    folder.mkdir()
    for module in fill.MODULES:
        kind = override if override.get("module") == module else {}
        fill.write(fill.filled(module, variant=kind.get("variant"), bug=kind.get("bug")), folder / f"{module}.ipynb")
    return folder


def test_the_handouts_in_the_fixtures_are_the_courses(tmp_path):
    shared = ROOT.parent / "shared" / "course" / "fa25"
    if not shared.is_dir():
        pytest.skip("the course folder is not on this machine")
    for module in fill.MODULES:
        assert (fill.HERE / f"{module}.ipynb").read_bytes() == (shared / f"{module}.ipynb").read_bytes()


def test_filled_handouts_reach_the_total_and_the_optional_part_is_extra_credit(tmp_path):
    data = grade(notebooks(tmp_path, "filled"))
    rubric = rubric_mod.load()
    lost = [(t["number"], t["output"][:200]) for t in data["tests"] if t["status"] != "passed"]
    assert lost == []
    assert data["extra_data"]["total_points"] == rubric.total_points == 47
    assert sum(t["max_score"] for t in data["tests"] if "(extra credit)" not in t["name"]) == 47
    assert data["score"] == 47 + 6  # 1h, optional in the homework, earned as extra credit
    extra = {t["number"] for t in data["tests"] if "(extra credit)" in t["name"] and t["score"] > 0}
    assert extra == {"1h.1", "1h.2", "1h.3"}
    assert all("(extra credit)" in t["name"] for t in data["tests"] if t["number"] in extra)


def test_unfilled_handouts_score_zero_without_a_crash(tmp_path):
    folder = tmp_path / "unfilled"
    folder.mkdir()
    for module in fill.MODULES:
        fill.write(fill.handout(module), folder / f"{module}.ipynb")
    data = grade(folder)
    assert data["score"] == 0
    assert not any("grader error" in t["output"].lower() for t in data["tests"]), [t["output"] for t in data["tests"] if "grader" in t["output"].lower()]


@pytest.mark.parametrize("module,variant", [(m, v) for m, vs in fill.VARIANTS.items() for v in vs])
def test_each_signature_and_idiom_a_student_writes_gets_full_marks(tmp_path, module, variant):
    data = grade(notebooks(tmp_path, "variant", module=module, variant=variant), only=PARTS[module])
    graded = [t for t in data["tests"] if t["number"].startswith(PARTS[module])]
    assert [(t["number"], t["output"][:300]) for t in graded if t["status"] != "passed"] == []


@pytest.mark.parametrize("module,bug", [(m, b) for m, bs in fill.BUGS.items() for b in bs])
def test_one_bug_in_a_graded_todo_costs_exactly_its_check(tmp_path, module, bug):
    data = grade(notebooks(tmp_path, "bug", module=module, bug=bug), only=PARTS[module])
    failed = [t["number"] for t in data["tests"] if t["number"].startswith(PARTS[module]) and t["status"] == "failed"]
    assert failed == list(fill.BUGS[module][bug][1])


def test_a_cell_with_a_syntax_error_costs_only_its_definitions_and_is_named_as_the_notebook_shows_it(tmp_path):
    folder = notebooks(tmp_path, "broken")
    path = folder / "q_rnn_and_grad.ipynb"
    notebook = json.loads(path.read_text())
    position = next(i for i, c in enumerate(notebook["cells"], start=1) if "def loss_fn" in "".join(c["source"]))
    cell = notebook["cells"][position - 1]
    cell["source"] = "".join(cell["source"]).replace("loss = F.mse_loss(pred, y)", "loss = F.mse_loss(pred, y").splitlines(True)
    path.write_text(json.dumps(notebook))
    data = grade(folder, only="1a,1b,1c")
    by_id = {t["number"]: t for t in data["tests"]}
    assert [n for n, t in by_id.items() if n[:2] in ("1a", "1b", "1c") and t["status"] == "failed"] == ["1c.1", "1c.2", "1c.3"]
    assert f"cell {position} (def loss_fn(pred, y, last_timestep_only=False):), line" in by_id["1c.1"]["output"]
    assert "'(' was never closed" in by_id["1c.1"]["output"]


def test_files_are_recognised_by_the_names_colab_gives_them_and_by_their_code(tmp_path):
    folder = tmp_path / "names"
    folder.mkdir()
    names = {"q_rnn_and_grad": "q_rnn_and_grad (1).ipynb", "q_rnn_last_name": "Copy of q_rnn_last_name.ipynb", "q_autoencoder": "Untitled3.ipynb", "q_graph_clustering": "hw7 graph.ipynb"}
    for module, name in names.items():
        fill.write(fill.filled(module), folder / name)
    data = grade(folder, only="1a.1,2.1,3a.3,5g.1")
    assert data["score"] == 4
    assert "Took Untitled3.ipynb for q_autoencoder.ipynb (its code defines" in data["output"]
    assert "Took q_rnn_and_grad (1).ipynb for q_rnn_and_grad.ipynb (by its name)." in data["output"]


def test_an_empty_upload_says_it_is_empty(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    data = grade(folder, only="1a.1")
    assert "The upload is empty: it holds no files." in data["output"]
