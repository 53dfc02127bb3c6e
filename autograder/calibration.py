"""Time limits from the reference's own time, not guesses.

``python -m autograder calibrate`` grades the reference a few times and writes the slowest
time of every check, and of importing every module, to the assignment's ``calibration.toml``.
The grader then allows a check ``timeout_factor`` times the reference's time, never less than
``timeout_floor`` and never more than the check's rubric ``timeout`` (the rubric's [grader]
table); an import gets the same rule, capped by ``import_timeout``. Without a calibration file
the rubric's timeouts apply unchanged.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path


class CalibrationError(ValueError):
    """The calibration file is malformed."""


@dataclass(frozen=True)
class Calibration:
    checks: dict[str, float] = field(default_factory=dict)  # check id -> the reference's slowest seconds
    imports: dict[str, float] = field(default_factory=dict)  # module -> the reference's slowest import, seconds
    measured: str = ""  # where and how it was measured (for the reader)


def load(path: Path | None) -> Calibration | None:
    """The calibration at ``path``, or None when there is none."""
    if path is None or not Path(path).is_file():
        return None
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CalibrationError(f"cannot read {path}: {exc}") from None
    out = {}
    for table in ("checks", "imports"):
        raw = data.get(table, {})
        if not isinstance(raw, dict) or not all(isinstance(v, (int, float)) and v >= 0 for v in raw.values()):
            raise CalibrationError(f"{path}: [{table}] maps names to seconds (non-negative numbers)")
        out[table] = {str(k): float(v) for k, v in raw.items()}
    return Calibration(out["checks"], out["imports"], str(data.get("measured", "")))


def check_timeout(check, grader, calibration: Calibration | None) -> float:
    """Seconds one check may take: factor x the reference's time, within [floor, rubric timeout]."""
    if calibration is None or check.id not in calibration.checks:
        return check.timeout
    return min(check.timeout, max(grader.timeout_floor, grader.timeout_factor * calibration.checks[check.id]))


def import_timeout(module: str, grader, calibration: Calibration | None) -> float:
    """Seconds importing ``module`` may take, by the same rule, capped by [grader] import_timeout."""
    if calibration is None or module not in calibration.imports:
        return grader.import_timeout
    return min(grader.import_timeout, max(grader.timeout_floor, grader.timeout_factor * calibration.imports[module]))


def dumps(checks: dict[str, float], imports: dict[str, float], measured: str) -> str:
    lines = [
        "# The reference's own time, slowest of several sandboxed gradings: written by",
        "# `python -m autograder calibrate`; the grader's timeouts derive from it (autograder/calibration.py).",
        f'measured = "{measured}"',
        "",
        "[imports]",
        *(f'"{k}" = {v:.3f}' for k, v in imports.items()),
        "",
        "[checks]",
        *(f'"{k}" = {v:.3f}' for k, v in checks.items()),
    ]
    return "\n".join(lines) + "\n"
