"""``pack`` (instructor command) and ``student_template/pack.py`` (the students' copy): same files, same warnings."""
from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder import intake
from autograder import pack as pack_mod
from autograder.assignment import current as _assignment

MODULES = _assignment().module_names
from tests.workflow.conftest import REFERENCE, TEMPLATE, cli, copy_modules

STUDENT_PACK = TEMPLATE / "pack.py"


def student_pack():
    spec = importlib.util.spec_from_file_location("student_pack", STUDENT_PACK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def zip_contents(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {i.filename: archive.read(i) for i in archive.infolist()}


def run_student_pack(folder: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    # -I: isolated mode, no project folder on sys.path: proves the script is self-contained
    return subprocess.run([sys.executable, "-I", str(STUDENT_PACK), str(folder), "--out", str(out), *extra], capture_output=True, text=True, timeout=120)


def notebook(cells: list[str]) -> str:
    return json.dumps({"cells": [{"cell_type": "code", "source": c.splitlines(keepends=True), "metadata": {}, "outputs": [], "execution_count": None} for c in cells] + [{"cell_type": "markdown", "source": ["# notes"], "metadata": {}}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


@pytest.fixture
def messy(tmp_path: Path) -> Path:
    """A student's working folder: nested copies, notebooks, caches, junk and a planted numpy.py."""
    root = tmp_path / "work"
    copy_modules(TEMPLATE, root / "hw7" / "code", modules=("q_rnn_and_grad", "q_rnn_last_name"))
    (root / "hw7" / "code" / "q_rnn_and_grad.py").write_text((REFERENCE / "q_rnn_and_grad.py").read_text())
    (root / "old").mkdir()
    (root / "old" / "q_rnn_and_grad.py").write_text("# an older copy, but the shallowest .py: the grader reads this one\n")
    (root / "hw7" / "q_rnn_and_grad.ipynb").write_text(notebook(["import torch", "def loss_fn(p, y):\n    raise NotImplementedError('1c: implement loss_fn')"]))
    (root / "q_graph_clustering.ipynb").write_text(notebook(["%matplotlib inline\nimport numpy as np", "def get_degree_matrix(A):\n    raise NotImplementedError('5d: degree')", "def stochastic_matrix_converter(M):\n    return M / M.sum(0)"]))
    (root / "__MACOSX").mkdir()
    (root / "__MACOSX" / "q_autoencoder.py").write_text("junk")
    (root / ".ipynb_checkpoints").mkdir()
    (root / ".ipynb_checkpoints" / "q_linear_autoencoder.py").write_text("junk")
    (root / "numpy.py").write_text("raise SystemExit('planted')")
    (root / "data.csv").write_text("1,2,3\n")
    return root


def test_both_packs_choose_the_files_intake_would_grade(messy, tmp_path):
    ours = pack_mod.pack(messy, tmp_path / "a.zip")
    result = run_student_pack(messy, tmp_path / "b.zip")
    assert result.returncode == 1 and "NOT ready to upload" in result.stderr, result.stderr  # q_autoencoder is missing
    a, b = zip_contents(tmp_path / "a.zip"), zip_contents(tmp_path / "b.zip")
    assert a == b
    staged = intake.stage(messy, tmp_path / "staged")
    assert set(a) == {m + Path(p).suffix for m, p in staged.modules.items()}
    assert set(a) == {"q_rnn_and_grad.py", "q_rnn_last_name.py", "q_graph_clustering.ipynb"}
    # shallowest .py wins, exactly like the grader (old/ is shallower than hw7/code/)
    assert a["q_rnn_and_grad.py"] == (messy / "old" / "q_rnn_and_grad.py").read_bytes()
    assert ours.modules == staged.modules
    # the zip is accepted by intake and yields the same modules
    again = intake.stage(tmp_path / "a.zip", tmp_path / "staged2")
    assert set(again.modules) == set(staged.modules)


def test_warnings_name_unfinished_parts_and_missing_modules(messy, tmp_path):
    ours = pack_mod.pack(messy, tmp_path / "a.zip")
    result = run_student_pack(messy, tmp_path / "b.zip")
    student_warnings = [line[len("warning: "):] for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert student_warnings == ours.warnings
    text = "\n".join(ours.warnings)
    assert "part 2 not finished: letterToIndex, RecurrentClassifier.__init__, RecurrentClassifier.forward" in text
    assert "part 5d not finished: get_degree_matrix" in text
    assert "q_autoencoder.ipynb (or .py) not found: part 3a will score nothing" in text
    assert "q_linear_autoencoder.ipynb (or .py) not found: part 3b will score nothing" not in text  # a notebook submission: 3b has none
    assert any("q_linear_autoencoder: no notebook in the course" in note for note in ours.notes)
    assert "5g" not in text  # implemented in the notebook
    assert set(ours.unfinished) == {"2", "5d"}


def test_template_warns_every_stubbed_part_and_reference_none(tmp_path):
    template = pack_mod.pack(TEMPLATE, tmp_path / "t.zip")
    stubbed = set()
    for path in TEMPLATE.glob("q_*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and getattr(node.exc.func, "id", "") == "NotImplementedError":
                stubbed.add(node.exc.args[0].value.split(":")[0])
    assert stubbed and set(template.unfinished) == stubbed
    reference = pack_mod.pack(REFERENCE, tmp_path / "r.zip")
    assert reference.unfinished == {}
    present = {p.stem for p in REFERENCE.glob("q_*.py")}
    assert all("not found" in w for w in reference.warnings)
    assert len(reference.warnings) == len(set(MODULES) - present)


def test_syntax_errors_are_reported_and_nothing_is_imported(tmp_path):
    folder = tmp_path / "sub"
    folder.mkdir()
    marker = tmp_path / "imported"
    (folder / "q_rnn_and_grad.py").write_text(f"open({str(marker)!r}, 'w').write('x')\nraise SystemExit(3)\n")
    (folder / "q_rnn_last_name.py").write_text("def letterToIndex(c):\n    return 'abc'.index(c\n")
    ours = pack_mod.pack(folder, tmp_path / "a.zip")
    result = run_student_pack(folder, tmp_path / "b.zip", "--strict")
    assert not marker.exists()
    assert result.returncode == 1  # --strict with warnings
    assert any("q_rnn_last_name.py: syntax error at line 2" in w and "part 2 will score nothing" in w for w in ours.warnings)
    assert [l[9:] for l in result.stderr.splitlines() if l.startswith("warning: ")] == ours.warnings


def test_cli_pack_writes_the_zip_and_warns(template_submission, tmp_path):
    out = tmp_path / "submission.zip"
    result = cli("pack", str(template_submission), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert set(zip_contents(out)) == {p.name for p in template_submission.glob("q_*.py")}
    assert "part 1a not finished: RNNLayer.__init__, RNNLayer.forward" in result.stderr
    assert "Wrote" in result.stdout
    strict = cli("pack", str(template_submission), "--out", str(out), "--strict")
    assert strict.returncode == 1


def test_student_pack_is_standard_library_only_and_shares_the_grader_rules():
    tree = ast.parse(STUDENT_PACK.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported - set(sys.stdlib_module_names)
    module = student_pack()
    assert tuple(module.MODULES) == MODULES
    assert module.IGNORED_PARTS == intake.IGNORED_PARTS
    assert module.MAX_MODULE_BYTES == intake.MAX_MODULE_BYTES
    assert module.MAX_FILES == intake.MAX_FILES
    assert module.PARTS == pack_mod.parts()
    from autograder import rubric

    for check in rubric.load().checks:
        assert check.part in module.PARTS[check.module], check.id


def test_every_command_has_help():
    for command in ("build", "batch", "report", "pack", "check-rubric", "grade"):
        result = cli(command, "--help")
        assert result.returncode == 0 and "usage:" in result.stdout, command
    result = subprocess.run([sys.executable, str(STUDENT_PACK), "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "usage:" in result.stdout
    result = subprocess.run([sys.executable, str(TEMPLATE / "selfcheck.py"), "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "usage:" in result.stdout
