"""What the workers' interpreter may read and import: its clean ``sys.path``, the folders it is
meant to read, and which of them the sandbox user really can (asked of the kernel)."""
from __future__ import annotations

import os


def unreadable_for(uid: int, gid: int, paths: list[str]) -> list[str]:
    """The paths (folders: not listable; files: not readable) that ``uid`` cannot use.

    Found by a short-lived child that drops to that uid, so the answer is the kernel's,
    not a guess from permission bits. Paths that do not exist are skipped.
    """
    paths = [p for p in paths if os.path.exists(p)]
    if not paths:
        return []
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_fd)
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            bad = []
            for path in paths:
                try:
                    if os.path.isdir(path):
                        os.listdir(path)
                    else:
                        with open(path, "rb"):
                            pass
                except OSError:
                    bad.append(path)
            os.write(write_fd, "\0".join(bad).encode()[:60000])
        finally:
            os._exit(0)
    os.close(write_fd)
    chunks = []
    while True:
        chunk = os.read(read_fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read_fd)
    os.waitpid(pid, 0)
    answer = b"".join(chunks).decode()
    return [p for p in answer.split("\0") if p]


def grader_roots() -> list[str]:
    """Folders whose files the worker is meant to read: the standard library and the venv,
    by their real paths and by the paths this process reached them through.

    The project itself is hidden from the worker on purpose and is not among them, nor are
    the files hidden on purpose (``installcheck.DELIBERATELY_HIDDEN``): a submission that
    tries to read those is refused, and that is no fault of the grader's.
    """
    import sys
    import sysconfig

    paths = sysconfig.get_paths()
    named = [p for p in (sys.prefix, paths["stdlib"], paths["platstdlib"]) if p]
    return sorted({os.path.normpath(p) for p in named} | {os.path.realpath(p) for p in named})


def module_origin(name: str) -> str | None:
    """Where the trusted side finds a top-level module, without importing anything."""
    import importlib.machinery
    import sys

    top = name.split(".")[0]
    if not top.isidentifier():
        return None
    spec = importlib.machinery.PathFinder.find_spec(top, sys.path)
    if spec is None or not spec.origin or spec.origin in ("built-in", "frozen"):
        return None
    return spec.origin


def clean_sys_path() -> list[str]:
    """stdlib and site-packages only, with links resolved: no working folder, no project folder.

    Resolving matters when the venv is reached through a link inside a folder the
    sandbox user cannot traverse (a checkout under /root pointing at a venv under /opt).
    """
    import sys
    import sysconfig

    paths = sysconfig.get_paths()
    allowed = {os.path.realpath(p) for p in (paths.get("stdlib"), paths.get("platstdlib"), paths.get("purelib"), paths.get("platlib")) if p}
    keep = []
    for entry in sys.path:
        real = os.path.realpath(entry) if entry else ""
        if real in allowed or real.endswith(".zip") or "lib-dynload" in real or real.endswith("site-packages"):
            if real not in keep:
                keep.append(real)
    return keep
