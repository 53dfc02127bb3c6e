"""``batch --scheduler ADDRESS``: the same gradings, sent to a Dask ``distributed`` cluster.

Each task runs ``Runner.grade`` on a Dask worker, that is the same sandboxed ``python -m
autograder grade`` subprocess a local job runs, on a node prepared by ``setup.sh``. The nodes
share the export and output folders (a department cluster's shared filesystem): a task writes
``OUT/<submission>/`` there and hands back the row it read from its results.json. A node that
dies takes its running tasks with it; the scheduler gives them to another worker (and each
task is retried once more), so one node's failure only requeues its submissions. Resume and
``--compare`` work as with local jobs, because they read the same files.

Nothing of a student's travels through Dask but the grader's own outcome of a grading (plain
fields read from results.json by trusted code on the node): student code runs only in the
sandbox below that grader.
"""
from __future__ import annotations

from typing import Callable

from autograder.batch.export import Submission
from autograder.batch.outcome import Outcome, not_graded
from autograder.batch.schedule import BatchOptions, Runner

RETRIES = 2  # a task is tried on up to three workers before its row says why it failed


def _grade_on_node(options: BatchOptions, wall_seconds: float, sub: Submission, part_ids: list[str], fp: str, sub_hash: str) -> Outcome:
    """Runs on a Dask worker: one grading, exactly as a local job does it."""
    return Runner(options, wall_seconds).grade(sub, part_ids, fp, sub_hash)


def grade_all_on_cluster(
    address: str,
    runner: Runner,
    todo: list[tuple[Submission, str]],
    part_ids: list[str],
    fp: str,
    on_done: Callable[[Submission, Outcome], None],
    log: Callable[[str], None],
) -> bool:
    """Grade every (submission, hash) pair on the cluster at ``address``; True when Ctrl-C stopped the run."""
    from distributed import Client, as_completed

    with Client(address, timeout=60) as client:
        workers = len(client.scheduler_info().get("workers", {}))
        log(f"Dask cluster {address}: {workers} worker(s).")
        futures = {}
        for sub, sub_hash in todo:
            future = client.submit(_grade_on_node, runner.options, runner.wall_seconds, sub, part_ids, fp, sub_hash, key=f"grade-{fp[:12]}-{sub.name}-{sub_hash[:12]}", retries=RETRIES, pure=False)
            futures[future] = sub
        try:
            for future in as_completed(futures):
                sub = futures[future]
                try:
                    outcome = future.result()
                except Exception as exc:  # the task failed on every worker it was given to
                    outcome = not_graded(sub, part_ids, f"error: on the cluster: {type(exc).__name__}: {exc}")
                on_done(sub, outcome)
        except KeyboardInterrupt:
            client.cancel(list(futures))
            log("\nInterrupted: the cluster's gradings were cancelled. Run the same command again to resume; finished submissions are kept.")
            return True
    return False
