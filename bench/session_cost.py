"""``python -m bench.session_cost``: what a fresh sandboxed worker per check costs, apart from the check.

Every check runs in a worker of its own (a fork of the supervisor, which holds torch and the
payload), so that no state of one check's run of the student's code reaches the next. This
prints what that isolation costs: a bare fork and exit of a process holding the payload, and
``--sessions`` full sessions (open, one ``__sandbox__`` call, close) through the real
supervisor and confinement, with the CPU of the supervisor and of the workers it reaped.
Multiply by the number of checks to weigh it against a grade's total.
"""
from __future__ import annotations

import argparse
import gc
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from autograder.config import DEFAULT_SANDBOX_USER
from bench import runs


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _proc_cpu(pid: int) -> tuple[float, float]:
    """(own, reaped children) CPU seconds of ``pid``, from /proc/<pid>/stat."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick, (int(fields[13]) + int(fields[14])) / tick


def bare_fork(count: int) -> tuple[list[float], list[float]]:
    """Fork and reap a child that exits at once: (fork, exit-and-reap) seconds each."""
    forks, exits = [], []
    for _ in range(count):
        t0 = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        t1 = time.perf_counter()
        os.waitpid(pid, 0)
        forks.append(t1 - t0)
        exits.append(time.perf_counter() - t1)
    return forks, exits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.session_cost", description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=40, help="sessions to time (default 40, one per check of the reference)")
    args = parser.parse_args(argv)

    from autograder.probes import load_all
    from autograder.sandbox.client import Sandbox

    t0 = time.perf_counter()
    load_all()
    gc.freeze()
    print(f"payload loaded in {time.perf_counter() - t0:.2f} s; this process: " + ", ".join(
        line.replace("\t", " ").strip() for line in open("/proc/self/status") if line.split(":")[0] in ("RssAnon", "RssFile", "VmPTE")))
    forks, exits = bare_fork(10)
    print(f"bare fork of it: {_ms(statistics.median(forks))} (median of 10), exit and reap {_ms(statistics.median(exits))}")

    user = DEFAULT_SANDBOX_USER if os.geteuid() == 0 else None
    base = Path(tempfile.mkdtemp(prefix="session-cost-"))
    try:
        os.chmod(base, 0o755)
        submission = runs.copy_reference(base / "submission")
        for path in [submission, *submission.rglob("*")]:
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        sandbox = Sandbox.start(str(base), str(submission), [], user, kill_whole_uid=True)
        try:
            sandbox.canary()
            phases: dict[str, list[float]] = {"open": [], "call": [], "close": []}
            before, before_children = _proc_cpu(sandbox._pid)
            started = time.perf_counter()
            for _ in range(args.sessions):
                a = time.perf_counter()
                session = sandbox.open(cpu_seconds=10, memory_mb=1024)
                b = time.perf_counter()
                session.call("__sandbox__", {}, time.monotonic() + 10)
                c = time.perf_counter()
                session.close()
                phases["open"].append(b - a)
                phases["call"].append(c - b)
                phases["close"].append(time.perf_counter() - c)
            wall = (time.perf_counter() - started) / args.sessions
            after, after_children = _proc_cpu(sandbox._pid)
        finally:
            sandbox.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)
    n = args.sessions
    print(f"sandbox user: {user or 'none (not root)'}; {n} sessions, each open + one __sandbox__ call + close:")
    print("  median " + ", ".join(f"{name} {_ms(statistics.median(times))}" for name, times in phases.items()) + f"; mean wall {_ms(wall)}")
    print(f"  CPU per session: supervisor {_ms((after - before) / n)}, its workers {_ms((after_children - before_children) / n)}, "
          f"together {_ms((after - before + after_children - before_children) / n)}")
    print(f"  for {n} checks: {(after - before + after_children - before_children):.2f} s of CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
