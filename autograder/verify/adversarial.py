"""Adversarial cases, one at a time, each graded alone in a fresh ``python -m autograder.verify
--child`` process with the production settings, exactly as on Gradescope, then checked for
containment: the results file valid and untouched, no process of the submission left, the
grader's own files intact, nothing sent to the network or left in world-writable folders.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Iterable

from autograder import assignment
from autograder.config import PROJECT_ROOT
from autograder.walk import remove_tree
from autograder.verify.building import build_submission
from autograder.verify.catalogue import REFERENCE, Fixture, graded_parts, in_parts
from autograder.verify.folders import _traversable, traversable_folder
from autograder.verify.instruments import (
    LoopbackListener,
    _boot_ticks,
    _files_of_uid,
    _kill_pids,
    _proc_table,
    _remove_paths,
    case_processes,
    descendants,
    grader_state,
    ipc_of_uids,
    plant_solutions,
    planted_folders,
    sandbox_uid,
    state_changes,
)
from autograder.verify.results_checks import _report_matches, _submission_texts, hidden_leaks, leaked_secrets, results_problems
from autograder.verify.verdicts import RETRIES, Observation, Verdict, foreign_kill_suspected, judge

CHILD_TIMEOUT = 900.0


def _write_rubric(path: Path, timeout: float | None, hidden: Iterable[str]) -> None:
    """A copy of the rubric with shorter per-check timeouts and/or some checks hidden."""
    from autograder import rubric as rubric_mod

    rubric = rubric_mod.load()
    hidden = tuple(hidden)

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, str):
            return json.dumps(v)
        return "[" + ", ".join(value(x) for x in v) + "]"

    lines = ["[grader]", f"deadline_seconds = {value(rubric.grader.deadline_seconds)}", f"version = {value(rubric.grader.version)}", ""]
    for c in rubric.checks:
        lines.append("[[check]]")
        for name in c.__dataclass_fields__:
            v = getattr(c, name)
            if name == "timeout" and timeout is not None:
                v = min(v, timeout)
            if name == "visibility" and any(in_parts(c.id, (h,)) for h in hidden):
                v = "hidden"
            lines.append(f"{name} = {value(list(v) if isinstance(v, tuple) else v)}")
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


def run_case(fixture: Fixture, only: tuple[str, ...], workdir: Path, state_before: dict[str, str] | None = None) -> Observation:
    """Grade one adversarial case in a fresh child process and check containment afterwards."""
    obs = Observation(fixture.key)
    started = time.monotonic()
    wall_start = time.time()
    uid = sandbox_uid()
    opts = fixture.options
    if opts.get("requires_root") and uid is None:
        obs.error = "SKIP: needs root and the sandbox user (uid switching)"
        return obs
    token = hashlib.sha256(os.urandom(16)).hexdigest()[:12]
    workdir.mkdir(parents=True, exist_ok=True)
    os.chmod(workdir, 0o755)
    if not _traversable(workdir):
        obs.error = f"the case folder {workdir} is not traversable by the sandbox user: use traversable_folder()"
        return obs
    results_dir = workdir / "results"
    results_dir.mkdir()
    os.chmod(results_dir, 0o755)
    results = results_dir / "results.json"
    canary = results_dir / "canary.txt"
    canary_text = f"canary {token}\n"
    canary.write_text(canary_text)
    os.chmod(canary, 0o644)
    marker = f"/tmp/autograder-verify-{token}-marker"
    heartbeat = f"/tmp/autograder-verify-{token}-heartbeat"
    listener = LoopbackListener()
    since_ticks = _boot_ticks()
    state_before = state_before if state_before is not None else grader_state()
    try:
        subs = {
            "RESULTS": str(results),
            "RESULTS_DIR": str(results_dir),
            "CANARY": str(canary),
            "TOKEN": token,
            "MARKER": marker,
            "HEARTBEAT": heartbeat,
            "PORT": str(listener.tcp_port),
            "UDP_PORT": str(listener.udp_port),
            "PROJECT": str(PROJECT_ROOT),
            "REFERENCE": str(REFERENCE),
            "RUBRIC": str(assignment.current().rubric),
        }
        if opts.get("plant"):
            planted = plant_solutions(token)
            subs["PLANT"] = str(planted)
        submission = build_submission(fixture, workdir / "submission", subs)
        pre = opts.get("pre_results")
        if pre == "symlink":
            results.symlink_to(canary)
        rubric_path = None
        if opts.get("timeout") is not None or opts.get("hidden"):
            rubric_path = workdir / "rubric.toml"
            _write_rubric(rubric_path, opts.get("timeout"), opts.get("hidden", ()))
        job = {
            "submission": str(submission),
            "results": str(results),
            "only": list(only),
            "rubric": str(rubric_path) if rubric_path else None,
            "deadline": opts.get("deadline"),
            "out": str(workdir / "child.json"),
            "work_dir": str(workdir),
        }
        (workdir / "job.json").write_text(json.dumps(job))
        child_timeout = float(opts.get("child_timeout", CHILD_TIMEOUT))
        proc = subprocess.Popen(
            [sys.executable, "-m", "autograder.verify", "--child", str(workdir / "job.json")],
            cwd=str(PROJECT_ROOT), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            log, _ = proc.communicate(timeout=child_timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            log, _ = proc.communicate()
            obs.problems.append(f"the grader did not finish within {child_timeout:.0f} s")
        except BaseException:  # interrupted: never leave a grading child (and its sandbox) behind
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
            proc.wait()
            raise
        grade_end = time.time()
        child = {}
        try:
            child = json.loads((workdir / "child.json").read_text())
        except (OSError, ValueError):
            obs.problems.append(f"the grading child wrote no report (exit {proc.returncode}): {log.decode('utf-8', 'replace')[-1500:]}")
        if child.get("error"):
            obs.problems.append(f"the grader crashed: {child['error'][-1500:]}")
        obs.outcomes = child.get("outcomes", [])
        for pid, cmd in child.get("descendants", []):
            obs.problems.append(f"process {pid} ({cmd[:60]}) of the submission outlived grade()")
        # Let anything that escaped show itself: a daemon rewriting files, late processes.
        time.sleep(float(opts.get("settle", 1.0)))
        leftovers = case_processes(str(workdir), uid, since_ticks)
        for _ in range(20):
            if not leftovers:
                break
            time.sleep(0.1)
            leftovers = case_processes(str(workdir), uid, since_ticks)
        for pid, cmd in leftovers:
            obs.problems.append(f"process {pid} ({cmd[:60]}) of the submission left after grading")
        _kill_pids([p for p, _ in leftovers])
        # results.json: present, a regular file, valid, exactly what the grader wrote.
        if results.is_symlink() or not results.is_file():
            obs.problems.append("results.json is not a regular file after grading")
        else:
            raw = results.read_bytes()
            if child.get("results_sha") and hashlib.sha256(raw).hexdigest() != child["results_sha"]:
                obs.problems.append("results.json changed after the grader's last write")
            try:
                obs.results = json.loads(raw)
                obs.problems += results_problems(obs.results, raw)
                obs.problems += _report_matches(obs.results, obs.outcomes)
                obs.problems += [f"hidden text leaked: {x}" for x in hidden_leaks(obs.results)]
                obs.leaked = leaked_secrets(raw.decode("utf-8", "replace"), _submission_texts(submission))
            except ValueError as exc:
                obs.problems.append(f"results.json is not JSON: {exc}")
        if canary.read_text() != canary_text:
            obs.problems.append("the canary next to results.json was modified")
        stray = sorted(p.name for p in results_dir.iterdir() if p.name not in ("results.json", "canary.txt"))
        if stray:
            obs.problems.append(f"unexpected files next to results.json: {stray}")
        for path in sorted(Path("/tmp").glob(f"autograder-verify-{token}-marker*")):
            obs.problems.append(f"hostile code ran outside the sandbox or escaped intake: {path} exists")
            _remove_paths([str(path)])
        for event in listener.events:
            obs.problems.append(f"network: {event}")
        if os.path.exists(heartbeat):
            before = os.stat(heartbeat).st_mtime
            time.sleep(0.6)
            after = os.stat(heartbeat).st_mtime if os.path.exists(heartbeat) else before
            if after != before or before > grade_end + 0.05:
                obs.problems.append("a background process kept writing after the grader finished")
        for change in state_changes(state_before, grader_state()):
            obs.problems.append(f"grader state: {change}")
        files = _files_of_uid(uid, wall_start)
        if files:
            obs.problems.append(f"left {len(files)} file(s) in the host's world-writable folders (removed): {', '.join(files[:4])}")
            _remove_paths(files)
        for root in ("/tmp", "/dev/shm"):
            _remove_paths(str(p) for p in Path(root).glob(f"autograder-verify-{token}*"))
        for leftover in ipc_of_uids(uid):
            obs.problems.append(f"a SysV IPC object outlived the grading: {leftover}")
    except Exception:
        obs.error = traceback.format_exc(limit=8)
    finally:
        listener.close()
        for folder in planted_folders(token):
            shutil.rmtree(folder, ignore_errors=True)
    obs.seconds = time.monotonic() - started
    return obs


def _child_main(job_path: str) -> int:
    """Grade as production does, as a subreaper; report outcomes and any surviving descendant."""
    from autograder.sandbox import hardening

    job = json.loads(Path(job_path).read_text())
    hardening.become_subreaper()
    out: dict[str, Any] = {}
    try:
        from autograder.config import GradeConfig
        from autograder.runner import grade

        config = GradeConfig(
            submission=Path(job["submission"]),
            results=Path(job["results"]),
            only=tuple(job["only"]),
            rubric_path=Path(job["rubric"]) if job.get("rubric") else None,
            deadline_seconds=job.get("deadline"),
            work_dir=Path(job["work_dir"]) if job.get("work_dir") else None,
        )
        report = grade(config)
        out["outcomes"] = [asdict(o) for o in report.outcomes]
    except BaseException:
        out["error"] = traceback.format_exc(limit=10)
    try:
        out["results_sha"] = hashlib.sha256(Path(job["results"]).read_bytes()).hexdigest()
    except OSError:
        out["results_sha"] = None
    table = _proc_table()
    left = descendants(os.getpid(), table)
    out["descendants"] = [(pid, table.get(pid, (0, 0, ""))[2]) for pid in left]
    _kill_pids(left)
    Path(job["out"]).write_text(json.dumps(out))
    return 0


def run_cases(fixtures: list[Fixture], parts: dict[str, tuple[str, ...]], workroot: Path | None = None, progress: Callable[[Verdict], None] | None = None) -> list[Verdict]:
    """Adversarial cases, one at a time (each may kill every process of the sandbox uid)."""
    if workroot is None or not _traversable(workroot):
        workroot = traversable_folder()
        try:
            return run_cases(fixtures, parts, workroot, progress)
        finally:
            remove_tree(workroot)
    verdicts = []
    for i, f in enumerate(fixtures):
        only = graded_parts(f, parts)
        notes: list[str] = []
        for attempt in range(1, RETRIES + 1):
            folder = workroot / f"case-{i:03d}-{f.name}-{attempt}"
            obs = run_case(f, only, folder)
            remove_tree(folder)  # a case's folder may hold a 1,100-deep chain: never shutil.rmtree
            v = judge(f, obs, only)
            if not foreign_kill_suspected(f, v):
                break
            earlier = [p for p in v.detail.split("; ") if p.startswith("grader state")]
            if earlier:
                notes.append(f"attempt {attempt}: {', '.join(earlier)} (an edit by someone else, or by the case: check)")
        v.notes += notes
        if attempt > 1:
            v.notes.append(f"graded {attempt} times: a worker was killed from outside, or the grader's files changed during the case")
        verdicts.append(v)
        if progress:
            progress(v)
    return verdicts
