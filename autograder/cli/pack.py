"""``pack``: zip exactly the files the grader reads, warning about missing or unfinished parts."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", type=Path, help="a folder (or a zip) holding the homework modules or notebooks")
    parser.add_argument("--out", type=Path, default=Path("submission.zip"), help="zip to write (default: ./submission.zip)")
    parser.add_argument("--strict", action="store_true", help="exit with status 1 when there are warnings")


def run(args: argparse.Namespace) -> int:
    from autograder.assignment import current
    from autograder.pack import pack

    modules = current().module_names
    if not args.folder.exists():
        print(f"error: {args.folder} does not exist", file=sys.stderr)
        return 2
    result = pack(args.folder, args.out)
    for module in modules:
        if module in result.modules:
            print(f"  packed  {result.modules[module]}")
    for note in result.notes:
        print(f"  note    {note}")
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    costly = [w for w in result.warnings if " not found:" in w or "syntax error" in w or "cannot be read" in w or w.startswith("Refused")]
    if costly:
        print(f"Wrote {args.out} ({len(result.modules)} of {len(modules)} modules), but it is NOT ready to upload: {len(costly)} problem(s) above cost points.", file=sys.stderr)
        return 1
    print(f"Wrote {args.out} ({len(result.modules)} of {len(modules)} modules).")
    if not result.warnings:
        print("No unfinished parts found.")
    return 1 if (result.warnings and args.strict) else 0
