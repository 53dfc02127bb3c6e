"""Work folders the sandbox user can traverse (its workers cannot enter a 0700 folder)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def traversable_folder(prefix: str = "autograder-verify-") -> Path:
    """A fresh work folder the sandbox user can traverse (0755 under /tmp).

    The grader's per-run folder (and its per-check scratch folders) live inside it; under a
    0700 folder (pytest's tmp_path, mkdtemp) the worker cannot enter its scratch folder and
    dies before running any student code.
    """
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(folder, 0o755)
    return folder


def _traversable(path: Path) -> bool:
    path = Path(path).resolve()
    for folder in [path, *path.parents]:
        try:
            if not os.stat(folder).st_mode & 0o001:
                return False
        except OSError:
            return False
    return True
