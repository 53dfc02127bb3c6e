"""Grade one submission: intake, sandbox, every rubric check in order, results.json after each.

The order of start-up matters for isolation: the fail-closed grade file is written
first, the sandbox supervisor is forked before the rubric or the reference is
loaded, and only then are the checks (which import the reference) imported.
"""
from __future__ import annotations

import os
import platform
import random
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

from autograder import __version__, assignment, intake as intake_mod
from autograder.config import GradeConfig
from autograder.errors import InfrastructureError
from autograder.messages import say
from autograder.results import ResultsWriter, TestResult
from autograder.sandbox.client import WORKER_SETUP_FAILED
from autograder.walk import remove_tree


@dataclass
class Outcome:
    """What happened to one check, for the table printed by the CLI."""

    id: str
    title: str
    score: float
    max_score: float
    status: str  # passed | failed | not run | n/a
    message: str
    seconds: float = 0.0
    extra: bool = False  # extra credit: not part of the total


@dataclass
class GradeReport:
    outcomes: list[Outcome] = field(default_factory=list)
    score: float = 0.0
    max_score: float = 0.0
    seconds: float = 0.0
    results_path: str = ""
    notes: list[str] = field(default_factory=list)
    import_seconds: dict[str, float] = field(default_factory=dict)  # module -> slowest import (what calibrate records)


def grade(config: GradeConfig) -> GradeReport:
    """Grade ``config.submission``; the results file is valid at every moment.

    Raises ``InfrastructureError`` when this install cannot grade fairly (the worker canary
    fails, a worker cannot start, the sandbox user cannot read a file of the grader's):
    results.json then says so, with no score, and nobody is graded.
    """
    started = time.monotonic()
    writer = ResultsWriter(str(config.results), extra_data={"grader_version": __version__})
    writer.fail_closed(say("unfinished"))
    base = Path(tempfile.mkdtemp(prefix="autograder-grade-", dir=str(config.work_dir) if config.work_dir else None))
    sandbox = None
    try:
        os.chmod(base, 0o711)
        found = intake_mod.stage(Path(config.submission), base / "submission")
        sandbox = _start_sandbox(config, base)
        sandbox.canary()
        return _run_checks(config, writer, found, sandbox, started, base)
    except InfrastructureError as exc:
        writer.infrastructure_error(say("infrastructure"), exc.cause)
        raise
    finally:
        if sandbox is not None:
            sandbox.stop()
        remove_tree(base)  # autograder.walk: no RecursionError, whatever a worker left in its scratch folder


def _start_sandbox(config: GradeConfig, base: Path):
    from autograder.probes import load_all

    load_all()  # the payload the workers serve, loaded before any fork
    if config.in_process:
        from autograder.sandbox.inprocess import InProcessSandbox

        return InProcessSandbox(str(base / "submission"))
    from autograder.sandbox.client import Sandbox

    # Never hide the interpreter's own files, whether reached through links (a project .venv
    # pointing at a venv elsewhere: modules' __file__ paths go through the link) or not.
    keep = [str(base), sys.prefix, os.path.realpath(sys.prefix)]
    hidden = [p for p in config.secret_paths() if not any(_contains(p, k) for k in keep)]
    return Sandbox.start(
        base_dir=str(base),
        submission_dir=str(base / "submission"),
        hidden_paths=hidden,
        sandbox_user=config.sandbox_user,
        kill_whole_uid=config.kill_whole_uid,
    )


def _contains(folder: str, path: str) -> bool:
    """``path`` is ``folder`` or inside it, as written or with every link resolved."""
    for resolve in (os.path.abspath, os.path.realpath):
        inner, outer = resolve(path), resolve(folder)
        if inner == outer or inner.startswith(outer.rstrip(os.sep) + os.sep):
            return True
    return False


def _run_checks(config: GradeConfig, writer: ResultsWriter, found: intake_mod.Intake, sandbox, started: float, base: Path) -> GradeReport:
    # Loaded only now: the worker supervisor has been forked and holds none of this.
    from autograder import checks, rubric as rubric_mod
    from autograder.checks.compare import CheckFailed
    from autograder import calibration as calibration_mod
    from autograder.checks.context import CheckAborted, Ctx, InfrastructureAbort, ModuleBroken, check_seed
    from autograder.checks.memo import release_module_caches

    rubric = rubric_mod.load(config.rubric_path or rubric_mod.default_path())
    calibration = calibration_mod.load(assignment.current().calibration) if config.calibrated else None
    functions = checks.registry()
    deadline_seconds = config.deadline_seconds or rubric.grader.deadline_seconds
    global_deadline = started + deadline_seconds
    writer.extra_data.update(_extra_data(rubric, sandbox, found))
    writer.extra_data["total_points"] = rubric.total_points  # the assignment total; extra credit on top
    report = GradeReport(results_path=writer.path)
    failed: set[str] = set()
    titles = {c.id: c.title for c in rubric.checks}
    diagnoser = None
    unimportable: dict[str, str] = {}  # module -> the message of its failed import, found once
    counts = {m: sum(c.module == m for c in rubric.checks) for m in {c.module for c in rubric.checks}}
    for index, check in enumerate(rubric.checks):
        t0 = time.monotonic()
        if index and check.module != rubric.checks[index - 1].module:  # one module's cached data is not carried into the next's checks
            release_module_caches()
        visible_points = check.points
        status, score, message = "failed", 0.0, ""
        session = diagnosis = None
        if config.only and not any(check.id.startswith(p) or check.part == p for p in config.only):
            status, message = "not run", say("only", only=",".join(config.only))
        elif check.module not in found.modules and check.module in intake_mod.notebookless() and found.notebook_submission:
            status, visible_points, message = "n/a", 0.0, say("not_in_notebook")
        elif check.module not in found.modules:
            message = found_problem(found, check.module)
        elif found.is_notebook(check.module) and not check.notebook:
            status, visible_points, message = "n/a", 0.0, say("not_in_notebook")
        elif check.module in unimportable:
            message = unimportable[check.module]
        elif time.monotonic() >= global_deadline:
            status, message = "not run", say("deadline", seconds=deadline_seconds)
        elif check.id not in functions:
            message = say("grader_error", detail=f"no check function is registered for {check.id}")
        else:
            _reseed(check_seed(check.id))
            timeout = calibration_mod.check_timeout(check, rubric.grader, calibration)
            deadline = min(time.monotonic() + timeout, global_deadline)
            import_timeout = min(timeout, calibration_mod.import_timeout(check.module, rubric.grader, calibration))  # no part of a check outlasts it
            loading = _Loader(sandbox, check, timeout, import_timeout, global_deadline, counts[check.module], report)
            ctx = Ctx(check, loading.open, deadline, grader_fault=sandbox.grader_fault, failed=frozenset(failed), titles=titles, notebook=found.is_notebook(check.module))
            aborted, wrong = None, False  # wrong: the student's code failed the check (not a lost worker, not a grader error)
            try:
                functions[check.id](ctx)
                status, score, message = "passed", check.points, "\n".join([say("passed"), *ctx.notes])
            except CheckFailed as exc:
                message = "\n".join([exc.message, *ctx.notes])
                wrong = True
            except CheckAborted as exc:
                aborted = exc.lost
            except ModuleBroken as exc:
                unimportable[check.module] = message = exc.message
                if exc.end is not None:
                    message = _with_worker_output(message, exc.end)
            except InfrastructureAbort as exc:
                if ctx.session is not None:
                    ctx.session.close()
                raise InfrastructureError(f"{check.id}: {exc.cause}") from None
            except Exception as exc:  # a grader bug must cost only this check, and say so
                message = say("grader_error", detail=f"{type(exc).__name__}: {exc}")
                report.notes.append(f"{check.id}: grader error\n{traceback.format_exc()}")
            session = ctx.session
            end = session.close() if session is not None else None
            if wrong and check.hints and ctx.evidence():
                diagnoser = diagnoser or _diagnoser()
                diagnosis = _diagnose(diagnoser, check, ctx, min(rubric.grader.diagnosis_seconds, global_deadline - time.monotonic()), report)
                if diagnosis is not None:
                    message += "\n" + say("diagnosis", hint=diagnosis.hint)
            if aborted is not None:
                message = _lost_message(aborted, end, timeout, deadline >= global_deadline - 1e-6)
            if end is not None:
                message = _with_worker_output(message, end)
            if status == "failed" and check.id in functions:
                broken = [d for d in check.depends if d in failed and d not in ctx.replaced]
                if broken:
                    named = "; ".join(f"{d} ({titles[d]})" for d in broken)
                    message = say("depends" if len(broken) == 1 else "depends_many", deps=named) + "\n" + message
        if status == "failed":
            failed.add(check.id)
        message = tidy_paths(message, base)
        name = check.title
        extra = not rubric.counts(check) and status != "n/a"
        if extra:
            # Extra credit: its points are added when earned, and the total (set on Gradescope,
            # extra_data.total_points) does not include them, so failing it costs nothing.
            name = f"{check.title} (extra credit)"
            message = message + "\n" + say("extra_credit_optional" if check.optional else "extra_credit", points=f"{check.points:g}")
        result = TestResult(
            number=check.id,
            name=name,
            score=score,
            max_score=visible_points,
            status="passed" if status in ("passed", "n/a") else "failed",
            visibility=check.visibility,
            output=message,
            extra_data={"diagnosis": diagnosis.to_json()} if diagnosis is not None else {},
        )
        writer.execution_time = time.monotonic() - started
        writer.record(result)
        report.outcomes.append(Outcome(check.id, check.title, score, visible_points, status, message, time.monotonic() - t0, extra=extra))
    if diagnoser is not None:
        writer.extra_data["diagnosis_seconds"] = round(diagnoser.seconds, 3)  # what naming mistakes cost this grading
    report.score = sum(o.score for o in report.outcomes)
    report.max_score = sum(o.max_score for o in report.outcomes if not o.extra)
    report.seconds = time.monotonic() - started
    writer.output = _summary(found, sandbox) + "\n" + say("total_points", total=f"{rubric.total_points:g}", extra=f"{rubric.extra_points:g}")
    writer.execution_time = report.seconds
    writer.write(finished=True)
    return report


def _diagnoser():
    """The diagnosis (``autograder/diagnosis.py``), or None when the assignment catalogues no mistakes."""
    from autograder.diagnosis import Diagnoser, suspects

    try:
        pool = suspects()
    except Exception:  # noqa: BLE001 - a catalogue that does not load costs the hints, never a grade
        return None
    return Diagnoser(assignment.current().reference, pool) if pool else None


class _Loader:
    """Opens a check's worker and imports the student's module first, under its own time limit.

    An import that raises, hangs or crashes raises ``ModuleBroken`` with one message that says
    so; the runner then marks every check of that module with it, without running them.
    """

    def __init__(self, sandbox, check, timeout: float, import_timeout: float, global_deadline: float, count: int, report: "GradeReport") -> None:
        self.sandbox, self.check, self.timeout, self.import_timeout = sandbox, check, timeout, import_timeout
        self.global_deadline, self.count, self.report = global_deadline, count, report

    def open(self):
        from autograder.checks.context import InfrastructureAbort, ModuleBroken, describe_error
        from autograder.sandbox.client import StudentRaised, WorkerLost

        module = self.check.module
        session = self.sandbox.open(cpu_seconds=int(max(self.timeout, self.import_timeout) * 2) + 5, memory_mb=self.check.memory_mb)
        started = time.monotonic()
        limit = min(started + self.import_timeout, self.global_deadline)
        try:
            session.call("__load__", {"module": module}, limit)
        except WorkerLost as lost:
            end = session.close()
            if lost.reason == "timeout" and limit >= self.global_deadline - 1e-6:
                raise  # the grader's overall budget ran out: not the module's fault
            if lost.reason == "timeout":
                text = say("import_hangs", module=module, seconds=f"{self.import_timeout:g}")
            else:
                text = say("protocol", detail=lost.detail) if lost.reason == "protocol" else say("import_died", module=module, how=_how_it_ended(end))
            raise ModuleBroken(text + "\n" + say("at_import", module=module, count=self.count), end) from None
        except StudentRaised as exc:
            cause = self.sandbox.grader_fault(exc.info)
            end = session.close()
            if cause:
                raise InfrastructureAbort(cause) from None
            raise ModuleBroken(describe_error(exc.info) + "\n" + say("at_import", module=module, count=self.count), end) from None
        seconds = time.monotonic() - started
        self.report.import_seconds[module] = max(seconds, self.report.import_seconds.get(module, 0.0))
        return session


def _diagnose(diagnoser, check, ctx, budget: float, report: GradeReport):
    if diagnoser is None or budget <= 0:
        return None
    try:
        return diagnoser.diagnose(check, ctx.evidence(), budget)
    except Exception:  # noqa: BLE001 - a failing diagnosis costs its hint, never the grade
        report.notes.append(f"{check.id}: diagnosis failed\n{traceback.format_exc()}")
        return None


def found_problem(found: intake_mod.Intake, module: str) -> str:
    text = say("missing_module", module=module, found=found.found_summary())
    if found.problems:
        text += "\n" + "\n".join(found.problems)
    return text


def _lost_message(lost, end, timeout: float, hit_global: bool) -> str:
    if lost.reason == "timeout":
        if hit_global:
            return say("deadline", seconds=timeout)
        return say("timeout", seconds=timeout)
    if lost.reason == "protocol":
        return say("protocol", detail=lost.detail)
    return say("died", how=_how_it_ended(end))


def _how_it_ended(end) -> str:
    """How a worker ended, in the student's terms (a signal, a CPU limit, an exit status)."""
    if end is None:
        return "it stopped"
    if "signal" in end.ended:
        import signal as _signal

        try:
            how = f"killed by signal {_signal.Signals(end.ended['signal']).name}"
        except ValueError:
            how = f"killed by signal {end.ended['signal']}"
        if end.ended["signal"] == _signal.SIGXCPU:
            how += ": CPU time limit"
        elif end.ended["signal"] == _signal.SIGKILL:
            how += ": most likely out of memory (workers are the first the kernel stops when memory runs out)"
        return how
    if end.ended.get("exit_code") == WORKER_SETUP_FAILED:
        raise InfrastructureError(f"a sandboxed worker could not confine itself (exit status {WORKER_SETUP_FAILED}) before any student code ran")
    return f"exit status {end.ended.get('exit_code')}: sys.exit or os._exit in your code?"


def tidy_paths(text: str, base: Path) -> str:
    """Paths of the grader's own folders, as a student sees them: their files by name, libraries by package.

    ``/tmp/autograder-grade-x/submission/q_mod.py`` reads ``q_mod.py``; a library file
    under the venv reads ``site-packages/torch/...``; the scratch folder disappears.
    """
    import re
    import sysconfig

    folder = re.escape(str(base))
    text = re.sub(folder + r"/(submission|scratch-\d+)/", "", text)
    text = text.replace(str(base) + "/", "")
    for key, shown in (("purelib", "site-packages/"), ("platlib", "site-packages/"), ("stdlib", "python3.11/")):
        for path in {sysconfig.get_paths()[key], os.path.realpath(sysconfig.get_paths()[key])}:
            text = text.replace(path.rstrip("/") + "/", shown)
    return text


def _with_worker_output(message: str, end) -> str:
    parts = [message]
    if end.output.strip():
        parts.append(say("student_output", shown=min(len(end.output.encode()), end.output_bytes), total=end.output_bytes, text=end.output.strip()[:1500]))
    if end.leftover_processes:
        parts.append(say("leftover", count=end.leftover_processes))
    return "\n".join(parts)


def _reseed(seed: int) -> None:
    hook = assignment.current().hook("reseed")
    if hook is not None:
        hook(seed)
    else:
        random.seed(seed)


def _extra_data(rubric, sandbox, found: intake_mod.Intake) -> dict:
    from importlib import metadata

    info = sandbox.info
    task = assignment.current()
    return {
        "grader_version": __version__,
        "assignment": task.name,
        "rubric_version": rubric.grader.version,
        "python": platform.python_version(),
        "libraries": {name: _version(metadata, name) for name in task.versions},
        "sandbox": {"mode": info.mode, "user": info.sandbox_user, "uid": info.uid, "measures": info.measures, "layers": info.layers, "not_enforced": info.missing},
        "submission": {"modules": found.modules, "problems": found.problems, "notes": found.notes},
    }


def _version(metadata, name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _summary(found: intake_mod.Intake, sandbox) -> str:
    lines = [f"Graded: {found.found_summary()}."]
    lines += found.notes + found.problems
    info = sandbox.info
    lines.append(say("sandbox_limits", measures=", ".join(info.measures), missing="; ".join(info.missing) or "nothing"))
    return "\n".join(lines)
