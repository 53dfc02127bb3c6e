"""Seeds the worker can never learn: the held-out data of checks that evaluate what a submission learned.

A seed written in the grader's source is public the day the source is (a course repository
sooner or later), so a submission could regenerate "held-out" data from it. These seeds come
from a key that exists only where the grader is installed: ``AUTOGRADER_SECRET`` if set, else the
file ``autograder-secret.key`` in the project (created 0600 on first use, left out of git, and
shipped inside the Gradescope zip by ``build``, which is private anyway: it holds the reference). The same key gives the same seeds, so two gradings of
one submission agree; the worker can read neither the file nor the grader's memory.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets as _random

from autograder.config import PROJECT_ROOT

SECRET_FILE = PROJECT_ROOT / "autograder-secret.key"
_KEY: bytes | None = None


def _key() -> bytes:
    global _KEY
    if _KEY is None:
        text = os.environ.get("AUTOGRADER_SECRET")
        if not text:
            text = ensure_key_file()
        _KEY = text.encode("ascii")
    return _KEY


def ensure_key_file() -> str:
    """The key in ``SECRET_FILE``, written there first (0600, a random 256-bit key) if there is none."""
    try:
        fd = os.open(SECRET_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return SECRET_FILE.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(_random.token_hex(32) + "\n")
    return SECRET_FILE.read_text(encoding="ascii").strip()


def secret_seed(name: str) -> int:
    """A 32-bit seed for ``name`` (a check id and a purpose), known only to the trusted side."""
    digest = hmac.new(_key(), name.encode("utf-8"), hashlib.sha256).digest()
    return int.from_bytes(digest[:4], "little")
