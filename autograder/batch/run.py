"""``run_batch``: a whole class from export folder to grades.csv (and mistakes.csv, rewritten with
it), with OUT/batch.json recording the fingerprint and the run's statistics."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from autograder import __version__
from autograder.batch.export import Submission, discover
from autograder.batch.outcome import Outcome, not_graded
from autograder.batch.progress import Progress
from autograder.batch.resume import STATE, fingerprint, plan, read_json, write_json
from autograder.batch.schedule import KILL_MARGIN_SECONDS, BatchOptions, Runner, grade_all
from autograder.batch.table import write_csv, write_mistakes

MISTAKES = "mistakes.csv"


@dataclass
class BatchReport:
    """What a run did: every submission's outcome in order, and how many were graded or reused."""

    outcomes: list[Outcome]
    graded: int
    reused: int
    seconds: float
    interrupted: bool
    notes: list[str]
    csv_path: Path
    mistakes_path: Path | None = None  # OUT/mistakes.csv, written with grades.csv


def run_batch(root: Path, options: BatchOptions, log: Callable[[str], None] = lambda s: print(s, file=sys.stderr)) -> BatchReport:
    """Grade every submission under ``root`` into ``options.out``, reusing finished ones; one broken
    submission never stops the batch (its row's status says why)."""
    from autograder import rubric as rubric_mod

    rubric_path = Path(options.rubric_path or rubric_mod.default_path())
    rubric = rubric_mod.load(rubric_path)
    part_ids = list(dict.fromkeys(c.part for c in rubric.checks))
    options.out.mkdir(parents=True, exist_ok=True)
    fp = fingerprint(rubric_path, options.only, options.deadline)
    subs, notes = discover(root, exclude=options.out)
    for note in notes:
        log(note)
    manifest = options.out / STATE
    previous = read_json(manifest)
    if previous and previous.get("fingerprint") != fp:
        log(
            f"The rubric, grader version or --only changed since the last run in {options.out} "
            f"(grader {previous.get('grader_version')} -> {__version__}, fingerprint {previous.get('fingerprint')} -> {fp}): regrading every submission."
        )
    write_json(manifest, {"fingerprint": fp, "grader_version": __version__, "rubric": str(rubric_path), "rubric_version": rubric.grader.version, "only": list(options.only), "submissions": len(subs), "state": "running"})

    outcomes, todo = plan(subs, options.out, fp, part_ids, options.force)
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

    def save(rows: list[Outcome]) -> None:
        write_csv(csv_path, rows, part_ids)
        write_mistakes(options.out / MISTAKES, rows)  # whenever grades.csv is: the two always agree

    save([outcomes[s.name] for s in subs if s.name in outcomes])

    def on_done(sub: Submission, outcome: Outcome) -> None:
        outcomes[sub.name] = outcome
        progress.update(outcome)
        save([outcomes[s.name] for s in subs if s.name in outcomes])

    if options.scheduler:
        from autograder.batch.cluster import grade_all_on_cluster

        interrupted = grade_all_on_cluster(options.scheduler, runner, todo, part_ids, fp, on_done, log)
    else:
        interrupted = grade_all(runner, todo, part_ids, fp, options.jobs, on_done, log)
    seconds = time.monotonic() - started
    for sub in subs:
        if sub.name not in outcomes:  # cancelled by the interruption
            outcomes[sub.name] = not_graded(sub, part_ids, "interrupted")
    ordered = [outcomes[s.name] for s in subs if s.name in outcomes]
    save(ordered)
    graded = sum(o.graded for o in ordered)
    write_json(
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
            "scheduler": options.scheduler,
            "seconds": round(seconds, 1),
            "submissions_per_minute": round(graded / seconds * 60, 2) if graded and seconds > 0 else None,
            "state": "interrupted" if interrupted else "complete",
        },
    )
    return BatchReport(ordered, graded, reused, seconds, interrupted, notes, csv_path, options.out / MISTAKES)
