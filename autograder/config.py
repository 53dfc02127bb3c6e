"""Typed configuration of one grading run."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SANDBOX_USER = "grader-sandbox"
# Each grader (as root) runs its workers under a uid of its own from this pool, locked for
# its lifetime: a submission's kill(-1), leftovers and files then touch only its own grader.
# The uids have no account; the group is the sandbox user's. Far above any real account.
SANDBOX_UID_POOL = range(1_930_000_000, 1_930_000_000 + 4096)
SANDBOX_UID_LOCKS = "/run/grader-sandbox-uids"
# ``python -m autograder @-``: the arguments arrive as a JSON list on standard input (batch uses it).
ARGUMENTS_ON_STDIN = "@-"
# Where any uid can create files: a private uid's leftovers are removed from here after each check.
WORLD_WRITABLE = ("/tmp", "/dev/shm", "/var/tmp")


@dataclass(frozen=True)
class GradeConfig:
    """Everything ``grade`` needs to know; built by the CLI or by tests."""

    submission: Path
    results: Path = Path("results.json")
    only: tuple[str, ...] = ()
    in_process: bool = False
    deadline_seconds: float | None = None  # None: the rubric's [grader] deadline
    sandbox_user: str | None = DEFAULT_SANDBOX_USER
    # kill(-1) as the sandbox uid after each check even when no private uid could be claimed
    # (the shared sandbox user's uid): only where this grader is its sole user (Gradescope).
    # With a private uid (the normal case as root) the whole uid is always killed.
    kill_whole_uid: bool = False
    rubric_path: Path | None = None
    work_dir: Path | None = None
    calibrated: bool = True  # timeouts from the reference's measured time (autograder/calibration.py); off to measure it
    hidden_paths: tuple[str, ...] = field(default_factory=tuple)

    def secret_paths(self) -> list[str]:
        """Folders the worker must not see when the kernel lets us hide them."""
        from autograder import assignment

        task = assignment.current()
        root = os.environ.get("AUTOGRADER_ROOT", "/autograder")
        paths = [
            PROJECT_ROOT,  # everything, .git included, unless the venv or the scratch folder lives inside it
            PROJECT_ROOT / ".git",
            PROJECT_ROOT / "autograder",
            PROJECT_ROOT / "tests",
            PROJECT_ROOT / "bench",
            task.folder,
            task.reference,
            *task.data,  # e.g. labels of held-out data
            Path(root) / "source",
            Path(root) / "results",
            self.results.resolve().parent,
            *map(Path, self.hidden_paths),
        ]
        return [str(p) for p in paths]
