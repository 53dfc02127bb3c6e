"""The proof's own instruments detect what they claim to (so a clean verdict means something)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from autograder import verify


def test_loopback_listener_records_connections_and_datagrams() -> None:
    listener = verify.LoopbackListener()
    try:
        with socket.create_connection(("127.0.0.1", listener.tcp_port), timeout=2) as conn:
            conn.sendall(b"hello")
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"ping", ("127.0.0.1", listener.udp_port))
        deadline = time.monotonic() + 3
        while len(listener.events) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        listener.close()
    assert any(e.startswith("tcp") for e in listener.events) and any(e.startswith("udp") for e in listener.events)


def test_leftover_processes_are_found_by_their_command_line(tmp_path: Path) -> None:
    marker = str(tmp_path / "case-folder")
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", marker])
    try:
        time.sleep(0.3)
        found = verify.case_processes(marker, None, verify._boot_ticks())
        assert [pid for pid, _ in found] == [proc.pid]
    finally:
        proc.kill()
        proc.wait()
    assert verify.case_processes(marker, None, 0) == []


def test_descendants_of_a_process_are_found() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)']); time.sleep(30)"])
    try:
        deadline = time.monotonic() + 10
        found = []
        while len(found) < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
            found = verify.descendants(proc.pid)
        assert len(found) == 1
    finally:
        verify._kill_pids(verify.descendants(proc.pid) + [proc.pid])
        proc.wait()


def test_secret_lines_are_detected_and_own_code_is_not() -> None:
    secret = next(iter(sorted(verify.secret_lines())))
    assert verify.leaked_secrets(f"output ... {secret} ...", []) == [secret[:100]]
    assert verify.leaked_secrets(f"output ... {secret} ...", [secret]) == []
    assert not any("def " in line[:4] for line in verify.secret_lines())


def test_hidden_text_in_a_visible_place_is_detected() -> None:
    tests = [
        {"number": "1c.1", "visibility": "hidden", "output": "wrong\nSmallest failing input: batch=2, steps=3, seed=17"},
        {"number": "1c.2", "visibility": "visible", "output": "Smallest failing input: batch=2, steps=3, seed=17"},
    ]
    assert verify.hidden_leaks({"output": "", "tests": tests})
    tests[1]["output"] = "Passed."
    assert verify.hidden_leaks({"output": "", "tests": tests}) == []


def test_grader_state_notices_a_changed_or_sandbox_owned_file(tmp_path: Path) -> None:
    before = {"reference/q.py": "a"}
    assert verify.state_changes(before, {"reference/q.py": "b"}) == ["changed reference/q.py"]
    assert verify.state_changes(before, {**before, "owned by the sandbox uid: x": "sandbox"}) == ["added owned by the sandbox uid: x"]
    state = verify.grader_state()
    assert "assignments/hw7/rubric.toml" in state and any(k.startswith("reference/") for k in state)


def test_work_folders_are_traversable_by_the_sandbox_user() -> None:
    folder = verify.traversable_folder()
    try:
        assert verify._traversable(folder)
        os.chmod(folder, 0o700)
        assert not verify._traversable(folder / "inside")
    finally:
        os.rmdir(folder)


def test_interference_is_recognised_only_where_the_catalogue_expects_a_pass() -> None:
    mutant = verify.Fixture(kind="mutant", name="m", module="q_rnn_and_grad", outcome="fails", fails=("1c.1",))
    killed = "Your code ended the worker process during this check (killed by signal SIGKILL), so the check could not finish."
    obs = verify.Observation("mutant:m", outcomes=[
        {"id": "1c.1", "score": 0, "max_score": 1, "status": "failed", "message": killed},
        {"id": "1c.2", "score": 1, "max_score": 1, "status": "passed", "message": "Passed."},
    ])
    assert not verify.foreign_kill_suspected(mutant, verify.judge(mutant, obs, ("1c",)))
    obs.outcomes[1] = {"id": "1c.2", "score": 0, "max_score": 1, "status": "failed", "message": killed}
    assert verify.foreign_kill_suspected(mutant, verify.judge(mutant, obs, ("1c",)))
