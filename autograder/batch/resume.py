"""Resuming: which submissions an earlier run already graded with the same rubric and grader
(fingerprint) and the same files (submission hash), so a rerun reuses them instead of regrading.

A submission is reused when its results.json finished and its batch.json has the current
fingerprint and the same submission hash; anything else is graded (again)."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from autograder import __version__
from autograder.batch.export import Submission
from autograder.batch.outcome import Outcome, finished, not_graded, read_outcome
from autograder.walk import walk

STATE = "batch.json"
HASH_MAX_DEPTH = 64
HASH_MAX_ENTRIES = 100_000


def fingerprint(rubric_path: Path, only: tuple[str, ...], deadline: float | None = None) -> str:
    """What must match for a finished result to be reused: rubric bytes, grader version, --only, --deadline."""
    digest = hashlib.sha256()
    digest.update(Path(rubric_path).read_bytes())
    digest.update(f"\0grader {__version__}\0only {','.join(only)}\0deadline {deadline or ''}".encode())
    return digest.hexdigest()[:16]


def submission_hash(path: Path) -> str:
    """A short digest of a submission's zip or folder (names, sizes, contents), to notice a changed one."""
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


def plan(subs: list[Submission], out: Path, fp: str, part_ids: list[str], force: bool) -> tuple[dict[str, Outcome], list[tuple[Submission, str]]]:
    """The outcomes known without grading (reused results, missing folders) and the
    (submission, submission hash) pairs left to grade."""
    outcomes: dict[str, Outcome] = {}
    todo: list[tuple[Submission, str]] = []
    for sub in subs:
        if sub.path is None:
            outcomes[sub.name] = not_graded(sub, part_ids, "error: listed in the metadata but no submission folder was exported")
            continue
        sub_hash = submission_hash(sub.path)
        state = read_json(out / sub.name / STATE)
        results = out / sub.name / "results.json"
        if not force and state and state.get("fingerprint") == fp and state.get("submission_hash") == sub_hash and finished(results):
            o = read_outcome(sub, results, part_ids)
            o.seconds = float(state.get("seconds", 0.0))
            o.reused = True
            outcomes[sub.name] = o
            continue
        todo.append((sub, sub_hash))
    return outcomes, todo


def read_json(path: Path) -> dict | None:
    """A batch.json's contents, or None when it is missing, unreadable or not an object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_json(path: Path, payload: dict) -> None:
    """Write a batch.json atomically, so an interrupted run never leaves half a record."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
