"""Running the gradings: one ``python -m autograder grade`` subprocess per submission, in its own
process session, N at a time from a thread pool; and stopping them all on Ctrl-C.

With ``--jobs`` above 1 (or ``--shared-sandbox``: other graders run on this machine) the graders
share the sandbox uid, so each is told ``--shared-sandbox``: it kills only its own workers,
never every process of the uid."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from autograder.batch.export import Submission
from autograder.batch.outcome import Outcome, finished, not_graded, read_outcome
from autograder.batch.resume import STATE, write_json
from autograder.config import ARGUMENTS_ON_STDIN, PROJECT_ROOT
from autograder.text import clean

KILL_MARGIN_SECONDS = 120.0


@dataclass
class BatchOptions:
    """The ``batch`` command's options, as the grading of each submission needs them."""

    out: Path
    jobs: int = 1
    only: tuple[str, ...] = ()
    rubric_path: Path | None = None
    deadline: float | None = None
    sandbox_user: str | None = None
    force: bool = False
    shared_sandbox: bool = False  # other graders use the sandbox uid too (also implied by jobs > 1 and a scheduler)
    scheduler: str | None = None  # a Dask scheduler's address: grade on that cluster (batch.cluster)
    assignment: str | None = None  # the assignment folder each grading is told (a cluster node's own default otherwise)


def grade_command(submission: Path, results: Path, options: BatchOptions, shared: bool) -> list[str]:
    """The arguments of one grading (after ``python -m autograder``), sent on its standard input."""
    command = ["grade", str(submission), "--results", str(results), "--quiet"]
    if shared:
        command.append("--shared-sandbox")
    if options.only:
        command += ["--only", ",".join(options.only)]
    if options.rubric_path:
        command += ["--rubric", str(Path(options.rubric_path).resolve())]
    if options.deadline:
        command += ["--deadline", str(options.deadline)]
    if options.sandbox_user:
        command += ["--sandbox-user", options.sandbox_user]
    return command


class Runner:
    """Grades submissions in subprocesses and can stop them all (by their own process group ids)."""

    def __init__(self, options: BatchOptions, wall_seconds: float) -> None:
        self.options = options
        self.wall_seconds = wall_seconds
        self._procs: dict[int, subprocess.Popen] = {}
        self._lock = threading.Lock()
        self.stopping = False

    def grade(self, sub: Submission, part_ids: list[str], fp: str, sub_hash: str) -> Outcome:
        """Grade one submission into OUT/<submission>/ and record its batch.json; never raises for the student's code."""
        if self.stopping:  # interrupted before this one started: leave it for the next run
            return not_graded(sub, part_ids, "interrupted")
        folder = self.options.out / sub.name
        folder.mkdir(parents=True, exist_ok=True)
        results = folder / "results.json"
        for stale in (results, folder / STATE):
            if stale.exists():
                stale.unlink()
        shared = self.options.jobs > 1 or self.options.shared_sandbox or bool(self.options.scheduler)
        env = dict(os.environ)
        env["PYTHONPATH"] = str(PROJECT_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        if self.options.assignment:
            env["AUTOGRADER_ASSIGNMENT"] = self.options.assignment
        command = grade_command(sub.path, results, self.options, shared)
        started = time.monotonic()
        timed_out = False
        with open(folder / "grader.log", "wb") as log:
            log.write(("$ python -m autograder " + " ".join(command) + "\n").encode())
            log.flush()
            with self._lock:  # stop_all() either sees this process or stops it from starting
                if self.stopping:
                    return not_graded(sub, part_ids, "interrupted")
                # The arguments travel on a pipe: a command line is readable by every process on the host.
                proc = subprocess.Popen([sys.executable, "-m", "autograder", ARGUMENTS_ON_STDIN], cwd=str(PROJECT_ROOT), env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.PIPE, start_new_session=True)
                self._procs[proc.pid] = proc
            try:
                proc.stdin.write(json.dumps(command).encode())
                proc.stdin.close()
            except OSError:
                pass
            try:
                proc.wait(timeout=self.wall_seconds)
            except subprocess.TimeoutExpired:
                timed_out = True
                self._kill(proc)
            finally:
                with self._lock:
                    self._procs.pop(proc.pid, None)
        seconds = time.monotonic() - started
        outcome = read_outcome(sub, results, part_ids)
        outcome.seconds = seconds
        outcome.graded = True
        if self.stopping and not finished(results):
            outcome.status = "interrupted"
            outcome.graded = False
        elif timed_out:
            outcome.status = f"error: timed out after {self.wall_seconds:.0f} s (stopped)"
        elif not outcome.status or (proc.returncode != 0 and outcome.status.startswith("error") and "infrastructure" not in outcome.status):
            tail = _last_line(folder / "grader.log")
            outcome.status = f"error: grader exited with status {proc.returncode}" + (f": {tail}" if tail else "")
        state = {"fingerprint": fp, "submission_hash": sub_hash, "status": outcome.status, "seconds": round(seconds, 2), "exit_code": proc.returncode}
        write_json(folder / STATE, state)
        return outcome

    def _kill(self, proc: subprocess.Popen) -> None:
        """Stop one grader: SIGINT to its process group (it cleans up its sandbox), SIGKILL if it lingers."""
        for sig, grace in ((signal.SIGINT, 10.0), (signal.SIGKILL, 30.0)):
            try:
                os.killpg(proc.pid, sig)  # the grader's own session, started by us
            except (ProcessLookupError, PermissionError):
                return
            try:
                proc.wait(timeout=grace)
                return
            except subprocess.TimeoutExpired:
                continue

    def stop_all(self) -> None:
        """Stop every running grader and start no more (Ctrl-C)."""
        with self._lock:
            self.stopping = True
            procs = list(self._procs.values())
        for proc in procs:
            self._kill(proc)


def _last_line(log: Path) -> str:
    try:
        lines = [l.strip() for l in log.read_text(errors="replace").splitlines() if l.strip() and not l.startswith("$ ")]
    except OSError:
        return ""
    return clean(lines[-1][:200]) if lines else ""


def grade_all(
    runner: Runner,
    todo: list[tuple[Submission, str]],
    part_ids: list[str],
    fp: str,
    jobs: int,
    on_done: Callable[[Submission, Outcome], None],
    log: Callable[[str], None],
) -> bool:
    """Grade every (submission, hash) pair, ``jobs`` at a time, handing each outcome to ``on_done``
    as it finishes; True when Ctrl-C stopped the run (the rest is left for the next run)."""
    interrupted = False
    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        pending = {pool.submit(runner.grade, sub, part_ids, fp, h): sub for sub, h in todo}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                sub = pending.pop(future)
                try:
                    outcome = future.result()
                except Exception as exc:  # a failure of the batch machinery for one submission
                    outcome = not_graded(sub, part_ids, f"error: {type(exc).__name__}: {exc}")
                on_done(sub, outcome)
    except KeyboardInterrupt:
        interrupted = True
        runner.stop_all()
        for future in list(pending):
            future.cancel()
        log("\nInterrupted: stopping the graders. Run the same command again to resume; finished submissions are kept.")
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return interrupted
