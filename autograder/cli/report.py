"""``report``: render results.json files (and the plots a submission draws) as one self-contained HTML page."""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Render one or many results.json files as one self-contained HTML page (inline CSS, images as data: URIs): "
        "points per part, every check and its message, and plots drawn by the submission's own code; with two or more, "
        "first a class overview (score histogram, pass rate per check, most frequent diagnosed mistakes). "
        "A folder argument means every */results.json in it (a batch output). Plots come from a plots/ folder "
        "next to results.json, or are drawn now, in the sandbox, with --plots SUBMISSION."
    )
    parser.add_argument("results", type=Path, nargs="*", metavar="RESULTS", help="results.json files, or batch output folders")
    parser.add_argument("--html", type=Path, default=Path("report.html"), metavar="OUT", help="page to write (default: ./report.html)")
    parser.add_argument("--plots", type=Path, default=None, metavar="SUBMISSION", help="run the plotting code of this submission (folder or zip) in the sandbox and add its plots (with at most one RESULTS)")
    parser.add_argument("--plots-only", default="", metavar="KEYS", help="with --plots: only these plots, by part or key (e.g. 1d,5f)")
    parser.add_argument("--save-plots", type=Path, default=None, metavar="DIR", help="with --plots: keep the PNG files and plots.json in DIR")
    parser.add_argument("--student-view", action="store_true", help="leave out checks whose visibility is hidden")
    parser.add_argument("--title", default=None, help="page title (default: the assignment's name)")
    parser.add_argument("--sandbox-user", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--shared-sandbox", action="store_true", help="with --plots: other graders run as the sandbox user on this machine; kill only this run's workers")
    parser.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    from autograder import report

    paths = report.expand(args.results)
    if not paths and args.plots is None:
        print("error: give results.json files (or batch output folders), or --plots SUBMISSION", file=sys.stderr)
        return 2
    if args.plots is not None and len(paths) > 1:
        print("error: --plots goes with at most one results.json", file=sys.stderr)
        return 2
    missing = [p for p in paths if not p.is_file()]
    if missing:
        print(f"error: not found: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    items = [report.load(p) for p in paths]
    temp = None
    if args.plots is not None:
        from autograder.errors import EXIT_INFRASTRUCTURE, InfrastructureError
        from autograder.plots import render

        if not args.plots.exists():
            print(f"error: {args.plots} does not exist", file=sys.stderr)
            return 2
        folder = args.save_plots or Path(tempfile.mkdtemp(prefix="autograder-report-plots-"))
        temp = None if args.save_plots else folder
        keys = tuple(k.strip() for k in args.plots_only.split(",") if k.strip())
        try:
            results = render(args.plots, folder, keys=keys, in_process=args.in_process, sandbox_user=args.sandbox_user, shared_sandbox=args.shared_sandbox, log=lambda s: print(s, file=sys.stderr))
        except InfrastructureError as exc:
            print(f"error: infrastructure: the plots cannot be drawn on this install: {exc.cause}", file=sys.stderr)
            return EXIT_INFRASTRUCTURE
        for r in results:
            print(f"  plot {r.key}: " + (f"ok ({r.seconds:.1f} s)" if r.file else f"none: {r.error.splitlines()[0] if r.error else '?'}"), file=sys.stderr)
        if not items:
            items = [report.Item(label=args.plots.name, path=args.plots, plots_only=True)]
        elif items[0].label == str(items[0].path):
            items[0].label = f"{args.plots.name} ({items[0].path})"
        items[0].plots, items[0].plots_dir = results, folder
    try:
        page = report.render_html(items, title=args.title, student_view=args.student_view)
        report.write_page(args.html, page)  # atomic: a failure never leaves a partial or empty page
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
    plots = sum(1 for item in items for p in item.plots if p.file)
    print(f"Wrote {args.html} ({len(items)} submission(s), {plots} plot(s), {len(page.encode())} bytes)")
    return 0
