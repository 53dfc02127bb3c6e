"""The rubric: one TOML file of the assignment listing every check, its points, visibility and budgets."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from autograder import assignment
from autograder.results import VISIBILITIES


class RubricError(ValueError):
    """The rubric file is malformed: a bad id, unknown field, or impossible value."""


@dataclass(frozen=True)
class Check:
    """One rubric entry."""

    id: str
    title: str
    points: float
    module: str
    visibility: str = "visible"
    timeout: float = 20.0
    examples: int = 10
    rtol: float = 1e-5
    atol: float = 1e-6
    memory_mb: int = 1536
    depends: tuple[str, ...] = ()
    notebook: bool = True
    extra_credit: bool = False  # never counts toward the total (3b, and what only the module form asks for)
    optional: bool = False  # optional in the handout: extra credit unless [grader] optional_required
    hints: bool = True  # on failure, name the catalogued mistake the outputs match (autograder/diagnosis.py)

    @property
    def part(self) -> str:
        return self.id.split(".")[0]


@dataclass(frozen=True)
class Grader:
    """Run-wide settings from the rubric's [grader] table."""

    deadline_seconds: float = 480.0
    version: str = "1"
    optional_required: bool = False  # true: the handout's optional parts (1h, ...) count toward the total
    timeout_factor: float = 10.0  # a check may take this many times the reference's own time (the calibration) ...
    timeout_floor: float = 5.0  # ... but never less than this, and never more than its rubric timeout
    import_timeout: float = 20.0  # importing one module, at most (calibrated the same way when measured)
    diagnosis_seconds: float = 2.0  # the most one failed check's diagnosis may take (replays on the catalogue's mistakes)


@dataclass(frozen=True)
class Rubric:
    grader: Grader
    checks: tuple[Check, ...] = field(default_factory=tuple)

    def by_id(self) -> dict[str, Check]:
        return {c.id: c for c in self.checks}

    def counts(self, check: Check) -> bool:
        """Whether the check's points count toward the assignment total (else they are extra credit)."""
        return not check.extra_credit and not (check.optional and not self.grader.optional_required)

    @property
    def total_points(self) -> float:
        """The total to set on Gradescope: both the module and the notebook form can reach it."""
        return sum(c.points for c in self.checks if self.counts(c))

    @property
    def extra_points(self) -> float:
        return sum(c.points for c in self.checks if not self.counts(c))


_CHECK_FIELDS = set(Check.__dataclass_fields__)


def default_path() -> Path:
    """The assignment's rubric."""
    return assignment.current().rubric


def load(path: Path | str | None = None) -> Rubric:
    """Parse and validate the rubric (default: the assignment's); raise RubricError naming the first problem.

    A check id is ``<part>.<n>``, the part one of its module's parts in the manifest.
    """
    task = assignment.current()
    path = default_path() if path is None else path
    modules = task.module_names
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RubricError(f"cannot read rubric {path}: {exc}") from None
    defaults = data.get("defaults", {})
    grader = Grader(**data.get("grader", {}))
    checks = []
    seen = set()
    for raw in data.get("check", []):
        entry = {**defaults, **raw}
        unknown = set(entry) - _CHECK_FIELDS
        if unknown:
            raise RubricError(f"check {raw.get('id')!r}: unknown fields {sorted(unknown)}")
        entry["depends"] = tuple(entry.get("depends", ()))
        try:
            check = Check(**entry)
        except TypeError as exc:
            raise RubricError(f"check {raw.get('id')!r}: {exc}") from None
        part, _, number = check.id.partition(".")
        if not number.isdigit() or part not in task.parts:
            raise RubricError(f"check id {check.id!r} is not '<part>.<n>' with a part of the assignment ({', '.join(task.parts)})")
        if check.id in seen:
            raise RubricError(f"check id {check.id} appears twice")
        if check.visibility not in VISIBILITIES:
            raise RubricError(f"check {check.id}: visibility must be one of {VISIBILITIES}")
        if check.module not in modules:
            raise RubricError(f"check {check.id}: module must be one of {modules}")
        if part not in task.module(check.module).parts:
            raise RubricError(f"check {check.id}: part {part} is not a part of module {check.module}")
        if check.points < 0 or check.timeout <= 0 or check.examples < 1:
            raise RubricError(f"check {check.id}: points, timeout and examples must be positive")
        for dep in check.depends:
            if dep not in seen:
                raise RubricError(f"check {check.id} depends on {dep}, which is not an earlier check")
        seen.add(check.id)
        checks.append(check)
    return Rubric(grader=grader, checks=tuple(checks))
