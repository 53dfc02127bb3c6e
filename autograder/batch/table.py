"""grades.csv: one row per student (group members share their submission's row), and
mistakes.csv: one row per diagnosed mistake, both rewritten atomically after every submission
so an interrupted run still leaves complete files."""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from autograder.batch.export import Student
from autograder.batch.outcome import Outcome
from autograder.class_view import count_mistakes

MISTAKES_HEADER = ["mistake", "hint", "checks", "submissions", "students"]


def csv_header(part_ids: list[str]) -> list[str]:
    """grades.csv's columns: who, points per part, total, max, status, seconds."""
    return ["submission", "student", "sid", "email", *part_ids, "total", "max", "status", "seconds"]


def csv_rows(outcomes: list[Outcome], part_ids: list[str]) -> list[list[str]]:
    """One row per student; a submission nobody could grade (status ``error``) has no points at all, not 0."""
    rows = []
    for o in outcomes:
        graded = _graded(o)
        points = [_num(o.parts.get(p, 0.0)) if graded else "" for p in part_ids]
        for s in o.students or [Student(name="")]:
            rows.append([o.submission, s.name or o.submission, s.sid, s.email, *points, _num(o.total) if graded else "", _num(o.max_score) if graded else "", o.status, f"{o.seconds:.1f}"])
    return rows


def write_csv(path: Path, outcomes: list[Outcome], part_ids: list[str]) -> None:
    """Write grades.csv for these outcomes, replacing the old file in one step."""
    _write(path, csv_header(part_ids), csv_rows(outcomes, part_ids))


def mistakes_rows(outcomes: list[Outcome]) -> list[list[str]]:
    """One row per diagnosed mistake (``class_view.count_mistakes``): most submissions first, then by id;
    ``checks`` space-separated, ``students`` counting every member of a group (a submission without names: 1).
    Only the submissions whose grades.csv rows have points count (not an ``error`` or ``interrupted`` one)."""
    counts = count_mistakes((o.findings, len(o.students)) for o in outcomes if _graded(o))
    return [[c.mistake, c.hint, " ".join(c.checks), str(c.submissions), str(c.students)] for c in counts]


def write_mistakes(path: Path, outcomes: list[Outcome]) -> None:
    """Write mistakes.csv for these outcomes (the header alone when nothing was diagnosed), in one step."""
    _write(path, MISTAKES_HEADER, mistakes_rows(outcomes))


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(buffer.getvalue(), encoding="utf-8")
    os.replace(tmp, path)


def _graded(o: Outcome) -> bool:
    return not o.status.startswith(("error", "interrupted"))


def _num(value: float) -> str:
    return f"{round(float(value), 4):g}"
