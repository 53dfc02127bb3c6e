"""``selftest``: grade the bundled canary through the real sandbox and compare with its known verdicts.

``setup.sh`` runs it last, so an install that would grade students wrongly (a worker that
cannot read the standard library, a notebook path that fails, a sandbox that cannot start)
stops there, loudly, instead of giving every student 0. The canary is the sample submission,
once as ``.py`` modules and once as notebooks, graded on a few checks that pass and a few that
fail (``examples/canary.toml``); each grading runs in its own process, exactly as ``grade`` does.
Then the reference is graded in full: it must get every point, and that grading fills the
trusted side's cache of the reference's fixed work (``autograder/checks/memo.py``) for every
grading on this install (on Gradescope: in the image).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

from autograder.config import PROJECT_ROOT

CANARY = PROJECT_ROOT / "examples" / "canary.toml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--canary", type=Path, default=CANARY, help=argparse.SUPPRESS)
    parser.add_argument("--no-reference", action="store_true", help="skip the full grading of the reference")


def run(args: argparse.Namespace) -> int:
    spec = tomllib.loads(args.canary.read_text(encoding="utf-8"))
    only = ",".join(spec["only"])
    failures = 0
    with tempfile.TemporaryDirectory(prefix="autograder-selftest-") as tmp:
        for entry in spec["submission"]:
            path = args.canary.parent / entry["path"]
            results = Path(tmp) / (path.stem + ".json")
            started = time.monotonic()
            command = [sys.executable, "-m", "autograder", "grade", str(path), "--results", str(results), "--only", only, "--quiet", "--shared-sandbox"]
            proc = subprocess.run(command, cwd=str(PROJECT_ROOT), capture_output=True, text=True, stdin=subprocess.DEVNULL)
            problems = compare(results, entry["expected"], proc)
            seconds = time.monotonic() - started
            if problems:
                failures += 1
                print(f"selftest: FAIL  {entry['path']} ({seconds:.1f} s)")
                for line in problems:
                    print(f"  {line}")
            else:
                print(f"selftest: ok    {entry['path']}: {len(entry['expected'])} verdicts as expected ({seconds:.1f} s)")
        if not args.no_reference:
            failures += _reference_in_full(Path(tmp) / "reference.json")
    return 1 if failures else 0


def _reference_in_full(results: Path) -> int:
    """Grade the reference on every check: 0 when it gets every point, else 1 (and why)."""
    from autograder import assignment

    started = time.monotonic()
    command = [sys.executable, "-m", "autograder", "grade", str(assignment.current().reference), "--results", str(results), "--quiet", "--shared-sandbox"]
    proc = subprocess.run(command, cwd=str(PROJECT_ROOT), capture_output=True, text=True, stdin=subprocess.DEVNULL)
    try:
        tests = json.loads(results.read_text(encoding="utf-8")).get("tests", [])
    except (OSError, ValueError) as exc:
        print(f"selftest: FAIL  reference: no readable results.json ({exc}); exit status {proc.returncode}")
        return 1
    lost = [t.get("number", "?") for t in tests if t.get("score", 0) < t.get("max_score", 0)]
    if lost or not tests:
        print(f"selftest: FAIL  reference: lost points on {', '.join(lost) or 'every check (no tests)'}")
        return 1
    print(f"selftest: ok    reference: every point on {len(tests)} checks ({time.monotonic() - started:.1f} s)")
    return 0


def compare(results: Path, expected: dict[str, str], proc: subprocess.CompletedProcess) -> list[str]:
    """What differs between a canary grading and its known verdicts (empty: nothing)."""
    try:
        data = json.loads(results.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"no readable results.json ({exc}); exit status {proc.returncode}", *proc.stderr.strip().splitlines()[-5:]]
    extra = data.get("extra_data", {})
    if extra.get("infrastructure_error"):
        return [f"infrastructure error: {extra['infrastructure_error']}"]
    if proc.returncode != 0 or not extra.get("finished"):
        return [f"grading did not finish (exit status {proc.returncode})", *proc.stderr.strip().splitlines()[-5:]]
    got = {t["number"]: verdict(t) for t in data.get("tests", []) if t["number"] in expected}
    problems = []
    for check_id, wanted in expected.items():
        if got.get(check_id) != wanted:
            message = next((t.get("output", "") for t in data["tests"] if t["number"] == check_id), "not graded")
            problems.append(f"{check_id}: expected {wanted}, got {got.get(check_id, 'nothing')}: {message.strip().splitlines()[0] if message.strip() else ''}"[:300])
    return problems


def verdict(test: dict) -> str:
    if test.get("max_score", 0) == 0:
        return "n/a"
    return "passed" if test.get("score") == test.get("max_score") else "failed"
