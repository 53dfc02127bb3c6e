"""Landlock (Linux 5.13 and later): filesystem access limited to an allowlist, without privilege.

The worker grants itself read (and execute) beneath the interpreter's folders and its copy of
the submission, read-write beneath its scratch folder, and nothing else; from ABI 6 on it also
may not signal processes or reach abstract Unix sockets outside its own domain. It works for a
non-root grader, and inside Docker's default seccomp profile, which allows these calls.
"""
from __future__ import annotations

import ctypes
import os
import struct

from autograder.sandbox.hardening import libc
# The same numbers on every architecture (the calls are newer than the unified table).
SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH = 1

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_WRITES_V1 = sum(1 << bit for bit in range(4, 13))  # remove, make char/dir/reg/sock/fifo/block/sym
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1
READ = EXECUTE | READ_FILE | READ_DIR
FILE_ONLY = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV


def abi_version() -> int:
    """The kernel's Landlock ABI, or 0 when it has none (or seccomp refuses the call)."""
    version = libc.syscall(SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(CREATE_RULESET_VERSION))
    return max(int(version), 0)


def _handled(abi: int) -> int:
    rights = READ | WRITE_FILE | _WRITES_V1
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


def restrict(readable: list[str], writable: list[str], devices: list[str]) -> str:
    """Apply the ruleset to this process (and every child it will have). Returns a layer note.

    Needs no_new_privs set first. Paths that do not exist are skipped.
    """
    abi = abi_version()
    if abi < 1:
        return "landlock unavailable (the kernel or the container refuses it)"
    handled = _handled(abi)
    scoped = (SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL) if abi >= 6 else 0
    if abi >= 6:
        attr = struct.pack("=QQQ", handled, 0, scoped)
    else:
        attr = struct.pack("=Q", handled)
    buffer = ctypes.create_string_buffer(attr, len(attr))
    ruleset = libc.syscall(SYS_CREATE_RULESET, buffer, ctypes.c_size_t(len(attr)), ctypes.c_uint32(0))
    if ruleset < 0:
        return f"landlock refused ({os.strerror(ctypes.get_errno())})"
    try:
        for path in readable:
            _allow(ruleset, path, READ & handled)
        for path in writable:
            _allow(ruleset, path, handled)
        for path in devices:
            _allow(ruleset, path, (READ_FILE | WRITE_FILE | (IOCTL_DEV if abi >= 5 else 0)) & handled)
        if libc.syscall(SYS_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            return f"landlock refused ({os.strerror(ctypes.get_errno())})"
    finally:
        os.close(ruleset)
    return f"landlock (ABI {abi}{', signals and abstract sockets scoped' if scoped else ''})"


def _allow(ruleset: int, path: str, access: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return
    try:
        if not os.path.isdir(path):
            access &= FILE_ONLY
        rule = struct.pack("=Qi", access, fd)
        buffer = ctypes.create_string_buffer(rule, len(rule))
        if libc.syscall(SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(RULE_PATH_BENEATH), buffer, ctypes.c_uint32(0)) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"landlock rule for {path}: {os.strerror(err)}")
    finally:
        os.close(fd)
