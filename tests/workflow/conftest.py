"""Shared helpers for the workflow-command tests (build, batch, report, pack, check-rubric, selfcheck)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "reference"
TEMPLATE = ROOT / "student_template"
MODULES = ("q_rnn_and_grad", "q_rnn_last_name", "q_autoencoder", "q_linear_autoencoder", "q_graph_clustering")


def cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    """Run ``python -m autograder ARGS`` and capture its output."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = str(ROOT)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=str(cwd or ROOT), env=full_env, capture_output=True, text=True, timeout=timeout)


def copy_modules(source: Path, dest: Path, modules: tuple[str, ...] = MODULES) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in modules:
        src = source / f"{name}.py"
        if src.is_file():
            (dest / src.name).write_bytes(src.read_bytes())
    return dest


@pytest.fixture
def reference_submission(tmp_path: Path) -> Path:
    return copy_modules(REFERENCE, tmp_path / "reference_submission")


@pytest.fixture
def template_submission(tmp_path: Path) -> Path:
    return copy_modules(TEMPLATE, tmp_path / "template_submission")
