"""grades.csv: one row per student (group members share their submission's row), rewritten
atomically after every submission so an interrupted run still leaves a complete file."""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from autograder.batch.export import Student
from autograder.batch.outcome import Outcome


def csv_header(part_ids: list[str]) -> list[str]:
    """grades.csv's columns: who, points per part, total, max, status, seconds."""
    return ["submission", "student", "sid", "email", *part_ids, "total", "max", "status", "seconds"]


def csv_rows(outcomes: list[Outcome], part_ids: list[str]) -> list[list[str]]:
    """One row per student; a submission nobody could grade (status ``error``) has no points at all, not 0."""
    rows = []
    for o in outcomes:
        graded = not o.status.startswith(("error", "interrupted"))
        points = [_num(o.parts.get(p, 0.0)) if graded else "" for p in part_ids]
        for s in o.students or [Student(name="")]:
            rows.append([o.submission, s.name or o.submission, s.sid, s.email, *points, _num(o.total) if graded else "", _num(o.max_score) if graded else "", o.status, f"{o.seconds:.1f}"])
    return rows


def write_csv(path: Path, outcomes: list[Outcome], part_ids: list[str]) -> None:
    """Write grades.csv for these outcomes, replacing the old file in one step."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(csv_header(part_ids))
    writer.writerows(csv_rows(outcomes, part_ids))
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(buffer.getvalue(), encoding="utf-8")
    os.replace(tmp, path)


def _num(value: float) -> str:
    return f"{round(float(value), 4):g}"
