"""The reference's deterministic work, computed once per install instead of once per grading.

Some expectations do not depend on the submission at all: the reference's own accuracy after
a fixed training run, on fixed data, from a fixed seed. ``remembered`` keeps such a value in
the assignment's ``.cache/`` folder (hidden from workers with the rest of the assignment), keyed
by everything it is computed from: the name and inputs the check gives, every Python file of
the assignment (checks, probes, datasets) and of the reference, the assignment's data files,
the secret key and the pinned libraries (requirements.lock). Any change makes a new key, so a stale value is never read. The first
grading on an install (on Gradescope: setup.sh's canary, while the image is built) pays for it.

Values are JSON (numbers, strings, lists, dicts): nothing is unpickled. A cache that cannot
be read or written costs only the time saved.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

ENV_OFF = "AUTOGRADER_NO_MEMO"  # set to 1: always compute (the bench measures both)
_MODULE_CACHES: list[Callable[[], None]] = []


def for_one_module(function: Callable) -> Callable:
    """``function`` cached while the grading stays on the checks of one student module.

    For data only one module's checks use (a dataset loaded for them): the runner frees it when
    the grading moves on (``release_module_caches``), so it does not add to the memory of the
    checks that follow.
    """
    cached = lru_cache(maxsize=None)(function)
    _MODULE_CACHES.append(cached.cache_clear)
    return cached


def release_module_caches() -> None:
    """Forget every ``for_one_module`` value and give the freed memory back (the runner, between two modules' checks)."""
    from autograder import memory

    for clear in _MODULE_CACHES:
        clear()
    memory.trim()


def remembered(name: str, inputs: Any, compute: Callable[[], Any]) -> Any:
    """``compute()``, or the value it returned before for the same ``name``, ``inputs`` and sources."""
    if os.environ.get(ENV_OFF) == "1":
        return compute()
    path = _folder() / f"{_key(name, inputs, compute)}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))["value"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    value = compute()
    _store(path, name, value)
    return value


def _folder() -> Path:
    from autograder import assignment

    return assignment.current().folder / ".cache"


def _key(name: str, inputs: Any, compute: Callable[[], Any]) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([name, inputs], sort_keys=True, default=str).encode())
    digest.update(_sources_digest())
    return digest.hexdigest()[:40]


@lru_cache(maxsize=None)
def _sources_digest() -> bytes:
    """What a remembered value may depend on besides its inputs, hashed once per process."""
    from importlib import metadata

    from autograder import assignment
    from autograder.config import PROJECT_ROOT
    from autograder.secrets import SECRET_FILE

    task = assignment.current()
    digest = hashlib.sha256()
    # requirements.lock pins every library: the numbers may change with any of them
    own = sorted(p for p in task.folder.rglob("*.py") if task.catalogue not in p.parents and "__pycache__" not in p.parts)
    files = [*own, *sorted(task.reference.glob("*.py")), SECRET_FILE, PROJECT_ROOT / "requirements.lock"]
    for folder in task.data:
        files += sorted(p for p in folder.rglob("*") if p.is_file())
    for path in files:
        digest.update(str(path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path).encode())
        try:
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        except OSError:
            digest.update(b"missing")
    for library in task.versions:
        try:
            digest.update(f"{library}={metadata.version(library)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{library}=none".encode())
    return digest.digest()


def _store(path: Path, name: str, value: Any) -> None:
    def finite(v: Any) -> bool:
        if isinstance(v, float):
            return math.isfinite(v)
        if isinstance(v, (list, tuple)):
            return all(finite(x) for x in v)
        if isinstance(v, dict):
            return all(finite(x) for x in v.values())
        return isinstance(v, (int, str, bool, type(None)))

    if not finite(value):
        return  # only plain, finite JSON is kept
    try:
        path.parent.mkdir(mode=0o700, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".memo-", suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump({"name": name, "value": value}, out)
        os.replace(temp, path)
    except OSError:
        pass
