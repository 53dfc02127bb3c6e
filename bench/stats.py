"""Medians, table rows and the final summary line (no I/O beyond print)."""
from __future__ import annotations

import statistics
from dataclasses import dataclass

SUMMARY_KEYS = ("cpu_s", "peak_mb", "sandbox_ratio", "template_s", "hang_s", "jobs2_speedup", "hints_cost")


@dataclass
class Stat:
    values: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def min(self) -> float:
        return min(self.values)

    @property
    def max(self) -> float:
        return max(self.values)


def fmt(value: float | None, digits: int = 1) -> str:
    return "na" if value is None else f"{value:.{digits}f}"


def row(label: str, stat: Stat | None, unit: str = "", digits: int = 1, note: str = "") -> str:
    """``label  median  [min .. max] unit (n=runs)  note`` as one table line."""
    if stat is None or not stat.values:
        return f"  {label:<34} {'na':>9}  {'':<19} {unit:<6} {note}".rstrip()
    spread = f"[{fmt(stat.min, digits)} .. {fmt(stat.max, digits)}]"
    return f"  {label:<34} {fmt(stat.median, digits):>9}  {spread:<19} {unit:<6} n={len(stat.values)}  {note}".rstrip()


def ratio(a: Stat | None, b: Stat | None) -> float | None:
    """Ratio of medians (runs are not paired)."""
    if a is None or b is None or not a.values or not b.values or b.median == 0:
        return None
    return a.median / b.median


def summary_line(figures: dict[str, float | None]) -> str:
    digits = {"sandbox_ratio": 2, "jobs2_speedup": 2, "peak_mb": 0, "hints_cost": 2}
    return "summary: " + " ".join(f"{k}={fmt(figures.get(k), digits.get(k, 1))}" for k in SUMMARY_KEYS)


def parse_summary(line: str) -> dict[str, float | None]:
    """Inverse of ``summary_line``: 'na' becomes None."""
    if not line.startswith("summary: "):
        raise ValueError("not a summary line")
    out = {}
    for item in line[len("summary: "):].split():
        key, value = item.split("=", 1)
        out[key] = None if value == "na" else float(value)
    if tuple(out) != SUMMARY_KEYS:
        raise ValueError(f"unexpected keys {tuple(out)}")
    return out


def per_check(reports: list[dict]) -> list[tuple[str, Stat, float]]:
    """(check id, seconds over runs, share of the grader's median total) sorted by median time, most first."""
    seconds: dict[str, list[float]] = {}
    for report in reports:
        for o in report["outcomes"]:
            if o["status"] != "not run":
                seconds.setdefault(o["id"], []).append(o["seconds"])
    total = statistics.median(r["seconds"] for r in reports) if reports else 0.0
    rows = [(cid, Stat(vals), statistics.median(vals) / total if total else 0.0) for cid, vals in seconds.items()]
    return sorted(rows, key=lambda r: -r[1].median)
