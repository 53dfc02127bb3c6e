"""``batch``: Gradescope export and plain folders, grades.csv, resume with fingerprints, broken submissions, --compare."""
from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from autograder import batch
from tests.workflow.conftest import REFERENCE, ROOT, TEMPLATE, cli

METADATA = """\
---
submission_101:
  :submitters:
  - :name: Ada Lovelace
    :sid: '00123'
    :email: ada@example.edu
  :created_at: 2026-11-01 12:34:56.000000000 -07:00
  :score: 10.0
  :status: processed
submission_102:
  :submitters:
  - :name: "Jos\\u00E9 O'Neil"   # a group of two
    :sid: '456'
    :email: jose@example.edu
  - :name: 'Grace ''Amazing'' Hopper'
    :sid: "789"
    :email: grace@example.edu
  :history:
  - :id: 1
    :score: 3.0
  - :id: 2
    :score:
  :notes: |
    a block scalar
    over two lines
submission_103:
  :submitters:
  - :name: Alan Turing
    :sid: '31415'
    :email: alan@example.edu
submission_999:
  :submitters:
  - :name: Never Exported
    :sid: '000'
    :email: ghost@example.edu
"""


def test_metadata_reads_gradescope_export_with_ids_and_dates_kept_as_written():
    data = batch.parse_yaml(METADATA)
    assert list(data) == ["submission_101", "submission_102", "submission_103", "submission_999"]
    group = data["submission_102"][":submitters"]
    assert group[0] == {":name": "José O'Neil", ":sid": "456", ":email": "jose@example.edu"}
    assert group[1][":name"] == "Grace 'Amazing' Hopper" and group[1][":sid"] == "789"
    assert data["submission_101"][":submitters"][0][":sid"] == "00123"  # ids stay strings
    assert data["submission_102"][":history"][1] == {":id": "2", ":score": None}
    assert data["submission_102"][":notes"] == "a block scalar\nover two lines\n"
    assert data["submission_101"][":created_at"] == "2026-11-01 12:34:56.000000000 -07:00"


def test_metadata_plain_keys_and_odd_layouts_and_a_broken_file():
    text = "a:\n  - x\n  - 'y: z'\nb: {}\nc: []\nd: ~\n'quoted key': \"v # not a comment\"\ne:\n- f: 1\n  g: 2\n"
    assert batch.parse_yaml(text) == {"a": ["x", "y: z"], "b": {}, "c": [], "d": None, "quoted key": "v # not a comment", "e": [{"f": "1", "g": "2"}]}
    with pytest.raises(batch.YamlError):
        batch.parse_yaml("a: 1\n  b: 2\n c: 3\n")


def make_export(root: Path) -> Path:
    export = root / "assignment_export"
    (export / "submission_101").mkdir(parents=True)
    shutil.copy(REFERENCE / "q_rnn_and_grad.py", export / "submission_101" / "q_rnn_and_grad.py")
    (export / "submission_102" / "nested").mkdir(parents=True)
    shutil.copy(TEMPLATE / "q_rnn_and_grad.py", export / "submission_102" / "nested" / "q_rnn_and_grad.py")
    (export / "submission_103").mkdir()
    (export / "submission_103" / "q_rnn_and_grad.py").write_text("def broken(:\n")
    (export / "submission_metadata.yml").write_text(METADATA)
    return export


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_gradescope_export_batch_resume_and_compare(tmp_path):
    export = make_export(tmp_path)
    out = tmp_path / "out"
    first = cli("batch", str(export), "--out", str(out), "--jobs", "2", "--only", "1c")
    print(first.stdout, first.stderr)
    assert first.returncode == 0, first.stdout + first.stderr
    rows = read_csv(out / "grades.csv")
    header = list(rows[0])
    assert header[:4] == ["submission", "student", "sid", "email"]
    assert header[-4:] == ["total", "max", "status", "seconds"]
    assert header[4:-4] == ["1a", "1b", "1c", "1d", "1h"] or header[4:9] == ["1a", "1b", "1c", "1d", "1h"]
    by_student = {r["student"]: r for r in rows}
    assert set(by_student) == {"Ada Lovelace", "José O'Neil", "Grace 'Amazing' Hopper", "Alan Turing", "Never Exported"}
    ada = by_student["Ada Lovelace"]
    assert (ada["sid"], ada["email"], ada["1c"], ada["1a"], ada["total"], ada["status"]) == ("00123", "ada@example.edu", "3", "0", "3", "ok")
    for name in ("José O'Neil", "Grace 'Amazing' Hopper"):  # a group: one graded submission, a row each
        assert by_student[name]["submission"] == "submission_102"
        assert (by_student[name]["1c"], by_student[name]["status"]) == ("0", "ok")
    assert by_student["Alan Turing"]["total"] == "0" and by_student["Alan Turing"]["status"] == "ok"
    assert by_student["Never Exported"]["status"].startswith("error: listed in the metadata but no submission folder")
    for sub in ("submission_101", "submission_102", "submission_103"):
        results = json.loads((out / sub / "results.json").read_text())
        assert results["extra_data"]["finished"] is True
    syntax = json.loads((out / "submission_103" / "results.json").read_text())
    assert any("syntax error" in t["output"] for t in syntax["tests"] if t["number"].startswith("1c"))
    assert "[" in first.stderr and "ETA" in first.stderr  # progress bar
    manifest = json.loads((out / "batch.json").read_text())
    assert manifest["state"] == "complete" and manifest["graded_this_run"] == 3
    command = (out / "submission_101" / "grader.log").read_text().splitlines()[0]
    assert " -m autograder grade " in command and "--shared-sandbox" in command  # --jobs 2: graders share the uid

    # Resume: nothing to regrade, results untouched.
    stamp = (out / "submission_101" / "results.json").stat().st_mtime_ns
    second = cli("batch", str(export), "--out", str(out), "--jobs", "2", "--only", "1c")
    assert second.returncode == 0
    assert "3 reused" in second.stdout and "0 graded" in second.stdout, second.stdout + second.stderr
    assert (out / "submission_101" / "results.json").stat().st_mtime_ns == stamp

    # A changed submission is regraded, the others reused.
    shutil.copy(REFERENCE / "q_rnn_and_grad.py", export / "submission_102" / "nested" / "q_rnn_and_grad.py")
    old_csv = tmp_path / "old.csv"
    shutil.copy(out / "grades.csv", old_csv)
    third = cli("batch", str(export), "--out", str(out), "--only", "1c", "--compare", str(old_csv), "--shared-sandbox")
    assert third.returncode == 0, third.stdout + third.stderr
    assert "1 graded" in third.stdout and "2 reused" in third.stdout
    assert "gained   José O'Neil (456): 0 -> 3 (+3): 1c +3" in third.stdout
    assert "gained   Grace 'Amazing' Hopper (789): 0 -> 3 (+3): 1c +3" in third.stdout
    assert "2 gained, 0 lost" in third.stdout

    # A changed rubric (or grader version) invalidates every finished result.
    rubric = tmp_path / "rubric.toml"
    rubric.write_text((ROOT / "assignments" / "hw7" / "rubric.toml").read_text().replace('title = "loss_fn over all time steps"', 'title = "loss_fn over every time step"'))
    fourth = cli("batch", str(export), "--out", str(out), "--only", "1c.1", "--rubric", str(rubric), "--shared-sandbox")
    assert fourth.returncode == 0, fourth.stdout + fourth.stderr
    assert "changed since the last run" in fourth.stderr
    assert "3 graded" in fourth.stdout


def test_plain_folder_of_zips_and_folders_with_broken_entries(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    with zipfile.ZipFile(subs / "alice.zip", "w") as archive:
        archive.write(REFERENCE / "q_rnn_and_grad.py", "hw7/q_rnn_and_grad.py")
    (subs / "bob.zip").write_bytes(b"this is not a zip")
    (subs / "carol").mkdir()
    (subs / "carol" / "notes.txt").write_text("no modules here")
    (subs / "readme.txt").write_text("ignored: not a zip, not a folder")
    out = subs / "results"  # the output folder may live inside the submissions folder
    result = cli("batch", str(subs), "--out", str(out), "--only", "1c.1", "--shared-sandbox")
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {r["submission"]: r for r in read_csv(out / "grades.csv")}
    assert set(rows) == {"alice", "bob", "carol"}
    assert rows["alice"]["1c"] == "1" and rows["alice"]["status"] == "ok" and rows["alice"]["student"] == "alice"
    assert rows["bob"]["status"].startswith("no modules: The submission is not a readable zip file")
    assert rows["carol"]["status"] == "no modules: none of the homework modules were found"
    assert (out / "mistakes.csv").read_text(encoding="utf-8").splitlines()[0] == "mistake,hint,checks,submissions,students"  # written with grades.csv


def test_interrupted_batch_resumes_without_regrading_finished_work(tmp_path):
    subs = tmp_path / "subs"
    for name in ("a", "b", "c"):
        (subs / name).mkdir(parents=True)
        shutil.copy(REFERENCE / "q_rnn_and_grad.py", subs / name / "q_rnn_and_grad.py")
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "autograder", "batch", str(subs), "--out", str(out), "--only", "1c.1", "--shared-sandbox"], cwd=str(ROOT), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not (out / "a" / "batch.json").exists():
        time.sleep(0.2)
    assert (out / "a" / "batch.json").exists(), "the first submission never finished"
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stdout + stderr
    assert "Interrupted" in stderr
    state = json.loads((out / "batch.json").read_text())
    assert state["state"] == "interrupted"
    rows = {r["submission"]: r for r in read_csv(out / "grades.csv")}
    assert rows["a"]["status"] == "ok" and rows["a"]["total"] == "1"
    assert rows["b"]["status"] == rows["c"]["status"] == "interrupted"
    stamp = (out / "a" / "results.json").stat().st_mtime_ns
    again = cli("batch", str(subs), "--out", str(out), "--only", "1c.1", "--shared-sandbox")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "1 reused" in again.stdout and "2 graded" in again.stdout
    assert (out / "a" / "results.json").stat().st_mtime_ns == stamp
    final = read_csv(out / "grades.csv")
    assert all(r["status"] == "ok" and r["total"] == "1" for r in final), final


@pytest.mark.slow
@pytest.mark.parametrize("jobs,count", [(2, 40), (1, 10)])
def test_class_of_reference_copies(tmp_path, jobs, count):
    subs = tmp_path / "subs"
    for i in range(count):
        (subs / f"student_{i:02d}").mkdir(parents=True)
        shutil.copy(REFERENCE / "q_rnn_and_grad.py", subs / f"student_{i:02d}" / "q_rnn_and_grad.py")
    out = tmp_path / "out"
    started = time.monotonic()
    result = cli("batch", str(subs), "--out", str(out), "--jobs", str(jobs), "--only", "1", "--shared-sandbox", timeout=3600)
    seconds = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    rows = read_csv(out / "grades.csv")
    assert len(rows) == count
    for row in rows:
        assert (row["1a"], row["1b"], row["1c"], row["1d"], row["1h"], row["status"]) == ("6", "4", "3", "6", "6", "ok"), row
        assert row["total"] == "25"
    rate = count / seconds * 60
    print(f"\nbatch --jobs {jobs}: {count} submissions (part 1) in {seconds:.0f} s = {rate:.1f} submissions/minute")


def test_an_infrastructure_error_is_an_error_row_with_no_points_not_a_zero(tmp_path):
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"score": 0, "output": "The grader failed on the course's side", "tests": [], "extra_data": {"finished": False, "infrastructure_error": "the sandbox user cannot read /opt/hw7-venv/lib/x"}}))
    sub = batch.Submission("submission_1", tmp_path, [batch.Student(name="Ada", sid="1", email="a@x")])
    outcome = batch.read_outcome(sub, results, ["1", "2"])
    assert outcome.status.startswith("error: infrastructure (not the student's fault): the sandbox user cannot read")
    row = batch.csv_rows([outcome], ["1", "2"])[0]
    header = batch.csv_header(["1", "2"])
    values = dict(zip(header, row))
    assert values["1"] == values["2"] == values["total"] == values["max"] == ""
    old, new = tmp_path / "old.csv", tmp_path / "new.csv"
    graded = batch.Outcome("submission_1", sub.students, parts={"1": 3.0, "2": 1.0}, total=4.0, max_score=9.0, status="ok")
    batch.write_csv(old, [graded], ["1", "2"])
    batch.write_csv(new, [outcome], ["1", "2"])
    lines = batch.compare(old, new)
    assert lines[0].startswith("error    Ada (1): not comparable [status ok -> error: infrastructure")


CLASSMATE_ATTACK = '''
import glob as _glob, os as _os
def _steal():
    targets = [@@TARGETS@@]
    for pid in [p for p in _os.listdir("/proc") if p.isdigit()]:
        for what in ("cmdline", "environ"):
            try:
                data = open(f"/proc/{pid}/{what}", "rb").read(2000)
            except OSError:
                continue
            if b"submission_301" in data or b"grades.csv" in data:
                print("STOLEN<<", pid, what, data[:100], flush=True)
    for pattern in targets:
        for path in _glob.glob(pattern)[:20]:
            try:
                data = open(path, "rb").read(2000)
            except OSError:
                continue
            print("STOLEN<<", path, data[:100], flush=True)
_steal()
'''


@pytest.mark.skipif(os.geteuid() != 0, reason="the worker's uid and view need root")
def test_a_classmates_code_results_and_records_are_out_of_reach_during_batch(tmp_path):
    from autograder.verify.folders import traversable_folder

    base = traversable_folder("autograder-batch-")  # world-traversable, as a careless export folder is
    try:
        export, out = base / "export", base / "out"
        (export / "submission_301").mkdir(parents=True)
        (export / "submission_302").mkdir(parents=True)
        for folder in (export, export / "submission_301", export / "submission_302"):
            folder.chmod(0o755)
        honest = (REFERENCE / "q_rnn_and_grad.py").read_text() + "\n# CLASSMATE_SECRET_301\n"
        (export / "submission_301" / "q_rnn_and_grad.py").write_text(honest)
        (export / "submission_metadata.yml").write_text("submission_301:\n  :submitters:\n  - :name: Victim Student\n    :sid: '301'\n    :email: victim@example.edu\n")
        targets = ", ".join(repr(str(p)) for p in (export / "submission_301" / "*", export / "submission_metadata.yml", out / "submission_301" / "*", out / "grades.csv"))
        attack = (REFERENCE / "q_rnn_and_grad.py").read_text() + CLASSMATE_ATTACK.replace("@@TARGETS@@", targets)
        (export / "submission_302" / "q_rnn_and_grad.py").write_text(attack)
        for path in export.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        result = cli("batch", str(export), "--out", str(out), "--jobs", "2", "--only", "1c")
        assert result.returncode == 0, result.stdout + result.stderr
        rows = {r["submission"]: r for r in read_csv(out / "grades.csv")}
        assert rows["submission_301"]["1c"] == "3" and rows["submission_302"]["1c"] == "3", rows
        stolen = (out / "submission_302" / "results.json").read_text()
        assert "STOLEN<<" not in stolen and "CLASSMATE_SECRET" not in stolen and "victim@" not in stolen
        assert out.stat().st_mode & 0o077 == 0 and (out / "grades.csv").stat().st_mode & 0o077 == 0
        assert (out / "submission_301" / "results.json").stat().st_mode & 0o077 == 0
    finally:
        shutil.rmtree(base, ignore_errors=True)
