"""``batch``: regrade a class (one folder or zip per student) into per-submission results and grades.csv."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Regrade a class. SUBMISSIONS_DIR is Gradescope's 'Export Submissions' folder "
        "(submission_metadata.yml plus one folder per submission) or a plain folder of zips and folders. "
        "Writes OUT/<submission>/results.json and OUT/grades.csv; rerunning resumes, reusing finished "
        "submissions graded with the same rubric and grader version."
    )
    parser.add_argument("submissions", type=Path, metavar="SUBMISSIONS_DIR", help="Gradescope export folder, or a folder of zips/folders")
    parser.add_argument("--out", type=Path, required=True, help="output folder (results per submission, grades.csv)")
    parser.add_argument("--jobs", type=int, default=1, help="submissions graded in parallel (default: 1)")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS", help="grade on a Dask distributed cluster (e.g. tcp://head:8786) instead of local jobs; nodes share the export and --out folders (docs/CLUSTER.md)")
    parser.add_argument("--compare", type=Path, default=None, metavar="OLD_CSV", help="print who gained or lost points, and in which part, against an earlier grades.csv")
    parser.add_argument("--only", default="", help="grade only checks whose id starts with one of these comma-separated prefixes, e.g. 1a,5")
    parser.add_argument("--rubric", type=Path, default=None, help="an alternative rubric.toml")
    parser.add_argument("--deadline", type=float, default=None, help="per-submission time budget in seconds (default: the rubric's)")
    parser.add_argument("--sandbox-user", default=None, help="user the workers run as when grading as root (default: grader-sandbox)")
    parser.add_argument("--force", action="store_true", help="regrade every submission, even those already graded")
    parser.add_argument("--shared-sandbox", action="store_true", help="other graders run as the sandbox user on this machine too: each grader kills only its own workers (implied by --jobs > 1)")


def run(args: argparse.Namespace) -> int:
    from autograder.batch import BatchOptions, compare, run_batch
    from autograder.rubric import RubricError

    if not args.submissions.is_dir():
        print(f"error: {args.submissions} is not a folder", file=sys.stderr)
        return 2
    if args.jobs < 1:
        print("error: --jobs must be at least 1", file=sys.stderr)
        return 2
    if args.compare is not None and not args.compare.is_file():
        print(f"error: {args.compare} is not a file", file=sys.stderr)
        return 2
    options = BatchOptions(
        out=args.out.resolve(),
        jobs=args.jobs,
        only=tuple(p.strip() for p in args.only.split(",") if p.strip()),
        rubric_path=args.rubric,
        deadline=args.deadline,
        sandbox_user=args.sandbox_user,
        force=args.force,
        shared_sandbox=args.shared_sandbox,
        scheduler=args.scheduler,
        assignment=os.environ.get("AUTOGRADER_ASSIGNMENT"),
    )
    try:
        report = run_batch(args.submissions, options)
    except RubricError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    errors = [o for o in report.outcomes if o.status != "ok"]
    rate = f", {report.graded / report.seconds * 60:.1f} submissions/minute" if report.graded and report.seconds > 0 else ""
    print(
        f"{len(report.outcomes)} submissions: {report.graded} graded in {report.seconds:.0f} s{rate}, "
        f"{report.reused} reused, {len(errors)} not ok. Grades: {report.csv_path}; diagnosed mistakes: {report.mistakes_path}"
    )
    for o in errors:
        print(f"  {o.submission}: {o.status}")
    if args.compare is not None:
        print(f"Compared with {args.compare}:")
        for line in compare(args.compare, report.csv_path):
            print("  " + line)
    return 130 if report.interrupted else 0
