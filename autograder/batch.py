"""Regrade a whole class: one sandboxed ``grade`` subprocess per submission, N at a time.

Layout of the output folder::

    OUT/batch.json                     fingerprint of the rubric and grader, run statistics
    OUT/grades.csv                     one row per student (group members share their submission's row)
    OUT/<submission>/results.json      the grader's Gradescope results for that submission
    OUT/<submission>/grader.log        what the grader printed
    OUT/<submission>/batch.json        fingerprint, submission hash, status, seconds

Resuming: a submission is skipped when its results.json finished and its batch.json
has the current fingerprint (sha256 of rubric.toml + grader version + --only/--deadline) and the
same submission hash. Anything else is graded (again). One broken submission never
stops the batch; its row's status says why.

Each submission is graded by ``python -m autograder grade`` in its own process
session (its own sandbox supervisor and workers). With ``--jobs`` above 1 (or
``--shared-sandbox``: other graders run on this machine) the graders share the
sandbox uid, so each is told ``--shared-sandbox``:
it kills only its own workers, never every process of the uid.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TextIO

import yaml

from autograder import __version__
from autograder.cli import ARGUMENTS_ON_STDIN
from autograder.config import PROJECT_ROOT
from autograder.text import clean, clean_value
from autograder.walk import walk

METADATA = "submission_metadata.yml"
KILL_MARGIN_SECONDS = 120.0
STATE = "batch.json"


# --------------------------------------------------------------------------- metadata


class YamlError(ValueError):
    """The metadata file is not YAML that PyYAML's safe loader reads."""


class _StringsLoader(yaml.SafeLoader):
    """PyYAML's safe loader with every scalar kept a string (a student id such as 00123 keeps its
    zeros, a date stays as Gradescope wrote it); only an empty value, ``~`` and null are None."""


_StringsLoader.yaml_implicit_resolvers = {}
_StringsLoader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])


def parse_yaml(text: str) -> Any:
    """Gradescope's submission_metadata.yml (Ruby-style ``:key:`` mappings) as plain data."""
    try:
        return yaml.load(text, Loader=_StringsLoader)  # noqa: S506 - a safe loader, resolvers trimmed
    except yaml.YAMLError as exc:
        raise YamlError(str(exc).replace("\n", " ")[:300]) from None


# --------------------------------------------------------------------------- discovery


@dataclass
class Student:
    name: str = ""
    email: str = ""
    sid: str = ""


@dataclass
class Submission:
    name: str  # folder (or zip stem) name; the output sub-folder
    path: Path | None  # None: listed in the metadata, but no folder was exported
    students: list[Student] = field(default_factory=list)


def _field(entry: dict, key: str) -> str:
    for k in (f":{key}", key):
        if k in entry and entry[k] is not None:
            return str(entry[k])
    return ""


def read_metadata(path: Path) -> dict[str, list[Student]]:
    """submission folder -> its submitters, from Gradescope's submission_metadata.yml."""
    data = parse_yaml(path.read_text(encoding="utf-8", errors="replace"))
    out: dict[str, list[Student]] = {}
    if not isinstance(data, dict):
        raise YamlError(f"{path.name}: expected a mapping of submission folders")
    for folder, info in data.items():
        students = []
        if isinstance(info, dict):
            submitters = info.get(":submitters", info.get("submitters")) or []
            if isinstance(submitters, dict):
                submitters = [submitters]
            for s in submitters if isinstance(submitters, list) else []:
                if isinstance(s, dict):
                    # Names are students' own text: no control or escape sequence reaches grades.csv or a terminal.
                    students.append(Student(clean(_field(s, "name"), 300), clean(_field(s, "email"), 300), clean(_field(s, "sid"), 100)))
        out[str(folder)] = students
    return out


def discover(root: Path, exclude: Path | None = None) -> tuple[list[Submission], list[str]]:
    """The submissions under ``root``: Gradescope's export layout, or a plain folder of zips/folders."""
    notes: list[str] = []
    root = root.resolve()
    if not (root / METADATA).is_file():
        inner = [d for d in root.iterdir() if d.is_dir() and (d / METADATA).is_file()]
        if len(inner) == 1:
            notes.append(f"using the Gradescope export in {inner[0].name}/")
            root = inner[0]
    metadata: dict[str, list[Student]] = {}
    if (root / METADATA).is_file():
        try:
            metadata = read_metadata(root / METADATA)
            notes.append(f"{METADATA}: {len(metadata)} submissions, {sum(len(v) for v in metadata.values())} students")
        except (YamlError, OSError, UnicodeError) as exc:
            notes.append(f"could not read {METADATA} ({exc}); rows will name submission folders only")
    excluded = exclude.resolve() if exclude else None
    entries: dict[str, Path] = {}
    for path in sorted(root.iterdir()):
        if path.name.startswith(".") or path.name in ("__MACOSX", "__pycache__") or path.name == METADATA:
            continue
        if excluded is not None and (path.resolve() == excluded or excluded.is_relative_to(path.resolve())):
            continue
        if path.is_dir():
            name = path.name
        elif path.is_file() and path.suffix.lower() == ".zip":
            name = path.stem
        else:
            continue
        if name in entries:
            name = path.name
        entries[name] = path
    subs = [Submission(name, path, metadata.get(name, [])) for name, path in entries.items()]
    subs += [Submission(name, None, students) for name, students in metadata.items() if name not in entries]
    subs.sort(key=lambda s: natural_key(s.name))
    return subs, notes


def natural_key(text: str) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", text)]


# --------------------------------------------------------------------------- fingerprints


def fingerprint(rubric_path: Path, only: tuple[str, ...], deadline: float | None = None) -> str:
    """What must match for a finished result to be reused: rubric bytes, grader version, --only, --deadline."""
    digest = hashlib.sha256()
    digest.update(Path(rubric_path).read_bytes())
    digest.update(f"\0grader {__version__}\0only {','.join(only)}\0deadline {deadline or ''}".encode())
    return digest.hexdigest()[:16]


HASH_MAX_DEPTH = 64
HASH_MAX_ENTRIES = 100_000


def submission_hash(path: Path) -> str:
    digest = hashlib.sha256()
    if path.is_file():
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()[:16]
    # Iterative and bounded (autograder.walk): a folder 1,100 deep neither raises RecursionError
    # nor stops the batch; what was not walked is part of the hash as a marker.
    walker = walk(path, max_depth=HASH_MAX_DEPTH, max_entries=HASH_MAX_ENTRIES)
    for folder, dirs, names in walker:
        dirs.sort()
        for name in sorted(names):
            full = Path(folder) / name
            rel = full.relative_to(path).as_posix()
            try:
                info = full.lstat()
            except OSError:
                continue
            digest.update(f"{rel}\0{info.st_size}\0".encode())
            if full.is_file() and not full.is_symlink() and info.st_size <= 16 * 1024 * 1024:
                digest.update(hashlib.sha256(full.read_bytes()).digest())
            else:
                digest.update(str(info.st_mtime_ns).encode())
    for limit in walker.limits:
        digest.update(f"\0truncated {limit.reason} {limit.path}\0".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()[:16]


# --------------------------------------------------------------------------- grading one


@dataclass
class Outcome:
    """One submission's grade, as it goes into grades.csv."""

    submission: str
    students: list[Student]
    parts: dict[str, float] = field(default_factory=dict)
    total: float = 0.0
    max_score: float = 0.0
    status: str = ""
    seconds: float = 0.0
    reused: bool = False  # a finished result from an earlier run, with the same fingerprint
    graded: bool = False  # a grader ran for it in this run


@dataclass
class BatchOptions:
    out: Path
    jobs: int = 1
    only: tuple[str, ...] = ()
    rubric_path: Path | None = None
    deadline: float | None = None
    sandbox_user: str | None = None
    force: bool = False
    shared_sandbox: bool = False  # other graders use the sandbox uid too (also implied by jobs > 1)


def grade_command(submission: Path, results: Path, options: BatchOptions, shared: bool) -> list[str]:
    """The arguments of one grading (after ``python -m autograder``), sent on its standard input."""
    command = ["grade", str(submission), "--results", str(results), "--quiet"]
    if shared:
        command.append("--shared-sandbox")
    if options.only:
        command += ["--only", ",".join(options.only)]
    if options.rubric_path:
        command += ["--rubric", str(Path(options.rubric_path).resolve())]
    if options.deadline:
        command += ["--deadline", str(options.deadline)]
    if options.sandbox_user:
        command += ["--sandbox-user", options.sandbox_user]
    return command


class Runner:
    """Grades submissions in subprocesses and can stop them all (by their own process group ids)."""

    def __init__(self, options: BatchOptions, wall_seconds: float) -> None:
        self.options = options
        self.wall_seconds = wall_seconds
        self._procs: dict[int, subprocess.Popen] = {}
        self._lock = threading.Lock()
        self.stopping = False

    def grade(self, sub: Submission, part_ids: list[str], fp: str, sub_hash: str) -> Outcome:
        if self.stopping:  # interrupted before this one started: leave it for the next run
            return Outcome(sub.name, sub.students, parts={p: 0.0 for p in part_ids}, status="interrupted")
        folder = self.options.out / sub.name
        folder.mkdir(parents=True, exist_ok=True)
        results = folder / "results.json"
        for stale in (results, folder / STATE):
            if stale.exists():
                stale.unlink()
        shared = self.options.jobs > 1 or self.options.shared_sandbox
        env = dict(os.environ)
        env["PYTHONPATH"] = str(PROJECT_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        command = grade_command(sub.path, results, self.options, shared)
        started = time.monotonic()
        timed_out = False
        with open(folder / "grader.log", "wb") as log:
            log.write(("$ python -m autograder " + " ".join(command) + "\n").encode())
            log.flush()
            with self._lock:  # stop_all() either sees this process or stops it from starting
                if self.stopping:
                    return Outcome(sub.name, sub.students, parts={p: 0.0 for p in part_ids}, status="interrupted")
                # The arguments travel on a pipe: a command line is readable by every process on the host.
                proc = subprocess.Popen([sys.executable, "-m", "autograder", ARGUMENTS_ON_STDIN], cwd=str(PROJECT_ROOT), env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.PIPE, start_new_session=True)
                self._procs[proc.pid] = proc
            try:
                proc.stdin.write(json.dumps(command).encode())
                proc.stdin.close()
            except OSError:
                pass
            try:
                proc.wait(timeout=self.wall_seconds)
            except subprocess.TimeoutExpired:
                timed_out = True
                self._kill(proc)
            finally:
                with self._lock:
                    self._procs.pop(proc.pid, None)
        seconds = time.monotonic() - started
        outcome = read_outcome(sub, results, part_ids)
        outcome.seconds = seconds
        outcome.graded = True
        if self.stopping and not _finished(results):
            outcome.status = "interrupted"
            outcome.graded = False
        elif timed_out:
            outcome.status = f"error: timed out after {self.wall_seconds:.0f} s (stopped)"
        elif not outcome.status or (proc.returncode != 0 and outcome.status.startswith("error") and "infrastructure" not in outcome.status):
            tail = _last_line(folder / "grader.log")
            outcome.status = f"error: grader exited with status {proc.returncode}" + (f": {tail}" if tail else "")
        state = {"fingerprint": fp, "submission_hash": sub_hash, "status": outcome.status, "seconds": round(seconds, 2), "exit_code": proc.returncode}
        _write_json(folder / STATE, state)
        return outcome

    def _kill(self, proc: subprocess.Popen) -> None:
        """Stop one grader: SIGINT to its process group (it cleans up its sandbox), SIGKILL if it lingers."""
        for sig, grace in ((signal.SIGINT, 10.0), (signal.SIGKILL, 30.0)):
            try:
                os.killpg(proc.pid, sig)  # the grader's own session, started by us
            except (ProcessLookupError, PermissionError):
                return
            try:
                proc.wait(timeout=grace)
                return
            except subprocess.TimeoutExpired:
                continue

    def stop_all(self) -> None:
        with self._lock:
            self.stopping = True
            procs = list(self._procs.values())
        for proc in procs:
            self._kill(proc)


def _finished(results: Path) -> bool:
    try:
        return bool(json.loads(results.read_text()).get("extra_data", {}).get("finished"))
    except (OSError, ValueError, AttributeError):
        return False


def _last_line(log: Path) -> str:
    try:
        lines = [l.strip() for l in log.read_text(errors="replace").splitlines() if l.strip() and not l.startswith("$ ")]
    except OSError:
        return ""
    return clean(lines[-1][:200]) if lines else ""


def read_outcome(sub: Submission, results: Path, part_ids: list[str]) -> Outcome:
    """Points per part, total and status from a results.json (status '' when there is none)."""
    outcome = Outcome(sub.name, sub.students, parts={p: 0.0 for p in part_ids})
    try:
        data = json.loads(results.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return outcome
    data = clean_value(data)  # its texts reach grades.csv and the progress line: valid Unicode, no escapes
    if not isinstance(data, dict):
        outcome.status = "error: results.json is not a JSON object"
        return outcome
    for test in data.get("tests", []) or []:
        part = str(test.get("number", "")).split(".")[0]
        outcome.parts[part] = outcome.parts.get(part, 0.0) + float(test.get("score", 0) or 0)
        outcome.max_score += float(test.get("max_score", 0) or 0)
    outcome.total = float(data.get("score", 0) or 0)
    extra = data.get("extra_data", {}) if isinstance(data.get("extra_data"), dict) else {}
    if isinstance(extra.get("total_points"), (int, float)):
        outcome.max_score = float(extra["total_points"])  # one total for every row; extra credit on top
    if extra.get("infrastructure_error"):
        outcome.status = "error: infrastructure (not the student's fault): " + str(extra["infrastructure_error"])[:200]
    elif not extra.get("finished"):
        first = str(data.get("output", "")).strip().splitlines()
        outcome.status = "error: grading did not finish" + (f" ({first[0][:120]})" if first else "")
    else:
        found = (extra.get("submission") or {}).get("modules") or {}
        problems = (extra.get("submission") or {}).get("problems") or []
        if not found:
            outcome.status = "no modules: " + (problems[0][:160] if problems else "none of the homework modules were found")
        else:
            outcome.status = "ok"
    return outcome


# --------------------------------------------------------------------------- the batch


class Progress:
    """A progress bar with ETA on stderr (one line per submission when stderr is not a terminal)."""

    def __init__(self, total: int, to_grade: int, stream: TextIO = sys.stderr) -> None:
        self.total = total
        self.to_grade = to_grade
        self.done = 0
        self.graded = 0
        self.stream = stream
        self.started = time.monotonic()
        self.tty = hasattr(stream, "isatty") and stream.isatty()

    def update(self, outcome: Outcome) -> None:
        self.done += 1
        if outcome.graded:
            self.graded += 1
        elapsed = time.monotonic() - self.started
        remaining = max(0, self.to_grade - self.graded)
        eta = elapsed / self.graded * remaining if self.graded else 0.0
        width = 28
        filled = int(width * self.done / max(self.total, 1))
        bar = "#" * filled + "." * (width - filled)
        what = f"{outcome.seconds:.0f} s" if outcome.graded else "reused" if outcome.reused else "not graded"
        line = (
            f"[{bar}] {self.done}/{self.total}  elapsed {_clock(elapsed)}  ETA {_clock(eta)}  "
            f"{outcome.submission}: {outcome.total:g}/{outcome.max_score:g} {outcome.status.split(':')[0]} ({what})"
        )
        if self.tty:
            self.stream.write("\r\x1b[K" + line[:200])
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else f"{seconds // 60}:{seconds % 60:02d}"


@dataclass
class BatchReport:
    outcomes: list[Outcome]
    graded: int
    reused: int
    seconds: float
    interrupted: bool
    notes: list[str]
    csv_path: Path


def run_batch(root: Path, options: BatchOptions, log: Callable[[str], None] = lambda s: print(s, file=sys.stderr)) -> BatchReport:
    from autograder import rubric as rubric_mod

    rubric_path = Path(options.rubric_path or rubric_mod.RUBRIC_PATH)
    rubric = rubric_mod.load(rubric_path)
    part_ids = list(dict.fromkeys(c.part for c in rubric.checks))
    options.out.mkdir(parents=True, exist_ok=True)
    fp = fingerprint(rubric_path, options.only, options.deadline)
    subs, notes = discover(root, exclude=options.out)
    for note in notes:
        log(note)
    manifest = options.out / STATE
    previous = _read_json(manifest)
    if previous and previous.get("fingerprint") != fp:
        log(
            f"The rubric, grader version or --only changed since the last run in {options.out} "
            f"(grader {previous.get('grader_version')} -> {__version__}, fingerprint {previous.get('fingerprint')} -> {fp}): regrading every submission."
        )
    _write_json(manifest, {"fingerprint": fp, "grader_version": __version__, "rubric": str(rubric_path), "rubric_version": rubric.grader.version, "only": list(options.only), "submissions": len(subs), "state": "running"})

    outcomes: dict[str, Outcome] = {}
    todo: list[tuple[Submission, str]] = []
    for sub in subs:
        if sub.path is None:
            o = Outcome(sub.name, sub.students, parts={p: 0.0 for p in part_ids}, status="error: listed in the metadata but no submission folder was exported")
            outcomes[sub.name] = o
            continue
        sub_hash = submission_hash(sub.path)
        state = _read_json(options.out / sub.name / STATE)
        results = options.out / sub.name / "results.json"
        if not options.force and state and state.get("fingerprint") == fp and state.get("submission_hash") == sub_hash and _finished(results):
            o = read_outcome(sub, results, part_ids)
            o.seconds = float(state.get("seconds", 0.0))
            o.reused = True
            outcomes[sub.name] = o
            continue
        todo.append((sub, sub_hash))
    reused = sum(o.reused for o in outcomes.values())
    if reused:
        log(f"Resuming: {reused} submission(s) already graded with this rubric and grader are reused; {len(todo)} to grade.")
    deadline = options.deadline or rubric.grader.deadline_seconds
    runner = Runner(options, wall_seconds=deadline + KILL_MARGIN_SECONDS)
    progress = Progress(len(subs), len(todo))
    for o in list(outcomes.values()):
        progress.update(o)
    csv_path = options.out / "grades.csv"
    started = time.monotonic()
    interrupted = False
    write_csv(csv_path, [outcomes[s.name] for s in subs if s.name in outcomes], part_ids)
    pool = ThreadPoolExecutor(max_workers=max(1, options.jobs))
    try:
        pending = {pool.submit(runner.grade, sub, part_ids, fp, h): sub for sub, h in todo}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                sub = pending.pop(future)
                try:
                    outcome = future.result()
                except Exception as exc:  # a failure of the batch machinery for one submission
                    outcome = Outcome(sub.name, sub.students, parts={p: 0.0 for p in part_ids}, status=f"error: {type(exc).__name__}: {exc}")
                outcomes[sub.name] = outcome
                progress.update(outcome)
                write_csv(csv_path, [outcomes[s.name] for s in subs if s.name in outcomes], part_ids)
    except KeyboardInterrupt:
        interrupted = True
        runner.stop_all()
        for future in list(pending):
            future.cancel()
        log("\nInterrupted: stopping the graders. Run the same command again to resume; finished submissions are kept.")
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    seconds = time.monotonic() - started
    for sub in subs:
        if sub.name not in outcomes:  # cancelled by the interruption
            outcomes[sub.name] = Outcome(sub.name, sub.students, parts={p: 0.0 for p in part_ids}, status="interrupted")
    ordered = [outcomes[s.name] for s in subs if s.name in outcomes]
    write_csv(csv_path, ordered, part_ids)
    graded = sum(o.graded for o in ordered)
    _write_json(
        manifest,
        {
            "fingerprint": fp,
            "grader_version": __version__,
            "rubric": str(rubric_path),
            "rubric_version": rubric.grader.version,
            "only": list(options.only),
            "submissions": len(subs),
            "graded_this_run": graded,
            "reused": reused,
            "jobs": options.jobs,
            "seconds": round(seconds, 1),
            "submissions_per_minute": round(graded / seconds * 60, 2) if graded and seconds > 0 else None,
            "state": "interrupted" if interrupted else "complete",
        },
    )
    return BatchReport(ordered, graded, reused, seconds, interrupted, notes, csv_path)


# --------------------------------------------------------------------------- CSV


def csv_header(part_ids: list[str]) -> list[str]:
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
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(csv_header(part_ids))
    writer.writerows(csv_rows(outcomes, part_ids))
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(buffer.getvalue(), encoding="utf-8")
    os.replace(tmp, path)


def _num(value: float) -> str:
    return f"{round(float(value), 4):g}"


# --------------------------------------------------------------------------- compare


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


_NON_PART_COLUMNS = {"submission", "student", "sid", "email", "total", "max", "status", "seconds"}


def _read_grades(path: Path) -> dict[str, dict[str, str]]:
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


# --------------------------------------------------------------------------- helpers


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_json(path: Path, payload: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
