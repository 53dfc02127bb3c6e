"""``calibrate``: grade the reference a few times and write its slowest time per check and per import.

The grader's timeouts derive from that file (``autograder/calibration.py``): a check may take
``timeout_factor`` times the reference's time, within [``timeout_floor``, its rubric timeout].
Run it on the machine class that grades (or a slower one) after a change of the reference or
of the checks; the file is committed with the assignment.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", type=int, default=3, help="gradings of the reference; the slowest time of each check is kept (default 3)")
    parser.add_argument("--out", type=Path, default=None, help="where to write (default: the assignment's calibration.toml)")
    parser.add_argument("--shared-sandbox", action="store_true", help="other graders use the sandbox user on this machine")


def run(args: argparse.Namespace) -> int:
    from autograder import assignment, calibration
    from autograder.config import GradeConfig
    from autograder.runner import grade

    task = assignment.current()
    out = args.out or task.calibration
    if args.runs < 1:
        print("error: --runs must be at least 1", file=sys.stderr)
        return 2
    checks: dict[str, float] = {}
    imports: dict[str, float] = {}
    work = Path(tempfile.mkdtemp(prefix="autograder-calibrate-"))
    try:
        submission = work / "submission"
        submission.mkdir()
        for module in task.module_names:
            if (task.reference / f"{module}.py").is_file():
                shutil.copyfile(task.reference / f"{module}.py", submission / f"{module}.py")
        for i in range(args.runs):
            report = grade(GradeConfig(submission=submission, results=work / "results.json", calibrated=False, kill_whole_uid=not args.shared_sandbox, work_dir=work))
            failed = [o.id for o in report.outcomes if o.status == "failed"]
            if failed:
                print(f"error: the reference failed {', '.join(failed)}: fix that before calibrating", file=sys.stderr)
                return 1
            for o in report.outcomes:
                if o.status == "passed":
                    checks[o.id] = max(checks.get(o.id, 0.0), o.seconds)
            for module, seconds in report.import_seconds.items():
                imports[module] = max(imports.get(module, 0.0), seconds)
            print(f"run {i + 1}/{args.runs}: {report.seconds:.1f} s", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    measured = f"{args.runs} sandboxed gradings of the reference, slowest kept; {os.cpu_count()} CPUs, Python {platform.python_version()}"
    out.write_text(calibration.dumps(checks, imports, measured), encoding="utf-8")
    print(f"Wrote {out}: {len(checks)} checks, {len(imports)} imports (slowest check {max(checks.values(), default=0):.2f} s).")
    return 0
