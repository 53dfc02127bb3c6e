"""``batch --scheduler``: a Dask cluster grades a class exactly as local jobs do (a LocalCluster of
two worker processes stands in for the department's)."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.workflow.conftest import cli
from tests.workflow.test_batch import make_export

distributed = pytest.importorskip("distributed", reason="batch --scheduler needs dask distributed (requirements.txt)")


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(handle)]


def verdicts(out: Path, submission: str) -> list[tuple[str, float, str]]:
    data = json.loads((out / submission / "results.json").read_text())
    return [(t["number"], t["score"], t["output"]) for t in data["tests"]]


def test_a_local_dask_cluster_grades_the_export_exactly_as_two_local_jobs(tmp_path):
    export = make_export(tmp_path)
    local = cli("batch", str(export), "--out", str(tmp_path / "local"), "--jobs", "2", "--only", "1c")
    assert local.returncode == 0, local.stdout + local.stderr
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, memory_limit=0, dashboard_address=None) as cluster:
        remote = cli("batch", str(export), "--out", str(tmp_path / "cluster"), "--scheduler", cluster.scheduler_address, "--only", "1c")
        assert remote.returncode == 0, remote.stdout + remote.stderr
        assert "Dask cluster" in remote.stderr and "2 worker(s)" in remote.stderr
        assert rows(tmp_path / "cluster" / "grades.csv") == rows(tmp_path / "local" / "grades.csv")
        for submission in ("submission_101", "submission_102", "submission_103"):
            assert verdicts(tmp_path / "cluster", submission) == verdicts(tmp_path / "local", submission)
        command = (tmp_path / "cluster" / "submission_101" / "grader.log").read_text().splitlines()[0]
        assert "--shared-sandbox" in command  # graders on one node share the sandbox uid
        # Resume works as with local jobs: the same files say what is done.
        again = cli("batch", str(export), "--out", str(tmp_path / "cluster"), "--scheduler", cluster.scheduler_address, "--only", "1c")
        assert again.returncode == 0 and "3 reused" in again.stdout, again.stdout + again.stderr
    assert json.loads((tmp_path / "cluster" / "batch.json").read_text())["scheduler"].startswith("tcp://")
