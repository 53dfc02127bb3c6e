"""``kit``: regenerate the student kit's generated parts (``--check``: only say whether they are fresh)."""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="store_true", help="write nothing: exit 1 if anything generated is out of date")


def run(args: argparse.Namespace) -> int:
    from autograder import kit

    return kit.main(check=args.check)
