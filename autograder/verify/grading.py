"""Grading mutants, variants, the reference and the template, and the determinism invariant.

Fixtures are graded in a pool of spawned processes (``--jobs``), each grading several
fixtures in-process with a shared sandbox uid (``kill_whole_uid`` off when ``--jobs`` > 1).
Such a process has imported the reference after its first grading, and later sandboxes fork
from it, which is harmless for honest code only: adversarial cases are graded elsewhere
(``autograder.verify.adversarial``).
"""
from __future__ import annotations

import json
import shutil
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from autograder.verify.building import build_submission
from autograder.verify.catalogue import Fixture, graded_parts
from autograder.verify.folders import _traversable, traversable_folder
from autograder.verify.results_checks import _report_matches, _submission_texts, hidden_leaks, leaked_secrets, results_problems
from autograder.verify.verdicts import RETRIES, Observation, Verdict, foreign_kill_suspected, judge


def _grade_in_process(fixture: Fixture, only: tuple[str, ...], workdir: Path, shared_sandbox: bool) -> Observation:
    """Build and grade one fixture in this process (pool worker)."""
    from autograder.config import GradeConfig
    from autograder.runner import grade

    obs = Observation(fixture.key)
    started = time.monotonic()
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        submission = build_submission(fixture, workdir / "submission")
        results_path = workdir / "results" / "results.json"
        results_path.parent.mkdir(parents=True, exist_ok=True)
        report = grade(GradeConfig(submission=submission, results=results_path, only=only, kill_whole_uid=not shared_sandbox, work_dir=workdir))
        obs.outcomes = [asdict(o) for o in report.outcomes]
        raw = results_path.read_bytes()
        obs.results = json.loads(raw)
        obs.problems += results_problems(obs.results, raw)
        obs.problems += _report_matches(obs.results, obs.outcomes)
        obs.problems += [f"hidden text leaked: {x}" for x in hidden_leaks(obs.results)]
        obs.leaked = leaked_secrets(raw.decode("utf-8", "replace"), _submission_texts(submission))
    except Exception:
        obs.error = traceback.format_exc(limit=8)
    obs.seconds = time.monotonic() - started
    return obs


def _pool_job(args: tuple[dict, tuple[str, ...], str, bool]) -> dict:
    fixture_data, only, workdir, shared = args
    fixture = Fixture(**{k: (tuple(tuple(x) if isinstance(x, list) else x for x in v) if k == "patches" else v) for k, v in fixture_data.items()})
    fixture = _fix_patches(fixture)
    obs = _grade_in_process(fixture, only, Path(workdir), shared)
    shutil.rmtree(workdir, ignore_errors=True)
    return asdict(obs)


def _fixture_data(f: Fixture) -> dict:
    return {k: getattr(f, k) for k in f.__dataclass_fields__}


def _fix_patches(f: Fixture) -> Fixture:
    patches = tuple((m, tuple((b, a) for b, a in edits)) for m, edits in f.patches)
    return Fixture(**{**_fixture_data(f), "patches": patches})


def grade_many(fixtures: list[Fixture], parts: dict[str, tuple[str, ...]], jobs: int, workroot: Path | None = None, progress: Callable[[Verdict], None] | None = None) -> list[Verdict]:
    """Grade mutants, variants, honest and template fixtures in a pool of spawned processes.

    ``workroot`` is ignored unless it is traversable by the sandbox user; a fresh folder is
    used (and removed) otherwise.
    """
    import multiprocessing

    verdicts: list[Verdict] = []
    if not fixtures:
        return verdicts
    own = workroot is None or not _traversable(workroot)
    if own:
        workroot = traversable_folder()
    try:
        return _grade_many(fixtures, parts, jobs, workroot, progress, multiprocessing)
    finally:
        if own:
            shutil.rmtree(workroot, ignore_errors=True)


def _grade_many(fixtures, parts, jobs, workroot, progress, multiprocessing) -> list[Verdict]:
    verdicts: list[Verdict] = []
    shared = jobs > 1
    work = []
    for i, f in enumerate(fixtures):
        only = graded_parts(f, parts)
        work.append((f, only, (_fixture_data(f), only, str(workroot / f"{i:03d}-{f.kind}-{f.name}"), shared)))
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=max(1, min(jobs, len(work))), mp_context=context)
    try:
        futures = {pool.submit(_pool_job, args): (f, only, args, 1) for f, only, args in work}
        while futures:
            done, _ = wait(list(futures), return_when=FIRST_COMPLETED)
            for future in done:
                f, only, args, attempt = futures.pop(future)
                try:
                    obs = Observation(**_obs_fields(future.result()))
                except Exception:
                    obs = Observation(f.key, error=traceback.format_exc(limit=6))
                v = judge(f, obs, only)
                if attempt < RETRIES and foreign_kill_suspected(f, v):
                    futures[pool.submit(_pool_job, args)] = (f, only, args, attempt + 1)
                    continue
                if attempt > 1:
                    v.notes.append(f"graded {attempt} times: a worker was killed from outside (another grader sharing the sandbox uid?)")
                verdicts.append(v)
                if progress:
                    progress(v)
    except BaseException:  # interrupted: stop the pool's gradings now (their sandboxes die with them)
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    order = {f.key: i for i, f in enumerate(fixtures)}
    verdicts.sort(key=lambda v: order.get(v.key, 0))
    return verdicts


def _obs_fields(data: dict) -> dict:
    return {k: data[k] for k in Observation.__dataclass_fields__ if k in data}


def determinism(parts: dict[str, tuple[str, ...]], fixtures: list[Fixture], workroot: Path | None, jobs: int) -> list[tuple[str, bool, str]]:
    """Grade each fixture twice: identical scores and messages (the seconds aside)."""
    out = []
    doubled = [f for f in fixtures for _ in range(2)]
    verdicts = grade_many(doubled, parts, jobs, workroot)
    for f in fixtures:
        pair = [v for v in verdicts if v.key == f.key]
        if len(pair) != 2 or any(v.observation is None or v.observation.results is None for v in pair):
            out.append((f"deterministic: {f.key}", False, "could not grade twice: " + "; ".join(v.detail for v in pair)))
            continue
        a, b = (_stable(v.observation.results) for v in pair)
        out.append((f"deterministic: {f.key}", a == b, "" if a == b else "the two runs differ: " + _diff(a, b)))
    return out


def _stable(results: dict) -> list[tuple]:
    return [(t["number"], t["score"], t["max_score"], t["status"], t.get("output", "")) for t in results["tests"]]


def _diff(a: list[tuple], b: list[tuple]) -> str:
    for x, y in zip(a, b):
        if x != y:
            return f"{x[0]}: {x[1:4]} {x[4][:100]!r} vs {y[1:4]} {y[4][:100]!r}"
    return "different lengths"
