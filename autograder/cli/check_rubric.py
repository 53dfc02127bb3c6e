"""``check-rubric``: validate a rubric before it grades anyone.

1. It parses (ids, fields, visibilities, modules, dependency order: ``autograder.rubric.load``).
2. Every rubric id has a registered check function, and every registered check is in the rubric.
3. Points: per-part totals, visible/hidden split and the total are printed; a check worth
   0 points or a part worth nothing is flagged.
4. The reference still gets full marks with this rubric (graded in a subprocess, sandboxed
   exactly as a student's submission; ``--no-grade`` skips it, ``--only`` limits it).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from autograder.config import PROJECT_ROOT


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rubric", type=Path, default=None, help="the rubric to check (default: autograder/rubric.toml)")
    parser.add_argument("--no-grade", action="store_true", help="skip grading the reference (fast: ids and points only)")
    parser.add_argument("--only", default="", help="grade the reference only on checks whose id starts with these comma-separated prefixes")
    parser.add_argument("--shared-sandbox", action="store_true", help="other graders run as the sandbox user on this machine: kill only this run's workers")
    parser.add_argument("--reference", type=Path, default=PROJECT_ROOT / "reference", help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    from autograder import rubric as rubric_mod

    path = args.rubric or rubric_mod.default_path()
    try:
        rubric = rubric_mod.load(path)
    except rubric_mod.RubricError as exc:
        print(f"FAIL  rubric does not parse: {exc}")
        return 1
    print(f"Rubric {path} (version {rubric.grader.version}, deadline {rubric.grader.deadline_seconds:g} s): {len(rubric.checks)} checks")
    problems: list[str] = []
    warnings: list[str] = []

    points_problems, warnings_points = points_report(rubric)
    problems += points_problems
    warnings += warnings_points

    if not args.no_grade:
        # Grade first, in a subprocess: this process has not loaded the reference yet.
        problems += grade_reference(path, args.reference, args.only, args.shared_sandbox)
    problems += registry_problems(rubric)

    for warning in warnings:
        print(f"warn  {warning}")
    for problem in problems:
        print(f"FAIL  {problem}")
    if problems:
        print(f"Rubric check failed: {len(problems)} problem(s).")
        return 1
    print("Rubric OK." + ("" if not args.no_grade else " (reference not graded: --no-grade)"))
    return 0


def points_report(rubric) -> tuple[list[str], list[str]]:
    """Print per-part totals; return (problems, warnings)."""
    problems, warnings = [], []
    parts: dict[str, dict[str, float]] = {}
    for check in rubric.checks:
        if not math.isfinite(check.points):
            problems.append(f"{check.id}: points is not a finite number")
            continue
        row = parts.setdefault(check.part, {"checks": 0, "visible": 0.0, "hidden": 0.0})
        row["checks"] += 1
        row["visible" if check.visibility == "visible" else "hidden"] += check.points
        if check.points == 0:
            warnings.append(f"{check.id} is worth 0 points")
    print(f"{'part':<5} {'checks':>6} {'visible':>8} {'hidden':>7} {'total':>7}")
    for part, row in parts.items():
        total = row["visible"] + row["hidden"]
        print(f"{part:<5} {row['checks']:>6} {row['visible']:>8g} {row['hidden']:>7g} {total:>7g}")
        if total == 0:
            warnings.append(f"part {part} is worth 0 points")
    visible = sum(r["visible"] for r in parts.values())
    hidden = sum(r["hidden"] for r in parts.values())
    print(f"{'all':<5} {sum(r['checks'] for r in parts.values()):>6} {visible:>8g} {hidden:>7g} {visible + hidden:>7g}")
    if abs((visible + hidden) - rubric.total_points - rubric.extra_points) > 1e-9:
        problems.append(f"per-part totals ({visible + hidden:g}) do not add up to the rubric total ({rubric.total_points:g}) plus extra credit ({rubric.extra_points:g})")
    print(f"Total to set on Gradescope: {rubric.total_points:g} points (plus {rubric.extra_points:g} of extra credit: " + ", ".join(c.id for c in rubric.checks if not rubric.counts(c)) + ")")
    if not rubric.checks:
        problems.append("the rubric has no checks")
    return problems, warnings


def registry_problems(rubric) -> list[str]:
    """Rubric ids without a check function, and check functions the rubric does not list."""
    from autograder import checks

    functions = checks.registry()
    ids = [c.id for c in rubric.checks]
    problems = [f"{i}: no check function is registered for this rubric id" for i in ids if i not in functions]
    problems += [f"{i}: a check function is registered but the rubric has no entry for it" for i in sorted(functions) if i not in set(ids)]
    print(f"Check functions: {len(functions)} registered, {len(ids)} in the rubric, {len(problems)} mismatch(es).")
    return problems


def grade_reference(rubric_path: Path, reference: Path, only: str, shared_sandbox: bool = False) -> list[str]:
    """Grade the reference with this rubric in a subprocess; every graded check must be at full marks."""
    with tempfile.TemporaryDirectory(prefix="autograder-rubric-") as tmp:
        results = Path(tmp) / "results.json"
        command = [sys.executable, "-m", "autograder", "grade", str(reference), "--results", str(results), "--rubric", str(Path(rubric_path).resolve()), "--quiet"]
        if only:
            command += ["--only", only]
        if shared_sandbox:
            command.append("--shared-sandbox")
        print(f"Grading the reference ({reference}){' on ' + only if only else ''} ...", flush=True)
        proc = subprocess.run(command, cwd=str(PROJECT_ROOT), capture_output=True, text=True, env=_env())
        if not results.is_file():
            return [f"grading the reference failed (exit status {proc.returncode}): {proc.stderr.strip()[-800:]}"]
        data = json.loads(results.read_text())
    problems = []
    if not data.get("extra_data", {}).get("finished"):
        problems.append(f"grading the reference did not finish: {data.get('output', '')[:300]}")
    prefixes = tuple(p.strip() for p in only.split(",") if p.strip())
    graded = 0
    for test in data.get("tests", []):
        number = str(test.get("number", ""))
        if prefixes and not any(number.startswith(p) or number.split(".")[0] == p for p in prefixes):
            continue
        graded += 1
        if test.get("score", 0) < test.get("max_score", 0):
            first = str(test.get("output", "")).strip().splitlines()[:3]
            problems.append(f"reference loses points on {number} ({test.get('score')}/{test.get('max_score')}): " + " | ".join(first))
    print(f"Reference: {data.get('score')} points, {graded} checks graded, {len(problems)} below full marks ({data.get('execution_time', 0)} s).")
    return problems


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(PROJECT_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env
