"""Name the likely mistake behind a failed check, by replaying its probe calls on the catalogue's mutants.

When a check fails, ``Ctx.evidence()`` holds the probe calls that showed it (the first and the
smallest failing example): what the trusted side sent and what the student's code returned.
Each catalogued mutant that is known to fail this check (the assignment's
``catalogue/mutants``, the grader's own code) is loaded on the trusted side and given the same
calls. If the student's replies equal one mutant's (or one family's) within the check's
tolerance (an exception raised by the code: the same type and first line of message), and the
reference's do not, the failure message names that mistake. None or
several matches: nothing is said, because a wrong hint is worse than none.

Mutants are never student code: running them here, next to the reference, breaks no rule of
isolation. Nothing the student returned is executed; it is only compared.
"""
from __future__ import annotations

import contextlib
import io
import sys
import time
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from autograder.checks.context import data_bytes

# Above this much recorded data (arguments and replies), a check is not diagnosed: the
# replay would copy it once per suspect.
MAX_EVIDENCE_BYTES = 16 * 2**20


@dataclass(frozen=True)
class Suspect:
    """A catalogued mistake: a mutant of the reference, with the student-facing words for it."""

    name: str
    family: str
    hint: str
    module: str
    fails: tuple[str, ...]
    patches: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]


@dataclass(frozen=True)
class Diagnosis:
    """The mistake a failed check's outputs point to: ``mistake`` is the family's id."""

    mistake: str
    hint: str
    matched: tuple[str, ...]  # the mutants whose outputs equal the student's
    tried: int
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {"mistake": self.mistake, "hint": self.hint}


@lru_cache(maxsize=None)
def suspects() -> tuple[Suspect, ...]:
    """The assignment's catalogued mutants (none if its catalogue has no ``mutants/`` folder)."""
    from autograder.verify.catalogue import load_mutants

    return tuple(
        Suspect(f.name, f.options.get("family") or f.name, f.options.get("hint", ""), f.module, f.fails, f.patches)
        for f in load_mutants()
    )


def suspects_for(check_id: str, pool: Iterable[Suspect] | None = None) -> list[Suspect]:
    return [s for s in (suspects() if pool is None else pool) if check_id in s.fails]


def mutant_sources(reference: Path, suspect: Suspect | None, module: str) -> dict[str, str]:
    """module -> source text: the reference's ``module`` (and any other module the suspect
    patches), patched as the suspect says; the reference itself for ``None``."""
    from autograder.verify.building import apply_patches

    edits = dict(suspect.patches) if suspect else {}
    where = suspect.name if suspect else "reference"
    return {m: apply_patches((Path(reference) / f"{m}.py").read_text(encoding="utf-8"), edits.get(m, ()), where) for m in {module, *edits}}


@contextlib.contextmanager
def quietly():
    """A mutant's prints and warnings are not the student's: nobody should read them."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def same(a: Any, b: Any, rtol: float, atol: float) -> bool:
    """Whether two plain replies are equal: arrays and numbers within tolerance, the rest exactly."""
    if isinstance(a, dict) or isinstance(b, dict):
        return isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k], rtol, atol) for k in a)
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) == len(b) and all(same(x, y, rtol, atol) for x, y in zip(a, b))
    if isinstance(a, (bool, str, type(None))) or isinstance(b, (bool, str, type(None))):
        return type(a) is type(b) and a == b
    try:
        x, y = np.asarray(a), np.asarray(b)
    except Exception:  # noqa: BLE001 - anything that is not an array is compared as it is
        return a == b
    if x.shape != y.shape:
        return False
    if x.dtype.kind in "biuf" and y.dtype.kind in "biuf":
        return bool(np.allclose(x.astype(np.float64), y.astype(np.float64), rtol=rtol, atol=atol, equal_nan=True))
    return bool(np.array_equal(x, y))


class Diagnoser:
    """Replays failed checks' calls on the reference and on the suspects (their text built once, in memory)."""

    def __init__(self, reference: Path, pool: Iterable[Suspect] | None = None) -> None:
        self.reference = Path(reference)
        self._cache: dict[tuple[str, str], dict[str, str]] = {}
        self.pool = tuple(suspects() if pool is None else pool)
        self.seconds = 0.0

    def diagnose(self, check, evidence: list[list[Any]], budget_s: float) -> Diagnosis | None:
        """The single mistake the evidence points to, or None (no evidence, none or several match, over budget)."""
        started = time.monotonic()
        try:
            return self._diagnose(check, evidence, budget_s, started)
        finally:
            self.seconds += time.monotonic() - started

    def _diagnose(self, check, evidence, budget_s: float, started: float) -> Diagnosis | None:
        calls = [c for trace in evidence for c in trace]
        candidates = suspects_for(check.id, self.pool)
        if not calls or not candidates or any(c.raised and not c.raised.startswith("exception/") for c in calls):
            # Only the student's own exceptions are compared: a stub's NotImplementedError names no
            # mistake, and the harness's refusals ("could not set the read-out") describe the harness.
            return None
        if any(c.args is None for c in calls) or sum(data_bytes(c.args) + data_bytes(c.value) for c in calls) > MAX_EVIDENCE_BYTES:
            return None  # a call too big to keep (Ctx._record), or too much to replay
        if sum(c.seconds for c in calls) * (len(candidates) + 1) > budget_s:
            return None
        deadline = started + budget_s
        if self._replays_as(self._sources(None, check.module), evidence, check, deadline) is not False:
            return None  # the reference gives the same replies (or could not be run): nothing to explain
        matched = []
        for suspect in candidates:
            verdict = self._replays_as(self._sources(suspect, check.module), evidence, check, deadline)
            if verdict is None:
                return None  # out of time: an incomplete comparison names nothing
            if verdict:
                matched.append(suspect)
        families = {s.family for s in matched}
        if len(families) != 1:
            return None
        hint = next((s.hint for s in matched if s.hint), "")
        if not hint:
            return None
        return Diagnosis(families.pop(), hint, tuple(s.name for s in matched), len(candidates), time.monotonic() - started)

    # ------------------------------------------------------------------ sources

    def _sources(self, suspect: Suspect | None, module: str) -> dict[str, str]:
        key = (suspect.name if suspect else "", module)
        if key not in self._cache:
            self._cache[key] = mutant_sources(self.reference, suspect, module)
        return self._cache[key]

    # ------------------------------------------------------------------ replay

    def _replays_as(self, sources: dict[str, str], evidence: list[list[Any]], check, deadline: float) -> bool | None:
        """Whether this code answers every recorded call as the student's did; None when out of time."""
        for trace in evidence:  # each example from a freshly loaded module, as the worker ran it
            session = _Replay(sources)
            try:
                for call in trace:
                    if time.monotonic() > deadline:
                        return None
                    value, raised = session.call(call.probe, call.args)
                    if raised != call.raised or (raised is None and not same(call.value, value, check.rtol, check.atol)):
                        return False
            finally:
                session.close()
        return True


class _Replay:
    """A trusted, in-process session on grader-owned module text (no sandbox: no student code runs here)."""

    def __init__(self, sources: dict[str, str]) -> None:
        from autograder.probes import registry

        registry.configure("/nonexistent", [])
        for module, text in sources.items():
            registry.adopt(module, text, f"<catalogued mistake>/{module}.py")

    def call(self, probe: str, args: dict) -> tuple[Any, str | None]:
        from autograder.probes import registry

        from autograder import protocol
        from autograder.checks.context import failure_key
        from autograder.sandbox.client import VALUE_TEXT_CAP
        from autograder.sandbox.worker import describe_exception
        from autograder.text import clean_value

        try:
            fresh = protocol.round_trip(args)  # as a worker receives them: a replay may modify its arguments in place
            with quietly():
                value = registry.call(probe, fresh)
            # The worker's round trip, so that both sides are compared in the same plain form.
            return clean_value(protocol.round_trip({"ok": True, "value": value})["value"], VALUE_TEXT_CAP), None
        except Exception as exc:  # noqa: BLE001 - a mutant that raises is compared by its exception's type and message
            return None, failure_key(describe_exception(exc))

    def close(self) -> None:
        from autograder.probes import registry

        for name in registry.module_names():
            sys.modules.pop(name, None)
        registry.configure("/nonexistent", [])
