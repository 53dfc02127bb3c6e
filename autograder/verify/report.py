"""The proof's outcome (``Proof``) and the report ``python -m autograder verify`` prints."""
from __future__ import annotations

from dataclasses import dataclass

from autograder.verify.catalogue import PART_ORDER, Fixture
from autograder.verify.hints import HintFigures, format_figures
from autograder.verify.verdicts import Verdict


@dataclass
class Proof:
    verdicts: list[Verdict]
    pending: list[tuple[Fixture, str]]
    invariants: list[tuple[str, bool, str]]  # (name, ok, detail)
    seconds: float
    hints: HintFigures | None = None  # when the held-out set was graded

    def count(self, kind: str, part: str | None = None) -> tuple[int, int]:
        vs = [v for v in self.verdicts if v.kind == kind and not v.skipped and (part is None or v.part == part)]
        return sum(v.caught for v in vs), len(vs)

    @property
    def ok(self) -> bool:
        hints_ok = self.hints is None or self.hints.met
        return hints_ok and all(v.ok for v in self.verdicts if not v.skipped) and all(ok for _, ok, _ in self.invariants)


def format_report(proof: Proof, verbose: bool = False) -> str:
    """Per-part table, failures and survivors, pending fixtures, invariants; the summary lines last."""
    lines = []
    parts = [p for p in PART_ORDER if any(v.part == p for v in proof.verdicts) or any(f.part == p for f, _ in proof.pending)]
    lines.append(f"{'part':<6}{'mutants':>12}{'variants':>12}{'adversarial':>14}{'pending':>10}")
    for p in parts:
        cells = []
        for kind in ("mutant", "variant", "adversarial"):
            c, t = proof.count(kind, p)
            cells.append(f"{c}/{t}" if t else "-")
        pending = sum(1 for f, _ in proof.pending if f.part == p)
        lines.append(f"{p:<6}{cells[0]:>12}{cells[1]:>12}{cells[2]:>14}{pending or '-':>10}")
    known = [v for v in proof.verdicts if v.known and v.kind == "adversarial" and not v.caught and not v.skipped]
    if known:
        lines.append("")
        lines.append("known weaknesses (attacks NOT contained, documented in their case.toml):")
        for v in known:
            lines.append(f"  {v.name}: {v.known}")
            lines.append(f"    observed: {v.detail[:600]}")
    issues = [v for v in proof.verdicts if v.known and v.kind != "adversarial" and v.ok and not v.skipped]
    if issues:
        lines.append("")
        lines.append("known grader issues (documented in the catalogue):")
        for v in issues:
            lines.append(f"  {v.key}: {v.known}")
            lines.append(f"    observed: {v.detail[:600]}")
    bad = [v for v in proof.verdicts if not v.ok and not v.skipped]
    survivors = [v for v in proof.verdicts if v.kind == "mutant" and not v.caught and not v.skipped and not v.known]
    if survivors:
        lines.append("")
        lines.append("surviving mutants (no check lost a point):")
        for v in survivors:
            lines.append(f"  {v.name} [{v.part}]: {v.detail or 'all graded checks passed'}")
    wrong = [v for v in bad if v not in survivors]
    if wrong:
        lines.append("")
        lines.append("fixtures that did not behave as the catalogue says:")
        for v in wrong:
            lines.append(f"  {v.key} [{v.part}]: {v.detail[:1500]}")
    skipped = [v for v in proof.verdicts if v.skipped]
    if skipped:
        lines.append("")
        lines.append("skipped:")
        for v in skipped:
            lines.append(f"  {v.key}: {v.skipped}")
    notes = [(v, n) for v in proof.verdicts for n in v.notes]
    if notes:
        lines.append("")
        lines.append("notes:")
        for v, n in notes:
            lines.append(f"  {v.key}: {n}")
    if proof.pending:
        lines.append("")
        lines.append(f"pending ({len(proof.pending)}; their part's checks are not ready):")
        for f, why in proof.pending:
            lines.append(f"  {f.key} [{f.part}]: {why}")
    if proof.invariants:
        lines.append("")
        lines.append("invariants:")
        for name, ok, detail in proof.invariants:
            lines.append(f"  {'ok  ' if ok else 'FAIL'} {name}" + (f": {detail[:600]}" if detail and not ok else ""))
    if verbose:
        lines.append("")
        lines.append("timings:")
        for v in sorted(proof.verdicts, key=lambda v: -v.seconds):
            lines.append(f"  {v.seconds:7.1f} s  {v.key}")
    lines.append("")
    lines.append(f"wall time: {proof.seconds:.1f} s")
    for kind, label in (("mutant", "mutants"), ("variant", "variants"), ("adversarial", "adversarial")):
        c, t = proof.count(kind)
        lines.append(f"{label}: {c}/{t}")
    if proof.hints is not None:
        c, t = proof.count("heldout")
        lines.append(f"held-out bugs losing points: {c}/{t}")
        lines += format_figures(proof.hints)
    return "\n".join(lines)
