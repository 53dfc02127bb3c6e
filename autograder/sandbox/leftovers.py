"""What a worker could leave on the host for a later worker: found and removed after each check.

Where the worker has its own IPC and mount namespaces nothing it makes outlives it. Elsewhere
(a container that refuses namespaces) its private uid's SysV objects and its files in every
world-writable folder are removed here. The folders are found by walking the host once per
supervisor, never listed by hand.
"""
from __future__ import annotations

import os
import stat
from collections.abc import Iterator

from autograder.sandbox.hardening import libc
from autograder.walk import remove_tree
IPC_RMID = 0
# Filesystems where nothing a worker writes survives it, or nothing is writable at all.
PSEUDO_FILESYSTEMS = {"proc", "sysfs", "cgroup", "cgroup2", "devpts", "securityfs", "debugfs", "tracefs", "pstore", "bpf", "configfs", "fusectl", "binfmt_misc", "autofs", "hugetlbfs", "efivarfs", "nsfs"}
WALK_LIMIT = 300_000


def world_writable_folders(top: str = "/", limit: int = WALK_LIMIT) -> list[str]:
    """Every folder any uid may create files in, on every writable, real filesystem (iterative)."""
    skip = _skipped_mounts()
    found: list[str] = []
    stack = [top]
    seen = 0
    while stack and seen < limit:
        folder = stack.pop()
        seen += 1
        try:
            entries = os.scandir(folder)
        except OSError:
            continue
        with entries:
            for entry in entries:
                try:
                    if not entry.is_dir(follow_symlinks=False):
                        continue
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if entry.path in skip:
                    continue
                if info.st_mode & stat.S_IWOTH:
                    found.append(entry.path)
                stack.append(entry.path)
    return sorted(found)


def _skipped_mounts() -> set[str]:
    """Mount points to skip (pseudo filesystems, read-only mounts: nothing can be written there)."""
    skip: set[str] = set()
    try:
        with open("/proc/self/mountinfo") as handle:
            for line in handle:
                fields = line.split()
                if " - " not in line or len(fields) < 6:
                    continue
                point = fields[4].replace("\\040", " ")
                fstype = line.split(" - ", 1)[1].split()[0]
                if fstype in PSEUDO_FILESYSTEMS or "ro" in fields[5].split(","):
                    skip.add(point)
    except OSError:
        pass
    skip.discard("/")
    return skip


def remove_ipc_of_uid(uid: int) -> int:
    """Remove every SysV shared-memory segment, message queue and semaphore set owned by ``uid``."""
    remove = {"shm": lambda i: libc.shmctl(i, IPC_RMID, None), "msg": lambda i: libc.msgctl(i, IPC_RMID, None), "sem": lambda i: libc.semctl(i, 0, IPC_RMID)}
    return sum(1 for kind, ident, _key, owner in sysv_objects() if owner == uid and remove[kind](ident) == 0)


def sysv_objects() -> Iterator[tuple[str, int, int, int]]:
    """(kind, id, key, owner uid) of every SysV IPC object in this IPC namespace, from /proc/sysvipc."""
    for kind in ("shm", "msg", "sem"):
        try:
            with open(f"/proc/sysvipc/{kind}") as handle:
                header = handle.readline().split()
                rows = [line.split() for line in handle]
        except OSError:
            continue
        if "uid" not in header:
            continue
        uid_col = header.index("uid")
        for row in rows:
            try:
                yield kind, int(row[1]), int(row[0]), int(row[uid_col])
            except (IndexError, ValueError):
                continue


def remove_entries_of_uid(uid: int, folders: list[str]) -> None:
    """Delete what ``uid`` made directly in ``folders`` (it can make nothing elsewhere)."""
    for root in folders:
        try:
            entries = list(os.scandir(root))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid != uid:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    remove_tree(entry.path)
                else:
                    os.unlink(entry.path)
            except OSError:
                pass
