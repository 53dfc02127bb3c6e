"""How well the diagnosis names mistakes (``autograder/diagnosis.py``), measured on bugs it never saw.

The held-out set (the catalogue's ``heldout/``) names, for each bug, the catalogued mistake it
re-expresses, or none. From their graded results:

- hit rate: re-expressions whose hints name their mistake, and nothing else;
- wrong-hint rate: hints that name a different mistake (any hint on an unrelated bug), over all
  hints given on the held-out set; the same count on the correct variants, which must be 0.

The catalogue's own mutants are counted too ("seen"): the diagnosis knows them, so that figure
checks the plumbing, not the generalisation.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from autograder.verify.catalogue import Fixture
from autograder.verify.verdicts import Verdict

HIT_TARGET = 0.80
WRONG_TARGET = 0.02


def named(results: dict | None) -> dict[str, str]:
    """check id -> the mistake its diagnosis names, from a results.json (read as the class view reads it)."""
    from autograder.class_view import findings

    return {f.check: f.mistake for f in findings((results or {}).get("tests"))}


@dataclass
class HintFigures:
    known: int = 0  # re-expressions graded
    hits: int = 0
    unrelated: int = 0
    hints: int = 0  # hints given on the held-out set
    wrong: int = 0  # of which name another mistake
    variant_hints: int = 0
    variants: int = 0
    seen: int = 0
    seen_hits: int = 0
    misses: list[str] = field(default_factory=list)
    wrongs: list[str] = field(default_factory=list)
    unnamed: list[str] = field(default_factory=list)  # catalogued mutants their own results do not name

    @property
    def hit_rate(self) -> float | None:
        return self.hits / self.known if self.known else None

    @property
    def wrong_rate(self) -> float | None:
        return self.wrong / self.hints if self.hints else 0.0

    @property
    def met(self) -> bool:
        return self.known > 0 and self.hit_rate >= HIT_TARGET and self.wrong_rate <= WRONG_TARGET and self.variant_hints == 0


def measure(verdicts: Iterable[Verdict], fixtures: dict[str, Fixture]) -> HintFigures:
    """The figures, from the graded verdicts (their results.json) and the catalogue's fixtures by key."""
    family = {f.name: f.options.get("family") or f.name for f in fixtures.values() if f.kind == "mutant"}
    fig = HintFigures()
    for v in verdicts:
        if v.skipped or v.observation is None or v.observation.results is None:
            continue
        hints = named(v.observation.results)
        fixture = fixtures.get(v.key)
        if v.kind == "variant":
            fig.variants += 1
            fig.variant_hints += len(hints)
            fig.wrongs += [f"variant {v.name}: {c} named {m}" for c, m in hints.items()]
        elif v.kind == "mutant":
            fig.seen += 1
            named_itself = bool(hints) and set(hints.values()) == {family.get(v.name, v.name)}
            fig.seen_hits += named_itself
            if not named_itself:
                fig.unnamed.append(f"{v.name}: " + (", ".join(f"{c} named {m}" for c, m in hints.items()) or f"no hint on {', '.join(v.failed) or 'any check'}"))
        elif v.kind == "heldout" and fixture is not None:
            mistake = fixture.options.get("mistake", "")
            target = family.get(mistake, mistake) if mistake else None
            fig.hints += len(hints)
            wrong = {c: m for c, m in hints.items() if m != target}
            fig.wrong += len(wrong)
            fig.wrongs += [f"held-out {v.name} ({'unrelated' if target is None else 'is ' + target}): {c} named {m}" for c, m in wrong.items()]
            if target is None:
                fig.unrelated += 1
                continue
            fig.known += 1
            if hints and not wrong:
                fig.hits += 1
            else:
                fig.misses.append(f"{v.name} (is {target}): " + (", ".join(f"{c} named {m}" for c, m in hints.items()) or f"no hint on {', '.join(v.failed) or 'any check'}"))
    return fig


def format_figures(fig: HintFigures) -> list[str]:
    def pct(x: float | None) -> str:
        return "n/a" if x is None else f"{100 * x:.1f}%"

    lines = [
        "hints (diagnosis of failed checks, on the held-out set it never saw):",
        f"  named the right mistake: {fig.hits}/{fig.known} re-expressions of catalogued mistakes = {pct(fig.hit_rate)} (target >= {HIT_TARGET:.0%})",
        f"  named a wrong mistake: {fig.wrong}/{fig.hints} hints = {pct(fig.wrong_rate)} (target <= {WRONG_TARGET:.0%}; {fig.unrelated} unrelated bugs among them)",
        f"  hints on correct variants: {fig.variant_hints} on {fig.variants} variants (target 0)",
        f"  catalogued mutants naming themselves (seen by the diagnosis): {fig.seen_hits}/{fig.seen}",
    ]
    lines += [f"  miss: {m}" for m in fig.misses[:20]]
    lines += [f"  catalogued, not named: {m}" for m in fig.unnamed[:20]]
    lines += [f"  WRONG: {w}" for w in fig.wrongs[:20]]
    return lines
