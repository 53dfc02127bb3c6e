"""Run one command and measure its whole process tree: wall time, CPU time, peak PSS.

CPU time comes from ``os.wait4`` on the command: the rusage of a reaped child covers
itself and every descendant it (transitively) waited for. The grader waits for its
supervisor, which is a subreaper and reaps every worker, so that is the whole tree.
The sampler double-checks it: it records each process's own utime+stime from
/proc/<pid>/stat every ~50 ms, a lower bound (short-lived processes and their last
few milliseconds are missed) that must stay below the rusage figure.

Memory is the peak over samples of the sum of PSS (/proc/<pid>/smaps_rollup "Pss:")
over every process in the tree, found by walking the ppid links in /proc/*/stat.
PSS splits shared pages (torch, copy-on-write pages of the forked workers) between
the processes sharing them, so the sum counts each page once.
"""
from __future__ import annotations

import os
import resource
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def parse_stat(text: bytes) -> tuple[int, float, int]:
    """(ppid, utime+stime in seconds, start time in ticks) from a /proc/<pid>/stat line."""
    fields = text.rsplit(b")", 1)[1].split()  # the command name may hold spaces and ')'
    # fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15, starttime 22
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS, int(fields[19])


def parse_pss_kb(text: str) -> int:
    """The "Pss:" figure in kB from /proc/<pid>/smaps_rollup (0 when absent)."""
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def process_table() -> dict[int, tuple[int, float, int]]:
    """pid -> (ppid, cpu seconds, start time) for every process we can read."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    table[int(entry)] = parse_stat(f.read())
            except (OSError, IndexError, ValueError):
                pass  # exited meanwhile
    return table


def tree_of(root: int, parents: dict[int, int]) -> list[int]:
    """root and all its descendants, given pid -> ppid."""
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    found, frontier = [], [root] if root in parents else []
    while frontier:
        pid = frontier.pop()
        found.append(pid)
        frontier.extend(children.get(pid, ()))
    return found


def pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            return parse_pss_kb(f.read())
    except OSError:  # exited, or a zombie
        return 0


class TreeSampler:
    """Samples a process tree in a thread until stopped."""

    def __init__(self, root: int, interval: float = 0.05) -> None:
        self.root, self.interval = root, interval
        self.peak_pss_kb = 0
        self.peak_processes = 0
        self.samples = 0
        self._cpu: dict[tuple[int, int], float] = {}  # (pid, start time) -> last seen own cpu
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> "TreeSampler":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def sampled_cpu_s(self) -> float:
        return sum(self._cpu.values())

    def sample(self) -> None:
        table = process_table()
        pids = tree_of(self.root, {pid: row[0] for pid, row in table.items()})
        if not pids:
            return
        self.peak_pss_kb = max(self.peak_pss_kb, sum(pss_kb(pid) for pid in pids))
        self.peak_processes = max(self.peak_processes, len(pids))
        self.samples += 1
        for pid in pids:
            self._cpu[(pid, table[pid][2])] = table[pid][1]

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)


@dataclass
class Measurement:
    command: list[str]
    returncode: int
    wall_s: float
    cpu_s: float  # user+sys of the whole tree, from wait4
    children_cpu_s: float  # the same from our RUSAGE_CHILDREN delta (meaningful when run alone)
    sampled_cpu_s: float  # lower bound from /proc sampling
    peak_pss_mb: float
    peak_processes: int
    samples: int
    timed_out: bool
    log: Path
    sampler: TreeSampler | None = field(default=None, repr=False, compare=False)

    @property
    def tree_covered(self) -> bool:
        """rusage is at least what sampling saw (2% + 0.1 s slack for rounding)."""
        return self.sampled_cpu_s <= self.cpu_s * 1.02 + 0.1


def run_measured(command: list[str], log: Path, *, cwd: Path, env: dict[str, str], timeout: float,
                 preexec_fn=None, interval: float = 0.05, sampler_class: type[TreeSampler] = TreeSampler) -> Measurement:
    """Run ``command`` (output to ``log``), sampling its tree; kill its process group after ``timeout``.

    ``sampler_class`` (TreeSampler or a subclass) samples the tree; the instance used is
    ``Measurement.sampler``, for callers that record more than the peak.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    timed_out = threading.Event()
    with open(log, "wb") as out:
        started = time.monotonic()
        proc = subprocess.Popen(command, cwd=str(cwd), env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=preexec_fn)
        sampler = sampler_class(proc.pid, interval).start()

        def kill() -> None:
            timed_out.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # our own child's group only
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.monotonic() - started
        sampler.stop()
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return Measurement(
        command=command,
        returncode=proc.returncode,
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        children_cpu_s=(after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        sampled_cpu_s=sampler.sampled_cpu_s,
        peak_pss_mb=sampler.peak_pss_kb / 1024,
        peak_processes=sampler.peak_processes,
        samples=sampler.samples,
        timed_out=timed_out.is_set(),
        log=log,
        sampler=sampler,
    )
