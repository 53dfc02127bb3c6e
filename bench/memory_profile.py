"""``python -m bench.memory_profile``: who holds the memory while one submission is graded.

Runs one grading (``bench.grade_child``, sandboxed, ``--shared-sandbox``) and samples every
process of its tree every ~50 ms: PSS (and its anonymous / file-backed parts) from
/proc/<pid>/smaps_rollup, each process labelled by its role:

- ``grader``: the grading process itself (trusted checks, the reference, its training);
- ``supervisor``: the grader's child forked by ``Sandbox.start`` (imports and probe data, no secret);
- ``worker``: the supervisor's children (one sandboxed worker per check) and their descendants.

Each sample is attributed to the check running at that moment: the grader rewrites
results.json after every check (rubric order, "not run" ones included), so the check
being graded is the first rubric entry not yet recorded. Samples before the first worker
appears are ``start-up`` (imports, supervisor fork, loading the checks and the reference).

Prints the peak moment of the whole run with each role's share, then one row per check:
the tree's peak PSS during that check and each role's share at that moment, and the
largest figure each role reached during it; a check shorter than the sampling period may
get no row (``--interval 0.02`` catches more). ``--each 1,2,3a,3b,5`` instead grades each
prefix alone (``--only``) and prints one row per run, start-up included.

PSS splits file-backed pages (torch's libraries) with every process mapping them, other
graders on the machine included, so the anonymous part is also printed: it is the steadier
figure on a busy machine.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import runs
from bench.tree import TreeSampler, process_table, run_measured, tree_of

ROLES = ("grader", "supervisor", "worker")
FIELDS = ("Pss", "Pss_Anon", "Pss_File", "Pss_Shmem")


def parse_rollup_kb(text: str) -> dict[str, int]:
    """The PSS fields (kB) of a /proc/<pid>/smaps_rollup text; missing fields are 0."""
    out = dict.fromkeys(FIELDS, 0)
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in out:
            out[key] = int(rest.split()[0])
    return out


def rollup_kb(pid: int) -> dict[str, int] | None:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            return parse_rollup_kb(f.read())
    except OSError:  # exited, or a zombie
        return None


def role_of(pid: int, root: int, parents: dict[int, int]) -> str:
    """grader (root), supervisor (root's children), worker (anything deeper).

    Short-lived helpers count with their parent's level: the grader's probe of what the
    sandbox user may read is a "supervisor" for a few ms, the supervisor's uid killer a "worker".
    """
    if pid == root:
        return "grader"
    if parents.get(pid) == root:
        return "supervisor"
    return "worker"


@dataclass
class Sample:
    t: float
    phase: str
    kb: dict[str, int]  # role -> PSS kB
    anon_kb: dict[str, int]  # role -> Pss_Anon kB
    processes: dict[str, int]  # role -> count

    @property
    def total_kb(self) -> int:
        return sum(self.kb.values())


class Progress:
    """Which check the grader is on, from the number of tests in its results.json.

    ``selected`` (default: all) are the ids the run grades (``--only``); the others are
    recorded as "not run" at once, so the check being graded is the first selected one
    not yet recorded.
    """

    def __init__(self, results: Path, check_ids: list[str], selected: set[str] | None = None) -> None:
        self.results, self.check_ids = results, check_ids
        self.selected = set(check_ids) if selected is None else selected
        self._mtime = None
        self.done = 0

    def current(self, worker_seen: bool) -> str:
        try:
            mtime = self.results.stat().st_mtime_ns
            if mtime != self._mtime:
                self.done = len(json.loads(self.results.read_text()).get("tests", []))
                self._mtime = mtime
        except (OSError, ValueError):
            pass  # not written yet, or caught mid-replace: keep the last count
        if self.done == 0 and not worker_seen:
            return "start-up"
        return next((c for c in self.check_ids[self.done :] if c in self.selected), "shut-down")


class RoleSampler(TreeSampler):
    """TreeSampler that also keeps every sample broken down by role and check."""

    progress: Progress | None = None  # set on the class before run_measured creates the instance

    def __init__(self, root: int, interval: float = 0.05) -> None:
        super().__init__(root, interval)
        self.samples_kept: list[Sample] = []
        self.worker_seen = False
        self._t0 = None

    def sample(self) -> None:
        now = time.monotonic()
        if self._t0 is None:
            self._t0 = now
        table = process_table()
        parents = {pid: row[0] for pid, row in table.items()}
        pids = tree_of(self.root, parents)
        if not pids:
            return
        kb, anon, count = dict.fromkeys(ROLES, 0), dict.fromkeys(ROLES, 0), dict.fromkeys(ROLES, 0)
        for pid in pids:
            r = rollup_kb(pid)
            if r is None:
                continue
            role = role_of(pid, self.root, parents)
            kb[role] += r["Pss"]
            anon[role] += r["Pss_Anon"]
            count[role] += 1
            self._cpu[(pid, table[pid][2])] = table[pid][1]
        self.worker_seen = self.worker_seen or count["worker"] > 0
        phase = self.progress.current(self.worker_seen) if self.progress else "?"
        s = Sample(now - self._t0, phase, kb, anon, count)
        self.samples_kept.append(s)
        self.peak_pss_kb = max(self.peak_pss_kb, s.total_kb)
        self.peak_processes = max(self.peak_processes, len(pids))
        self.samples += 1


@dataclass
class PhaseStats:
    phase: str
    first_t: float
    last_t: float
    peak: Sample
    role_max_kb: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ROLES, 0))


def by_phase(samples: list[Sample]) -> list[PhaseStats]:
    phases: dict[str, PhaseStats] = {}
    for s in samples:
        p = phases.get(s.phase)
        if p is None:
            p = phases[s.phase] = PhaseStats(s.phase, s.t, s.t, s)
        p.last_t = s.t
        if s.total_kb > p.peak.total_kb:
            p.peak = s
        for role in ROLES:
            p.role_max_kb[role] = max(p.role_max_kb[role], s.kb[role])
    return list(phases.values())


def mb(kb: float) -> str:
    return f"{kb / 1024:6.0f}"


def profile_table(samples: list[Sample], seconds: dict[str, float] | None = None) -> list[str]:
    """The peak moment, then one row per phase; ``seconds``: the grader's own time per check (its report)."""
    seconds = seconds or {}
    out = []
    if not samples:
        return ["  no samples"]
    peak = max(samples, key=lambda s: s.total_kb)
    shares = ", ".join(f"{r} {peak.kb[r] / 1024:.0f} MB (anon {peak.anon_kb[r] / 1024:.0f}; {peak.processes[r]} proc)" for r in ROLES)
    out.append(f"peak of the tree: {peak.total_kb / 1024:.0f} MB PSS at t={peak.t:.1f} s during {peak.phase}: {shares}")
    anon = max(samples, key=lambda s: sum(s.anon_kb.values()))
    out.append(f"peak of the tree's anonymous PSS (not shared with unrelated processes, so steadier on a busy machine): "
               f"{sum(anon.anon_kb.values()) / 1024:.0f} MB during {anon.phase}")
    role_peaks = {r: max(samples, key=lambda s, r=r: s.kb[r]) for r in ROLES}
    out.append("largest per role: " + ", ".join(f"{r} {s.kb[r] / 1024:.0f} MB ({s.phase})" for r, s in role_peaks.items()))
    out.append("")
    out.append(f"{'phase':<10} {'secs':>5} {'check':>5} | {'tree peak':>9} = {'grader':>6} + {'superv':>6} + {'worker':>6} MB at that moment | "
               f"max during phase: {'grader':>6} {'superv':>6} {'worker':>6}")
    for p in by_phase(samples):
        s = p.peak
        took = f"{seconds[p.phase]:5.1f}" if p.phase in seconds else f"{'':5}"
        out.append(f"{p.phase:<10} {p.last_t - p.first_t:5.1f} {took} | {mb(s.total_kb):>9} = {mb(s.kb['grader'])} + {mb(s.kb['supervisor'])} + "
                   f"{mb(s.kb['worker'])}                   | {'':17} {mb(p.role_max_kb['grader'])} {mb(p.role_max_kb['supervisor'])} {mb(p.role_max_kb['worker'])}")
    return out


def timeline(samples: list[Sample], step: float) -> list[str]:
    out, next_t = [f"{'t':>6} {'phase':<10} {'total':>6} {'grader':>6} {'superv':>6} {'worker':>6}  (MB PSS; grader anon)"], 0.0
    for s in samples:
        if s.t >= next_t:
            out.append(f"{s.t:6.1f} {s.phase:<10} {mb(s.total_kb)} {mb(s.kb['grader'])} {mb(s.kb['supervisor'])} {mb(s.kb['worker'])}  {mb(s.anon_kb['grader'])}")
            next_t = s.t + step
    return out


def grade_once(work: Path, label: str, submission: Path, only: str, python: str, interval: float, extra: list[str]):
    from autograder.rubric import load

    d = work / label
    d.mkdir(parents=True)
    report, results = d / "report.json", d / "results.json"
    cmd = [python, "-m", "bench.grade_child", str(report), "grade", str(submission), "--results", str(results),
           "--shared-sandbox", *(["--only", only] if only else []), *extra]
    checks = load().checks
    RoleSampler.progress = Progress(results, [c.id for c in checks], {c.id for c in runs.selected(checks, tuple(x for x in only.split(",") if x))})
    env = runs.Runner(work, python, (), 0).env()
    m = run_measured(cmd, d / "log.txt", cwd=runs.PROJECT_ROOT, env=env, timeout=900.0, interval=interval, sampler_class=RoleSampler)
    rep = runs._load(report)
    passed = sum(o["status"] == "passed" for o in rep["outcomes"]) if rep else 0
    ran = sum(o["status"] in ("passed", "failed") for o in rep["outcomes"]) if rep else 0
    return m, passed, ran, rep


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.memory_profile", description=__doc__.split("\n\n")[0])
    p.add_argument("submission", nargs="?", type=Path, default=runs.REFERENCE, help="folder to grade (default: reference/)")
    p.add_argument("--only", default="", help="pass --only to the grader")
    p.add_argument("--each", default="", help="grade each of these comma-separated prefixes alone, e.g. 1,2,3a,3b,5")
    p.add_argument("--interval", type=float, default=0.05, help="sampling period in seconds")
    p.add_argument("--timeline", type=float, default=0.0, help="also print one sample every this many seconds")
    p.add_argument("--in-process", action="store_true", help="grade with --in-process (no sandbox)")
    p.add_argument("--sandbox-user", default=None,
                   help="pass --sandbox-user to the grader: a user no other grader on this machine uses (e.g. nobody) keeps "
                        "their exclusive-mode kill(-1) away from these workers")
    p.add_argument("--python", default=sys.executable)
    p.add_argument("--keep", action="store_true", help="keep the work folder")
    args = p.parse_args(argv)
    extra = (["--in-process"] if args.in_process else []) + (["--sandbox-user", args.sandbox_user] if args.sandbox_user else [])
    one, five, _ = os.getloadavg()
    print(f"load average {one:.2f} (1 min) {five:.2f} (5 min); nproc {os.cpu_count()}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="autograder-memprof-"))
    try:
        if args.each:
            print(f"{'--only':<8} {'wall s':>6} {'cpu s':>6} {'peak MB':>7} | at the peak: {'grader':>6} {'superv':>6} {'worker':>6} | phase at peak | passed/ran")
            for i, prefix in enumerate(x.strip() for x in args.each.split(",") if x.strip()):
                m, passed, ran, _ = grade_once(work, f"{i:02d}-only-{prefix}", args.submission, prefix, args.python, args.interval, extra)
                s = max(m.sampler.samples_kept, key=lambda s: s.total_kb)
                print(f"{prefix:<8} {m.wall_s:6.1f} {m.cpu_s:6.1f} {m.peak_pss_mb:7.0f} | {'':13}{mb(s.kb['grader'])} {mb(s.kb['supervisor'])} {mb(s.kb['worker'])} | "
                      f"{s.phase:<13} | {passed}/{ran}", flush=True)
        else:
            m, passed, ran, rep = grade_once(work, "grade", args.submission, args.only, args.python, args.interval, extra)
            print(f"grade {args.submission}{' --only ' + args.only if args.only else ''}: exit {m.returncode}, {m.wall_s:.1f} s wall, "
                  f"{m.cpu_s:.1f} s CPU, peak {m.peak_pss_mb:.0f} MB PSS, {m.samples} samples, {passed}/{ran} checks passed")
            samples = m.sampler.samples_kept
            seconds = {o["id"]: o["seconds"] for o in rep["outcomes"]} if rep else {}
            print("\n".join(profile_table(samples, seconds)))
            if rep:
                first = next((s.t for s in samples if s.phase != "start-up"), None)
                print(f"time: {m.wall_s:.1f} s wall = {m.wall_s - rep['seconds']:.1f} s outside the grader's clock (interpreter start and exit, CLI imports, sandbox stop) + "
                      f"{rep['seconds'] - sum(seconds.values()):.1f} s outside checks (imports, sandbox) + {sum(seconds.values()):.1f} s in checks"
                      + (f"; first worker after {first:.1f} s" if first is not None else ""))
            if args.timeline:
                print("\n".join(timeline(samples, args.timeline)))
        one, five, _ = os.getloadavg()
        print(f"end: load average {one:.2f} (1 min) {five:.2f} (5 min)" + (f"; kept {work}" if args.keep else ""))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
