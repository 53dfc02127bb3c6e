"""Command-line entry points, one module per command."""
from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from pathlib import Path

from autograder.config import ARGUMENTS_ON_STDIN

COMMANDS = {
    "grade": "Grade one submission (zip or folder) and write results.json.",
    "verify": "Prove the grader: mutants, correct variants and attacks; print the report.",
    "build": "Build the zip to upload to Gradescope.",
    "batch": "Regrade a whole class (a folder of submissions) into grades.csv.",
    "report": "Render results as a self-contained HTML page.",
    "pack": "Zip exactly the files the grader reads, warning about missing parts.",
    "check-rubric": "Validate rubric.toml: ids, points, reference at full marks.",
    "selftest": "Grade the bundled canary through the sandbox and compare with its known verdicts.",
    "calibrate": "Measure the reference's own time per check and import; the grader's timeouts derive from it.",
    "kit": "Regenerate the student kit's generated parts from the manifest, rubric and reference.",
}



def main(argv: list[str] | None = None) -> int:
    """Run one command. ``python -m autograder @-`` reads its arguments (a JSON list) from
    standard input instead: ``batch`` starts each grading so, because any process on the host
    can read a command line, and a grading's names the export folder of a whole class."""
    # Everything the grader writes (results, builds, batch folders, reports) is private by
    # default; what a worker must read (its copy of the submission) is opened up explicitly.
    os.umask(0o077)
    argv = sys.argv[1:] if argv is None else argv
    if argv == [ARGUMENTS_ON_STDIN]:
        argv = _arguments_from_stdin()
    parser = argparse.ArgumentParser(prog="python -m autograder", description="Grade programming homework in a sandbox: one engine, one assignment folder (its manifest.toml).")
    parser.add_argument("--assignment", type=Path, default=None, metavar="FOLDER", help="the assignment's folder (default: $AUTOGRADER_ASSIGNMENT, else the one folder under assignments/)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = {}
    for name, help_text in COMMANDS.items():
        try:
            module = importlib.import_module(f"autograder.cli.{name.replace('-', '_')}")
        except ModuleNotFoundError as exc:
            if exc.name != f"autograder.cli.{name.replace('-', '_')}":
                raise
            continue
        command = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(command)
        modules[name] = module
    args = parser.parse_args(argv)
    if args.assignment is not None:
        from autograder import assignment

        try:
            assignment.use(args.assignment)
        except assignment.ManifestError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    if args.command is None:
        parser.print_help()
        return 2
    return int(modules[args.command].run(args) or 0)


def _arguments_from_stdin() -> list[str]:
    try:
        argv = json.loads(sys.stdin.read(1 << 20))
    except ValueError:
        argv = None
    if not (isinstance(argv, list) and all(isinstance(a, str) for a in argv)):
        raise SystemExit(f"python -m autograder {ARGUMENTS_ON_STDIN}: standard input must hold a JSON list of arguments")
    return argv
