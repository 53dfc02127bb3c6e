"""``build``: the Gradescope zip is complete, clean, byte-identical across builds, and runs as Gradescope runs it."""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.workflow.conftest import REFERENCE, ROOT, cli


def build(tmp_path: Path, name: str, source: Path = ROOT) -> Path:
    out = tmp_path / name
    result = cli("build", "--out", str(out), "--source", str(source))
    assert result.returncode == 0, result.stderr
    return out


def test_zip_holds_exactly_what_gradescope_needs(tmp_path):
    out = build(tmp_path, "autograder.zip")
    with zipfile.ZipFile(out) as archive:
        infos = {i.filename: i for i in archive.infolist()}
    names = set(infos)
    for required in ("setup.sh", "run_autograder", "requirements.txt", "requirements.lock", "autograder-secret.key", "examples/canary.toml", "examples/sample_notebooks.zip", "autograder/__init__.py", "assignments/hw7/rubric.toml", "assignments/hw7/manifest.toml", "autograder/messages.toml", "reference/q_rnn_and_grad.py", "assignments/hw7/catalogue/mutants/part1.toml", "data/names/PROVENANCE.md", "data/names/English.txt"):
        assert required in names, required
    for name in names:
        parts = name.split("/")
        assert parts[0] in ("setup.sh", "run_autograder", "requirements.txt", "requirements.lock", "autograder-secret.key", "autograder", "assignments", "reference", "data", "examples"), name
        if "catalogue" in parts:  # only the mutants, that the diagnosis names mistakes from; no attacks, no held-out bugs
            assert parts[parts.index("catalogue") + 1] == "mutants" and name.endswith(".toml"), name
        assert "__pycache__" not in parts and not name.endswith((".pyc", ".pyo")), name
        assert not any(p.startswith(".") for p in parts), name
        assert "tests" not in parts, name
    assert not any(n.startswith(("student_template/", "tests/", ".ci/", "docs/")) for n in names)
    for name, info in infos.items():
        assert info.date_time == (1980, 1, 1, 0, 0, 0), name
        mode = info.external_attr >> 16
        assert stat.S_ISREG(mode), name
        assert stat.S_IMODE(mode) in (0o644, 0o755), name
    assert stat.S_IMODE(infos["run_autograder"].external_attr >> 16) == 0o755
    assert stat.S_IMODE(infos["setup.sh"].external_attr >> 16) == 0o755
    assert list(infos) == sorted(infos), "entries are sorted"


def test_build_is_byte_identical_whatever_the_timestamps_and_umask(tmp_path):
    first = build(tmp_path, "first.zip")
    # A copy of the tree with different mtimes, modes of ordinary files and stray caches.
    copy = tmp_path / "tree"
    copy.mkdir()
    for name in ("setup.sh", "run_autograder", "requirements.txt", "requirements.lock", "autograder-secret.key"):
        shutil.copy2(ROOT / name, copy / name)
    for tree in ("autograder", "assignments", "reference", "data", "examples"):
        shutil.copytree(ROOT / tree, copy / tree, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for path in copy.rglob("*"):
        if path.is_file():
            os.utime(path, (1_000_000_000, 1_000_000_000))
            if path.suffix == ".py":
                path.chmod(0o600)
    (copy / "autograder" / "__pycache__").mkdir(exist_ok=True)
    (copy / "autograder" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"junk")
    (copy / "autograder" / ".hidden.swp").write_bytes(b"junk")
    second = build(tmp_path, "second.zip", source=copy)
    third = build(tmp_path, "third.zip")
    assert first.read_bytes() == third.read_bytes()
    assert first.read_bytes() == second.read_bytes()


def test_build_refuses_a_tree_without_run_autograder(tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "data", tree / "data")
    result = cli("build", "--out", str(tmp_path / "x.zip"), "--source", str(tree))
    assert result.returncode == 1
    assert "missing" in result.stderr


def unzip_like_gradescope(archive: Path, dest: Path) -> None:
    """Extract with the permission bits stored in the zip (what `unzip` does)."""
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            target = dest / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(info))
            target.chmod(stat.S_IMODE(info.external_attr >> 16))
