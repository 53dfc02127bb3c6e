"""``--compare``: who gained or lost points, and in which part, between an earlier grades.csv and this one."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

_NON_PART_COLUMNS = {"submission", "student", "sid", "email", "total", "max", "status", "seconds"}


def compare(old_csv: Path, new_csv: Path) -> list[str]:
    """Who gained or lost points, and in which part, between two grades.csv files."""
    old, new = _read_grades(old_csv), _read_grades(new_csv)
    lines: list[str] = []
    gained = lost = same = 0
    for key, row in new.items():
        before = old.get(key)
        if before is None:
            lines.append(f"new      {_who(row)}: {row.get('total', '')} (not in {old_csv.name})")
            continue
        if any(str(r.get("status", "")).startswith("error") for r in (row, before)):
            lines.append(f"error    {_who(row)}: not comparable [status {before.get('status')} -> {row.get('status')}]")
            continue
        parts = [c for c in row if c in before and c not in _NON_PART_COLUMNS]
        deltas = []
        for part in parts:
            d = _float(row[part]) - _float(before[part])
            if abs(d) > 1e-9:
                deltas.append(f"{part} {d:+g}")
        total_delta = _float(row.get("total")) - _float(before.get("total"))
        if not deltas and abs(total_delta) <= 1e-9:
            same += 1
            continue
        word = "gained" if total_delta > 1e-9 else "lost" if total_delta < -1e-9 else "moved"
        gained += word == "gained"
        lost += word == "lost"
        status = f" [status {before.get('status')} -> {row.get('status')}]" if before.get("status") != row.get("status") else ""
        lines.append(f"{word:<8} {_who(row)}: {before.get('total')} -> {row.get('total')} ({total_delta:+g}): {', '.join(deltas) or 'no part changed'}{status}")
    for key, row in old.items():
        if key not in new:
            lines.append(f"missing  {_who(row)}: {row.get('total', '')} (only in {old_csv.name})")
    lines.append(f"{gained} gained, {lost} lost, {same} unchanged, {sum(1 for k in new if k not in old)} new, {sum(1 for k in old if k not in new)} missing.")
    return lines


def _read_grades(path: Path) -> dict[str, dict[str, str]]:
    # Rows keyed by the student's sid (else email, name, submission); a repeated key gets its submission appended.
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    out = {}
    for row in rows:
        key = row.get("sid") or row.get("email") or row.get("student") or row.get("submission") or ""
        if key in out:
            key = f"{key} ({row.get('submission', '')})"
        out[key] = row
    return out


def _who(row: dict[str, str]) -> str:
    name = row.get("student") or row.get("submission") or "?"
    extra = row.get("sid") or row.get("email")
    return f"{name} ({extra})" if extra else name


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0
