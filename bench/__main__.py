"""``python -m bench``: what grading one submission costs, and what isolation and failures add.

Sections (numbers as in the table): 1 the reference sandboxed, 2 in-process and the price of
isolation, 3 under Gradescope-like limits, 4 failure costs (template, hanging submission),
5 batch throughput, 6 per-check time, 7 the diagnosis' cost on the sample submission, then the
targets, each met or missed. Each figure is the median over --runs runs, with
[min .. max]. The last line is ``summary: cpu_s=.. peak_mb=.. sandbox_ratio=.. template_s=..
hang_s=.. jobs2_speedup=..`` ('na' for a skipped section).
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import limits, runs
from bench.stats import SUMMARY_KEYS, Stat, fmt, per_check, ratio, row, summary_line

SECTIONS = ("sandbox", "inprocess", "limits", "template", "hang", "batch", "hints")
GRADESCOPE_WALL_S = 600.0
GRADESCOPE_MEMORY_MB = 512
# The targets `python -m bench` reports as met or missed (medians): (key, label, bound, at most?)
TARGETS = (
    ("cpu_s", "reference graded, CPU of the whole tree", 8.0, "s"),
    ("limited_wall_s", "reference graded on half a CPU, wall", 30.0, "s"),
    ("cgroup_peak_mb", "cgroup memory peak under the limits, page cache excluded", 450.0, "MB"),
    ("template_s", "template graded, wall", 3.0, "s"),
    ("hang_s", "submission hanging at import, wall", 60.0, "s"),
    ("hints_cost", "hints' extra CPU on the sample (fraction)", 0.10, ""),
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=None, help="runs per figure (default 3; 1 with --quick)")
    p.add_argument("--only", default=None, help="grade only these check prefixes, e.g. 1c,5 (default: all; 1,5 with --quick)")
    p.add_argument("--quick", action="store_true", help="smoke test: 1 run, --only 1,5, hang deadline 30 s, K=2")
    p.add_argument("--skip", default="", help=f"comma-separated sections to skip: {','.join(SECTIONS)}")
    p.add_argument("--hang-deadline", type=float, default=None, help="pass --deadline S to the hanging grade (default: the rubric's 480; 30 with --quick)")
    p.add_argument("--batch-k", type=int, default=None, help="copies of the reference in the batch (default 4; 2 with --quick)")
    p.add_argument("--limit-mb", type=int, default=GRADESCOPE_MEMORY_MB, help=f"memory cap of section 3 (default {GRADESCOPE_MEMORY_MB}; Gradescope's default container has 768)")
    p.add_argument("--top", type=int, default=10, help="checks shown in the per-check table")
    p.add_argument("--timeout", type=float, default=900.0, help="safety kill of one grade after this many seconds")
    p.add_argument("--python", default=sys.executable, help="interpreter the grader runs with (default: this one)")
    p.add_argument("--keep", action="store_true", help="keep the work folder (logs, results.json of every run)")
    args = p.parse_args(argv)
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if args.skip - set(SECTIONS):
        p.error(f"unknown section(s) in --skip: {', '.join(sorted(args.skip - set(SECTIONS)))}")
    args.runs = args.runs or (1 if args.quick else 3)
    args.only = tuple(s.strip() for s in (args.only if args.only is not None else ("1,5" if args.quick else "")).split(",") if s.strip())
    args.hang_deadline = args.hang_deadline or (30.0 if args.quick else None)
    args.batch_k = args.batch_k or (2 if args.quick else 4)
    return args


def machine(python: str) -> list[str]:
    model = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("model name")), "?")
    mem_kb = next(int(l.split()[1]) for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal"))
    versions = subprocess.run([python, "-c", "import platform, importlib.metadata as m; print(platform.python_version(), m.version('torch'))"],
                              capture_output=True, text=True).stdout.split() or ["?", "?"]
    return [
        f"machine: nproc={os.cpu_count()} (usable {len(os.sched_getaffinity(0))}), CPU {model}, memory {mem_kb / 2**20:.1f} GiB, "
        f"kernel {platform.release()}, uid {os.geteuid()}",
        f"python {versions[0]} ({python}), torch {versions[1]}",
    ]


def load_note() -> str:
    one, five, _ = os.getloadavg()
    busy = "  << machine busy: figures are not representative" if one > 0.5 * (os.cpu_count() or 1) else ""
    return f"load average {one:.1f} (1 min) {five:.1f} (5 min){busy}"


def progress(label: str, run) -> None:
    m = run.m
    state = "ok" if run.finished else f"NOT FINISHED (exit {m.returncode}{', killed at --timeout' if m.timed_out else ''}; log {m.log})"
    print(f"    {label}: {m.wall_s:.1f} s wall, {m.cpu_s:.1f} s CPU, peak {m.peak_pss_mb:.0f} MB PSS, {state}", flush=True)


def stat(values) -> Stat | None:
    values = [v for v in values if v is not None]
    return Stat(values) if values else None


def grade_rows(title: str, grades: list, n_selected: int) -> list[str]:
    ms = [g.m for g in grades]
    passed = [g.count("passed") for g in grades]
    covered = all(m.tree_covered for m in ms)
    out = [f"{title}",
           row("wall", stat(m.wall_s for m in ms), "s"),
           row("CPU user+sys, whole tree (wait4)", stat(m.cpu_s for m in ms), "s"),
           row("  same, RUSAGE_CHILDREN delta", stat(m.children_cpu_s for m in ms), "s"),
           row("  /proc sampled, lower bound", stat(m.sampled_cpu_s for m in ms), "s",
               note="ok: rusage covers the tree" if covered else "WARNING: sampling saw more CPU than rusage: part of the tree escaped"),
           row("peak PSS, sum over tree (~50 ms)", stat(m.peak_pss_mb for m in ms), "MB", 0),
           row("peak processes in tree", stat(m.peak_processes for m in ms), "", 0),
           row("checks passed", stat(passed), f"/{n_selected}", 0,
               note="" if all(p == n_selected for p in passed) else "WARNING: the reference did not get full marks")]
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from autograder.rubric import load

    rubric = load()
    chosen = runs.selected(rubric.checks, args.only)
    print("\n".join(machine(args.python)))
    print(f"{load_note()}; {args.runs} run(s) per figure; checks: {','.join(args.only) or 'all'} ({len(chosen)} of {len(rubric.checks)})", flush=True)
    work = Path(tempfile.mkdtemp(prefix="autograder-bench-"))
    runner = runs.Runner(work, args.python, args.only, args.timeout)
    figures: dict[str, float | None] = dict.fromkeys(SUMMARY_KEYS)
    todo = [s for s in SECTIONS if s not in args.skip]
    try:
        # 1 + 2, interleaved so that a change of machine load hits both alike
        sand, inproc = [], []
        for i in range(args.runs):
            if "sandbox" in todo:
                sand.append(runner.grade("sandboxed", runs.REFERENCE))
                progress(f"[1] sandboxed run {i + 1}", sand[-1])
            if "inprocess" in todo:
                inproc.append(runner.grade("in-process", runs.REFERENCE, "--in-process"))
                progress(f"[2] in-process run {i + 1}", inproc[-1])
        if sand:
            print("\n".join(grade_rows(f"1. reference, sandboxed (sandbox mode: {sand[0].sandbox_mode})", sand, len(chosen))))
            figures["cpu_s"] = stat(g.m.cpu_s for g in sand).median
            figures["peak_mb"] = stat(g.m.peak_pss_mb for g in sand).median
        if inproc:
            print("\n".join(grade_rows("2. reference, --in-process (no sandbox)", inproc, len(chosen))))
        if sand and inproc:
            wall = ratio(stat(g.m.wall_s for g in sand), stat(g.m.wall_s for g in inproc))
            cpu = ratio(stat(g.m.cpu_s for g in sand), stat(g.m.cpu_s for g in inproc))
            mem = ratio(stat(g.m.peak_pss_mb for g in sand), stat(g.m.peak_pss_mb for g in inproc))
            print(f"  price of isolation (sandboxed / in-process, ratio of medians): wall x{fmt(wall, 2)}, CPU x{fmt(cpu, 2)}, peak PSS x{fmt(mem, 2)}")
            figures["sandbox_ratio"] = wall
        reports = [g.report for g in sand if g.report]
        if reports:
            inproc_s = {cid: s.median for cid, s, _ in per_check([g.report for g in inproc if g.report])}
            print(f"6. per check (sandboxed; share of the grader's own total), top {args.top} of {len(chosen)}")
            for cid, s, share in per_check(reports)[: args.top]:
                note = f"{share * 100:5.1f}%" + (f"   in-process {inproc_s[cid]:.1f} s" if cid in inproc_s else "")
                print(row(cid, s, "s", note=note))
            graded = [g for g in sand if g.report]
            print(row("grader's own total", stat(g.report["seconds"] for g in graded), "s"))
            print(row("  outside checks (imports, sandbox)", stat(g.report["seconds"] - sum(o["seconds"] for o in g.report["outcomes"]) for g in graded), "s"))
            print(row("  before its clock (interpreter, CLI)", stat(g.m.wall_s - g.report["seconds"] for g in graded), "s"))

        if "limits" in todo:
            print(f"3. Gradescope-like limits: half a CPU, {args.limit_mb} MB", flush=True)
            limited, evidence = [], []
            for i in range(args.runs):
                conf = limits.confine(0.5, args.limit_mb)
                try:
                    conf.start_sampling()
                    limited.append(runner.grade("limited", runs.REFERENCE, preexec_fn=conf.preexec))
                    evidence.append(conf.evidence())
                finally:
                    conf.close()
                progress(f"[3] limited run {i + 1}", limited[-1])
            print(f"  CPU: {conf.cpu}\n  memory: {conf.memory}")
            for note in dict.fromkeys(conf.notes):
                print(f"  note: {note}")
            print("\n".join(grade_rows("  under the limits", limited, len(chosen))[1:]))
            for key in evidence[0]:
                print(row(f"cgroup: {key}", stat(e[key] for e in evidence if isinstance(e.get(key), (int, float))), "", 1))
            fits = [g.finished and g.m.wall_s < GRADESCOPE_WALL_S and g.count("passed") == len(chosen) for g in limited]
            # A run the cap killed meets no target: its wall and peak are those of a grading that did not finish.
            # The kernel's own peak counts the page cache, which fills to any cap (the kernel reclaims
            # it rather than fail): the grading's need is the anonymous and shared memory it holds.
            peaks = stat(e.get("resident peak MB") for e in evidence if isinstance(e.get("resident peak MB"), (int, float)))
            figures["limited_wall_s"] = stat(g.m.wall_s for g in limited).median if all(fits) else float("inf")
            figures["cgroup_peak_mb"] = (peaks.median if peaks and conf.memory_enforced else None) if all(fits) else float("inf")
            if not all(fits):
                print(f"  WARNING: not every run passed every check under {args.limit_mb} MB: the limits' targets are MISSED")
            peak = stat(g.m.peak_pss_mb for g in limited)
            memory_note = "" if conf.memory_enforced else f"; peak PSS {peak.median:.0f} MB vs {args.limit_mb} MB (not enforced)"
            print(f"  fits in 10 min with every check run and passed: {sum(fits)}/{len(fits)} runs{memory_note}")

        if "template" in todo:
            template = [runner.grade("template", runs.TEMPLATE) for _ in range(args.runs)]
            for i, g in enumerate(template):
                progress(f"[4] template run {i + 1}", g)
            print("4. failure costs\n  student_template (every function raises NotImplementedError)")
            print(row("wall", stat(g.m.wall_s for g in template), "s"))
            print(row("CPU, whole tree", stat(g.m.cpu_s for g in template), "s"))
            print(row("checks failed", stat(g.count("failed") for g in template), f"/{len(chosen)}", 0))
            figures["template_s"] = stat(g.m.wall_s for g in template).median
        if "hang" in todo:
            hang_sub = runs.make_hang(work / "hang-submission")
            extra = ("--deadline", f"{args.hang_deadline:g}") if args.hang_deadline else ()
            hang = []
            for i in range(args.runs):
                hang.append(runner.grade("hang", hang_sub, *extra))
                progress(f"[4] hang run {i + 1}", hang[-1])
            from autograder import assignment, calibration

            cal = calibration.load(assignment.current().calibration)
            modules = sorted({c.module for c in chosen})
            timeouts = sum(min(calibration.check_timeout(next(c for c in chosen if c.module == m), rubric.grader, cal), calibration.import_timeout(m, rubric.grader, cal)) for m in modules)
            deadline = args.hang_deadline or rubric.grader.deadline_seconds
            bound = min(timeouts, deadline)
            wall = stat(g.m.wall_s for g in hang)
            print("  hanging submission: every module's import sleeps forever (time.sleep loop; no CPU burnt)")
            print(row("wall", wall, "s"))
            print(row("CPU, whole tree", stat(g.m.cpu_s for g in hang), "s"))
            print(row("checks failed", stat(g.count("failed") for g in hang), f"/{len(chosen)}", 0))
            print(row("checks not run (global deadline)", stat(g.count("not run") - (len(rubric.checks) - len(chosen)) for g in hang), "", 0))
            print(f"  each module's import is found hanging once: {len(modules)} import timeouts (calibrated) = {timeouts:g} s; "
                  f"global deadline {deadline:g} s{' (--deadline)' if args.hang_deadline else ' (rubric)'}; bound = min = {bound:g} s")
            print(row("fixed overhead = wall - bound", Stat([w - bound for w in wall.values]), "s"))
            if any(g.count("failed") == 0 for g in hang):
                print("  WARNING: the deadline expired before any check started (start-up is inside the grader's clock): raise --hang-deadline")
            figures["hang_s"] = wall.median

        if "batch" in todo:
            class_dir = runs.make_class(work / "class", args.batch_k)
            per_jobs: dict[int, list] = {1: [], 2: []}
            for i in range(args.runs):
                for jobs in (1, 2):
                    b = runner.batch(class_dir, args.batch_k, jobs)
                    per_jobs[jobs].append(b)
                    print(f"    [5] --jobs {jobs} run {i + 1}: {b.m.wall_s:.1f} s, {b.per_minute:.2f} submissions/min, "
                          f"{b.ok}/{b.k} ok, peak {b.m.peak_pss_mb:.0f} MB PSS", flush=True)
            how = {b.how for bs in per_jobs.values() for b in bs}
            print(f"5. batch throughput, K={args.batch_k} copies of the reference, via {' / '.join(sorted(how))}")
            for jobs, bs in per_jobs.items():
                print(row(f"--jobs {jobs} submissions/min", stat(b.per_minute for b in bs), "/min", 2))
                print(row(f"--jobs {jobs} wall", stat(b.m.wall_s for b in bs), "s"))
                print(row(f"--jobs {jobs} CPU, whole tree", stat(b.m.cpu_s for b in bs), "s"))
                print(row(f"--jobs {jobs} peak PSS", stat(b.m.peak_pss_mb for b in bs), "MB", 0))
                if any(b.ok < b.k for b in bs):
                    print(f"  WARNING: --jobs {jobs}: some submissions did not finish (logs in {work})")
            figures["jobs2_speedup"] = ratio(stat(b.per_minute for b in per_jobs[2]), stat(b.per_minute for b in per_jobs[1]))
            print(f"  speedup --jobs 2 / --jobs 1 (submissions/min, ratio of medians): x{fmt(figures['jobs2_speedup'], 2)}")
            dask_runs = _dask_batches(runner, class_dir, args.batch_k, args.runs)
            if dask_runs:
                print(row("Dask LocalCluster, 2 workers: submissions/min", stat(b.per_minute for b in dask_runs), "/min", 2))
                print(row("Dask LocalCluster, 2 workers: wall", stat(b.m.wall_s for b in dask_runs), "s"))
                if any(b.ok < b.k for b in dask_runs):
                    print(f"  WARNING: Dask: some submissions did not finish (logs in {work})")
                figures["dask2_per_min"] = stat(b.per_minute for b in dask_runs).median
        if "hints" in todo:
            figures["hints_cost"] = _hints_cost(runner, work, args.runs)
        print(f"end: {load_note()}" + (f"; logs kept in {work}" if args.keep else ""))
        print("targets (medians):")
        for key, label, bound, unit in TARGETS:
            value = figures.get(key)
            verdict = "not measured" if value is None else ("met" if value <= bound else "MISSED")
            shown = "na" if value is None else "killed" if value == float("inf") else (f"{value:.2f}" if bound < 1 else f"{value:.1f}")
            print(f"  {label:<48} {shown:>7} {unit:<3} target <= {bound:g} {unit:<3} {verdict}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(summary_line(figures))
    return 0


def _hints_cost(runner, work: Path, n: int) -> float | None:
    """The sample submission graded with the rubric as it is and with hints off ([defaults] hints = false):
    the diagnosis runs for failed checks only, so this is its whole cost."""
    sample = runs.PROJECT_ROOT / "examples" / "sample_submission.zip"
    from autograder.rubric import default_path

    text = default_path().read_text(encoding="utf-8")
    if "[defaults]\n" not in text:
        print("  hints: the rubric has no [defaults] table; no figure")
        return None
    off = work / "rubric-no-hints.toml"
    off.write_text(text.replace("[defaults]\n", "[defaults]\nhints = false\n", 1), encoding="utf-8")
    on_runs, off_runs = [], []
    for i in range(n):  # interleaved, and in alternating order, so that load and order hit both alike
        for hints in ((True, False) if i % 2 == 0 else (False, True)):
            if hints:
                on_runs.append(runner.grade("sample-hints", sample))
            else:
                off_runs.append(runner.grade("sample-no-hints", sample, "--rubric", str(off)))
        print(f"    [7] sample run {i + 1}: hints {on_runs[-1].m.cpu_s:.1f} s CPU, no hints {off_runs[-1].m.cpu_s:.1f} s CPU", flush=True)
    named = [sum(1 for t in (g.results or {}).get("tests", []) if "diagnosis" in t.get("extra_data", {})) for g in on_runs]
    on, off_ = stat(g.m.cpu_s for g in on_runs), stat(g.m.cpu_s for g in off_runs)
    print("7. diagnosis: the sample submission with and without hints")
    print(row("CPU with hints", on, "s"))
    print(row("CPU without hints", off_, "s"))
    print(row("wall with hints", stat(g.m.wall_s for g in on_runs), "s"))
    print(row("wall without hints", stat(g.m.wall_s for g in off_runs), "s"))
    print(row("failed checks with a named mistake", stat(named), "", 0))
    print(row("the grader's own diagnosis time", stat((g.results or {}).get("extra_data", {}).get("diagnosis_seconds") for g in on_runs), "s", 2))
    cost = ratio(on, off_)
    return None if cost is None else cost - 1.0


def _dask_batches(runner, class_dir, k: int, runs: int) -> list:
    """``batch --scheduler`` on a LocalCluster of 2 single-thread worker processes (the CI cluster's shape)."""
    try:
        import distributed
    except ImportError:
        print("  Dask: distributed is not installed; no cluster figures")
        return []
    out = []
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, memory_limit=0, dashboard_address=None) as cluster:
        for i in range(runs):
            b = runner.batch(class_dir, k, 2, scheduler=cluster.scheduler_address)
            out.append(b)
            print(f"    [5] Dask 2 workers run {i + 1}: {b.m.wall_s:.1f} s, {b.per_minute:.2f} submissions/min, {b.ok}/{b.k} ok", flush=True)
    return out


if __name__ == "__main__":
    sys.exit(main())
