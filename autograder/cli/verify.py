"""``verify``: prove the grader (mutants caught, correct variants accepted, attacks contained)."""
from __future__ import annotations

import argparse
import signal
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--jobs", type=int, default=0, help="gradings of mutants and variants run in parallel (default: the number of CPUs)")
    parser.add_argument("--kind", default="mutant,variant,adversarial,heldout", help="comma-separated kinds to run: mutant, variant, adversarial, heldout (the bugs that measure the hints; default: all)")
    parser.add_argument("--part", default="", help="only fixtures of these comma-separated parts, e.g. 1,3a")
    parser.add_argument("--name", action="append", default=[], help="only fixtures whose name matches this glob (repeatable)")
    parser.add_argument("--default-only", action="store_true", help="only the fast subset the default pytest run uses")
    parser.add_argument("--no-invariants", action="store_true", help="skip the reference/template/determinism invariants")
    parser.add_argument("--list", action="store_true", help="list the catalogue (ready and pending fixtures) and exit")
    parser.add_argument("--verbose", action="store_true", help="print a line per fixture as it finishes, and timings")


def run(args: argparse.Namespace) -> int:
    from autograder import verify
    from autograder.text import clean

    kinds = tuple(k.strip() for k in args.kind.split(",") if k.strip())
    unknown = [k for k in kinds if k not in verify.KINDS]
    if unknown:
        print(f"error: unknown kind(s) {unknown}; choose from {', '.join(verify.KINDS)}", file=sys.stderr)
        return 2
    parts = tuple(p.strip() for p in args.part.split(",") if p.strip())
    try:
        catalogue = verify.load_catalogue()
    except verify.CatalogueError as exc:
        print(f"error: the fixture catalogue is malformed: {exc}", file=sys.stderr)
        return 2
    if args.list:
        for f in catalogue.select(kinds, args.name, parts, args.default_only):
            print(f"{f.kind:<12} {f.part:<3} {f.name:<40} {'default ' if f.default else ''}{f.description}")
        for f, why in catalogue.pending:
            if f.kind in kinds:
                print(f"{f.kind:<12} {f.part:<3} {f.name:<40} PENDING: {why}")
        return 0

    def progress(v) -> None:
        if args.verbose:
            state = "skip" if v.skipped else ("ok" if v.ok else "FAIL")
            # A verdict quotes the graded messages: cleaned, so no escape or surrogate of a case reaches the terminal.
            print(clean(f"  [{state:>4}] {v.seconds:6.1f} s  {v.key}" + (f"  -- {v.detail[:200]}" if not v.ok and not v.skipped else "")), flush=True)

    def interrupted(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    proof = verify.prove(
        kinds=kinds,
        names=args.name,
        parts_filter=parts,
        jobs=args.jobs,
        invariants=not args.no_invariants,
        default_only=args.default_only,
        progress=progress,
        catalogue=catalogue,
    )
    print(clean(verify.format_report(proof, verbose=args.verbose)))
    return 0 if proof.ok else 1
