"""``grade``: grade one submission and print a table of checks."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from autograder.config import GradeConfig
from autograder.errors import EXIT_GRADER_CRASHED, EXIT_INFRASTRUCTURE, InfrastructureError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("submission", type=Path, help="a zip file or a folder holding the homework modules or notebooks")
    parser.add_argument("--results", type=Path, default=Path("results.json"), help="where to write results.json (default: ./results.json)")
    parser.add_argument("--only", default="", help="grade only checks whose id starts with one of these comma-separated prefixes, e.g. 1a,5")
    parser.add_argument("--deadline", type=float, default=None, help="overall time budget in seconds (default: the rubric's, 480)")
    parser.add_argument("--rubric", type=Path, default=None, help="an alternative rubric.toml")
    parser.add_argument("--sandbox-user", default=None, help="user the worker runs as when grading as root (default: grader-sandbox)")
    parser.add_argument("--exclusive-sandbox", action="store_true", help="no other grader uses the sandbox user (Gradescope): after each check also kill every process of that user; also set by AUTOGRADER_EXCLUSIVE_SANDBOX=1")
    parser.add_argument("--shared-sandbox", action="store_true", help="other graders use the same sandbox user at the same time (the default; kept for scripts)")
    parser.add_argument("--in-process", action="store_true", help="debugging only: run student code in the grader process, with no isolation")
    parser.add_argument("--quiet", action="store_true", help="print only the total")


def run(args: argparse.Namespace) -> int:
    from autograder.runner import grade

    only = tuple(p.strip() for p in args.only.split(",") if p.strip())
    config = GradeConfig(
        submission=args.submission,
        results=args.results,
        only=only,
        in_process=args.in_process,
        deadline_seconds=args.deadline,
        rubric_path=args.rubric,
        kill_whole_uid=(args.exclusive_sandbox or os.environ.get("AUTOGRADER_EXCLUSIVE_SANDBOX") == "1") and not args.shared_sandbox,
        **({"sandbox_user": args.sandbox_user} if args.sandbox_user else {}),
    )
    try:
        report = grade(config)
    except InfrastructureError as exc:  # results.json already says so, with no score
        print(f"error: infrastructure: {exc.cause}", file=sys.stderr)
        print("Nobody was graded: the submission is not at fault. Fix the install (bash setup.sh reports what it finds), then grade again.", file=sys.stderr)
        return EXIT_INFRASTRUCTURE
    except Exception as exc:  # a bug of the grader's: never a student's zero
        import traceback

        cause = f"the grader crashed: {type(exc).__name__}: {exc}"
        _mark_crashed(args.results, cause)
        print(f"error: {cause}", file=sys.stderr)
        traceback.print_exc()
        return EXIT_GRADER_CRASHED
    if not args.quiet:
        print_table(report)
    extra = sum(o.score for o in report.outcomes if o.extra)
    earned = f"{report.score - extra:g} / {report.max_score:g}" + (f" + {extra:g} extra credit" if extra else "")
    print(f"Total: {earned}   ({report.seconds:.1f} s)   results: {report.results_path}")
    return 0


def _mark_crashed(results: Path, cause: str) -> None:
    """Rewrite the grade file as an infrastructure failure (no score), keeping what it held."""
    import json

    from autograder.messages import say
    from autograder.results import ResultsWriter

    try:
        extra = json.loads(results.read_text(encoding="utf-8")).get("extra_data", {})
    except (OSError, ValueError, AttributeError):
        extra = {}
    ResultsWriter(str(results), extra_data=extra if isinstance(extra, dict) else {}).infrastructure_error(say("infrastructure"), cause)


def print_table(report, stream=None) -> None:
    """One line per check: id, title, points, status, first line of the message.

    Every cell is cleaned (``autograder.text.clean``): a message holds what the student's code
    printed or raised, and no escape sequence of it reaches the terminal, nor a lone surrogate
    that the terminal's encoding cannot write.
    """
    from autograder.text import clean

    stream = sys.stdout if stream is None else stream
    rows = [("check", "title", "points", "status", "message")]
    for o in report.outcomes:
        message = clean(o.message).strip()
        first = message.splitlines()[0] if message else ""
        rows.append((clean(o.id, 20), clean(o.title)[:44], f"{o.score:g}/{o.max_score:g}", clean(o.status, 20), first[:90].replace("\t", " ")))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    encoding = getattr(stream, "encoding", None) or "utf-8"
    for row in rows:
        line = "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4]
        # A terminal that is not UTF-8 gets what it cannot show as escapes, never an exception.
        print(line.encode(encoding, "backslashreplace").decode(encoding, "replace"), file=stream)
