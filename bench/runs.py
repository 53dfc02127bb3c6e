"""The measured runs: each grade or batch is its own subprocess, measured by bench.tree.

Every ``grade`` runs as ``python -m bench.grade_child`` (the grade CLI plus a dump of the
grader's per-check report) with ``--shared-sandbox``: other graders on this machine use
the same sandbox uid, and the exclusive mode would kill their workers.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.tree import Measurement, run_measured

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REFERENCE = PROJECT_ROOT / "reference"
TEMPLATE = PROJECT_ROOT / "student_template"
HANG_SOURCE = (
    '"""bench: a submission whose import never returns (every check must time out)."""\n'
    "import time\n\nwhile True:\n    time.sleep(3600)\n"
)
# Runs the grade commands given as JSON, N at a time; used only if `autograder batch` fails.
POOL = """
import json, subprocess, sys
from concurrent.futures import ThreadPoolExecutor
def one(cmd):
    return subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT).returncode
with ThreadPoolExecutor(int(sys.argv[1])) as pool:
    sys.exit(max(pool.map(one, json.loads(sys.argv[2])), default=0))
"""


def selected(checks, only: tuple[str, ...]) -> list:
    """The rubric checks a run with ``--only`` grades (the runner's own rule)."""
    return [c for c in checks if not only or any(c.id.startswith(p) or c.part == p for p in only)]


def modules() -> tuple[str, ...]:
    from autograder.assignment import current

    return current().module_names


def copy_reference(dst: Path) -> Path:
    dst.mkdir(parents=True)
    for m in modules():
        shutil.copy(REFERENCE / f"{m}.py", dst / f"{m}.py")
    return dst


def make_hang(dst: Path) -> Path:
    dst.mkdir(parents=True)
    for m in modules():
        (dst / f"{m}.py").write_text(HANG_SOURCE)
    return dst


def make_class(dst: Path, k: int) -> Path:
    for i in range(1, k + 1):
        copy_reference(dst / f"student{i:02d}")
    return dst


@dataclass
class GradeRun:
    m: Measurement
    report: dict | None  # the grader's own report (bench.grade_child), None if grading did not finish
    results: dict | None  # results.json

    def count(self, *statuses: str) -> int:
        return sum(o["status"] in statuses for o in self.report["outcomes"]) if self.report else 0

    @property
    def finished(self) -> bool:
        return self.m.returncode == 0 and self.report is not None and bool((self.results or {}).get("extra_data", {}).get("finished"))

    @property
    def sandbox_mode(self) -> str:
        return (self.results or {}).get("extra_data", {}).get("sandbox", {}).get("mode", "?")


@dataclass
class BatchRun:
    m: Measurement
    k: int
    ok: int  # submissions whose grading finished (batch status 'ok')
    how: str  # 'autograder batch' or the fallback

    @property
    def per_minute(self) -> float:
        return self.k / self.m.wall_s * 60


class Runner:
    def __init__(self, workdir: Path, python: str, only: tuple[str, ...], timeout: float) -> None:
        self.workdir, self.python, self.only, self.timeout = workdir, python, only, timeout
        self.count = 0
        self.batch_broken = ""  # why `autograder batch` was given up for the fallback

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "AUTOGRADER_EXCLUSIVE_SANDBOX"}
        env["AUTOGRADER_SHARED_SANDBOX"] = "1"
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        return env

    def _dir(self, label: str) -> Path:
        self.count += 1
        d = self.workdir / f"{self.count:03d}-{label}"
        d.mkdir()
        return d

    def _only(self) -> list[str]:
        return ["--only", ",".join(self.only)] if self.only else []

    def grade(self, label: str, submission: Path, *extra: str, preexec_fn=None) -> GradeRun:
        d = self._dir(label)
        report, results = d / "report.json", d / "results.json"
        cmd = [self.python, "-m", "bench.grade_child", str(report), "grade", str(submission),
               "--results", str(results), "--shared-sandbox", *self._only(), *extra]
        m = run_measured(cmd, d / "log.txt", cwd=PROJECT_ROOT, env=self.env(), timeout=self.timeout, preexec_fn=preexec_fn)
        return GradeRun(m, _load(report), _load(results))

    def batch(self, class_dir: Path, k: int, jobs: int, scheduler: str | None = None) -> BatchRun:
        """``batch`` over the class with ``jobs`` local jobs, or on the Dask cluster at ``scheduler``."""
        d = self._dir(f"batch-dask{jobs}" if scheduler else f"batch-j{jobs}")
        spread = ["--scheduler", scheduler] if scheduler else ["--jobs", str(jobs)]
        if scheduler or not self.batch_broken:
            cmd = [self.python, "-m", "autograder", "batch", str(class_dir), "--out", str(d / "out"),
                   *spread, "--force", "--shared-sandbox", *self._only()]
            m = run_measured(cmd, d / "log.txt", cwd=PROJECT_ROOT, env=self.env(), timeout=self.timeout * k)
            if m.returncode == 0 and (d / "out" / "grades.csv").is_file():
                return BatchRun(m, k, _ok_in_csv(d / "out" / "grades.csv"), "autograder batch")
            if scheduler:
                return BatchRun(m, k, 0, f"autograder batch --scheduler exited {m.returncode} (log: {m.log})")
            self.batch_broken = f"`autograder batch` exited {m.returncode} (log: {m.log})"
        commands = [[self.python, "-m", "autograder", "grade", str(sub), "--results", str(d / f"{sub.name}.json"),
                     "--shared-sandbox", "--quiet", *self._only()] for sub in sorted(class_dir.iterdir())]
        cmd = [self.python, "-c", POOL, str(jobs), json.dumps(commands)]
        m = run_measured(cmd, d / "log.txt", cwd=PROJECT_ROOT, env=self.env(), timeout=self.timeout * k)
        ok = sum(bool((_load(d / f"{sub.name}.json") or {}).get("extra_data", {}).get("finished")) for sub in class_dir.iterdir())
        return BatchRun(m, k, ok, f"{jobs} parallel `grade --shared-sandbox` subprocesses ({self.batch_broken})")


def _load(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _ok_in_csv(path: Path) -> int:
    with open(path, newline="") as f:
        return sum(r.get("status") == "ok" for r in csv.DictReader(f))


def python_default() -> str:
    return sys.executable
