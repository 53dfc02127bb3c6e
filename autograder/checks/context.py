"""What a check function works with: calls into the worker, comparisons, and properties.

A check calls ``ctx.call(probe, **args)`` to run grader harness code next to the
student's code, then compares the plain outputs with expectations it computes
from the reference. ``ctx.for_all`` runs a Hypothesis property and reports the
smallest failing input it found.
"""
from __future__ import annotations

import time
import zlib
from dataclasses import dataclass
from typing import Any, Callable

import hypothesis
from hypothesis import HealthCheck, Phase, Verbosity, settings
from hypothesis import strategies as st

from autograder.checks.compare import CheckFailed, assert_close, assert_equal
from autograder.messages import fmt, say
from autograder.rubric import Check
from autograder.sandbox.client import StudentRaised, WorkerLost


class CheckAborted(BaseException):
    """The worker was lost (timeout, crash, exit): stop the check at once, without shrinking."""

    def __init__(self, lost: WorkerLost) -> None:
        super().__init__(lost.reason)
        self.lost = lost


class ModuleBroken(BaseException):
    """The student's module cannot be imported (it raises, hangs or crashes at import): every
    check of that module fails with this one message, and none of them runs."""

    def __init__(self, message: str, end: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.end = end  # the worker's SessionEnd (its output), when one ran


class _Unfinished(BaseException):
    """Stops Hypothesis at a NotImplementedError (it shrinks no BaseException); ``for_all`` keeps the failure."""


class InfrastructureAbort(BaseException):
    """The install, not the student, failed during a check: stop grading at once (no shrinking)."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


@dataclass(frozen=True)
class Call:
    """One probe call as the check made it: what was sent, what came back (or the exception's type)."""

    probe: str
    args: dict
    value: Any
    raised: str | None  # failure_key() of the exception, when the call raised
    seconds: float


TRACE_BYTES = 4 * 2**20  # a call with more data than this is not kept for the diagnosis


def data_bytes(value: Any) -> int:
    """A cheap upper estimate of the bytes a plain value holds (arrays by their buffers)."""
    nbytes = getattr(value, "nbytes", None)
    if isinstance(nbytes, int):
        return nbytes
    if isinstance(value, dict):
        return sum(data_bytes(v) for v in value.values()) + 64 * len(value)
    if isinstance(value, (list, tuple)):
        return sum(data_bytes(v) for v in value) + 8 * len(value)
    if isinstance(value, (str, bytes)):
        return len(value)
    return 8


def failure_key(info: dict) -> str:
    """What identifies a failed call for the diagnosis: the kind of failure, the exception's type
    and the first line of its message (``exception/RuntimeError: ...``; a stub reads
    ``not_implemented/...``, a harness refusal ``bad_value/...``)."""
    from autograder.text import clean

    message = str(info.get("message", "")).strip().splitlines()
    return f"{info.get('kind')}/{info.get('type') or info.get('kind')}: {clean(message[0] if message else '')[:200]}"


# Failures of loading the module, not of any input: no "smallest failing input" goes with them.
NOT_INPUT_DEPENDENT = ("syntax_error", "import_error", "missing_module")


def check_seed(check_id: str) -> int:
    """A fixed seed per check, the same on every machine."""
    return zlib.crc32(check_id.encode()) & 0x7FFFFFFF


class Ctx:
    """The context handed to every check function."""

    def __init__(
        self,
        check: Check,
        open_session: Callable[[], Any],
        deadline: float,
        grader_fault: Callable[[dict], str | None] = lambda error: None,
        failed: frozenset[str] = frozenset(),
        titles: dict[str, str] | None = None,
        notebook: bool = False,
    ) -> None:
        self.check = check
        self.notebook = notebook  # the module came from the course's notebook, whose interface differs
        self.failed = failed
        self.titles = titles or {}
        self.replaced: set[str] = set()
        self._open_session = open_session
        self._grader_fault = grader_fault
        self.session = None
        self.deadline = deadline
        self.seed = check_seed(check.id)
        self.notes: list[str] = []
        # The probe calls of the current example, and of the first and the last failing one:
        # the evidence a diagnosis replays against the catalogue's mutants.
        self.trace: list[Call] = []
        self.failing: list[list[Call]] = []

    @property
    def rtol(self) -> float:
        return self.check.rtol

    @property
    def atol(self) -> float:
        return self.check.atol

    def call(self, probe: str, **args: Any) -> Any:
        """Run a probe in this check's worker and return its plain outputs."""
        if self.session is None:
            self.session = self._open_session()
        started = time.monotonic()
        # Big arguments are let go of once sent (a caller that dropped its own reference then
        # frees them while the worker computes: 30.5 MiB at 5g.2's peak); the trace never keeps them.
        big = data_bytes(args) > TRACE_BYTES
        try:
            value = self.session.call(probe, args, self.deadline, sent=args.clear if big else None)
        except WorkerLost as lost:
            raise CheckAborted(lost) from None
        except StudentRaised as exc:
            cause = self._grader_fault(exc.info)
            if cause:  # confirmed by the trusted side: the install, not the student, failed
                raise InfrastructureAbort(cause) from None
            self._record(Call(probe, None if big else args, None, failure_key(exc.info), time.monotonic() - started))
            raise CheckFailed(describe_error(exc.info), input_dependent=exc.kind not in NOT_INPUT_DEPENDENT, unfinished=exc.kind == "not_implemented") from None
        self._record(Call(probe, None if big else args, value, None, time.monotonic() - started))
        return value

    def _record(self, call: "Call") -> None:
        """Keep a call for the diagnosis, unless it is big: a trace must never hold a check's
        large arrays alive (part 5 frees its 2000 x 2000 matrices as soon as it can)."""
        if call.args is None or data_bytes(call.args) + data_bytes(call.value) > TRACE_BYTES:
            call = Call(call.probe, None, None, call.raised, call.seconds)  # too big to replay: no diagnosis
        self.trace.append(call)

    def evidence(self) -> list[list[Call]]:
        """The calls that showed the failure: of the first and the last (smallest) failing
        example under ``for_all``, else every call of the check."""
        return [list(t) for t in self.failing] or ([list(self.trace)] if self.trace else [])

    def _failed_example(self) -> None:
        if self.failing:
            self.failing[1:] = [list(self.trace)]
        else:
            self.failing.append(list(self.trace))

    def close(self, got: Any, expected: Any, what: str, rtol: float | None = None, atol: float | None = None) -> None:
        assert_close(got, expected, what, self.rtol if rtol is None else rtol, self.atol if atol is None else atol)

    def equal(self, got: Any, expected: Any, what: str) -> None:
        assert_equal(got, expected, what)

    def stand_in(self, piece: str, graded_by: tuple[str, ...]) -> bool:
        """Whether to run the grader's stand-in for ``piece`` instead of the student's, because
        a check that grades it (one of ``graded_by``, run earlier) failed. A bug then costs only
        its own check; the note says so, in passing and failing messages alike."""
        broken = [c for c in graded_by if c in self.failed]
        if not broken:
            return False
        if not self.replaced.issuperset(broken):
            self.replaced.update(broken)
            named = ", ".join(f"{c} ({self.titles[c]})" if c in self.titles else c for c in broken)
            self.notes.append(say("stand_in", piece=piece, deps=named))
        return True

    def fail(self, key: str, **fields: Any) -> None:
        raise CheckFailed(say(key, **fields))

    def for_all(self, strategy: st.SearchStrategy, test: Callable[[Any], None], examples: int | None = None) -> None:
        """Run ``test`` on ``examples`` inputs drawn by Hypothesis; on failure, report the smallest."""
        failures: list[tuple[Any, CheckFailed]] = []

        @hypothesis.seed(self.seed)
        @settings(
            max_examples=examples or self.check.examples,
            database=None,
            deadline=None,
            derandomize=False,
            report_multiple_bugs=False,
            suppress_health_check=list(HealthCheck),
            phases=(Phase.explicit, Phase.generate, Phase.shrink),
            verbosity=Verbosity.quiet,
            print_blob=False,
        )
        @hypothesis.given(strategy)
        def prop(example: Any) -> None:
            self.trace = []
            try:
                test(example)
            except CheckFailed as exc:
                failures.append((example, exc))
                self._failed_example()
                if exc.unfinished:
                    raise _Unfinished() from None
                raise

        try:
            prop()
        except (CheckFailed, _Unfinished):
            example, exc = failures[-1]
            if not exc.input_dependent:
                raise exc from None
            found = say("failing_input" if exc.unfinished else "smallest_input", example=describe_example(example))
            raise CheckFailed(exc.message + "\n" + found, unfinished=exc.unfinished) from None
        except (hypothesis.errors.HypothesisException, hypothesis.errors.FlakyFailure):
            # Flaky: the same input failed once and passed on replay (random or stateful code).
            if not failures:
                raise
            example, exc = failures[-1]
            raise CheckFailed(exc.message + "\n" + say("flaky", example=describe_example(example))) from None


def describe_example(example: Any) -> str:
    if isinstance(example, dict):
        return ", ".join(f"{k}={fmt(v)}" for k, v in example.items())
    return str(fmt(example))


def describe_error(info: dict) -> str:
    """Turn the worker's description of an exception into the student-facing message."""
    kind = info.get("kind")
    message = str(info.get("message", ""))
    trace = str(info.get("traceback", ""))
    if kind == "not_implemented":
        return say("not_implemented", detail=message)
    if kind in ("missing_module", "bad_value"):
        return say("bad_value", message=message) if kind == "bad_value" else message
    if kind == "syntax_error":
        module = message.split(",")[0]
        return say("syntax_error", module=module, message=message, code=trace)
    if kind == "import_error":
        return say("import_error", message=message) + ("\n" + trace if trace else "")
    if kind == "grader":
        return say("grader_error", detail=message)
    text = say("raised", type=info.get("type", "Exception"), message=message)
    return text + ("\n" + trace if trace else "")
