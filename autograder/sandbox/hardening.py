"""Operating-system confinement applied to a freshly forked worker, before it loads student code.

Every measure is best effort: each one that applies is recorded in a report, and
each one the platform refuses is recorded with the reason, so the grade file can
say plainly what was and was not enforced.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import platform
import resource
import signal
import socket
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyseccomp import SyscallFilter

# The one handle on libc for the sandbox modules (view, landlock, leftovers use it too).
libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _load_libseccomp() -> tuple[ModuleType | None, str]:
    """pyseccomp, which loads the system's libseccomp.so.2, or None and why not.

    Imported with this module, in the supervisor before any worker is forked: a worker
    installs its filter after its filesystem view and Landlock are in place, when it may
    no longer be able to open the library.
    """
    try:
        import pyseccomp
    except (ImportError, OSError, RuntimeError) as exc:  # RuntimeError: pyseccomp found no libseccomp
        return None, f"{type(exc).__name__}: {exc}"
    return pyseccomp, ""


_seccomp, _SECCOMP_MISSING = _load_libseccomp()

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36
CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
CLONE_NEWIPC = 0x08000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18

# Calls no honest homework makes, denied with EACCES: memory files, tracing and reading or
# writing other processes' memory, io_uring (which bypasses per-call filtering), leaving
# or entering namespaces, and POSIX message queues (they outlive a worker that has no IPC
# namespace and cannot be listed without mounting their filesystem).
DENIED_SYSCALLS = ("memfd_create", "ptrace", "process_vm_readv", "process_vm_writev", "io_uring_setup", "unshare", "setns", "mq_open")
# The machines the rules were checked on; elsewhere the layer is recorded as unavailable.
SECCOMP_MACHINES = ("x86_64", "aarch64")


def prctl(option: int, arg2: int = 0) -> None:
    if libc.prctl(option, ctypes.c_ulong(arg2), 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def make_undumpable() -> None:
    """Hide this process's memory and /proc files from same-uid processes (the worker)."""
    try:
        prctl(PR_SET_DUMPABLE, 0)
    except OSError:
        pass


def become_subreaper() -> bool:
    """Adopt orphaned descendants, so that a double-forked daemon can still be found and killed."""
    try:
        prctl(PR_SET_CHILD_SUBREAPER, 1)
        return True
    except OSError:
        return False


def set_limits(cpu_seconds: int, memory_bytes: int, file_bytes: int, open_files: int, processes: int | None) -> list[str]:
    """Apply resource limits; memory is a budget on top of the address space already mapped."""
    applied = []
    vm_size = _current_vm_size()

    def limit(name: str, res: int, value: int) -> None:
        try:
            resource.setrlimit(res, (value, value))
            applied.append(name)
        except (ValueError, OSError) as exc:
            applied.append(f"{name} refused ({exc})")

    try:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 2))
        applied.append("cpu")
    except (ValueError, OSError) as exc:
        applied.append(f"cpu refused ({exc})")
    limit("core", resource.RLIMIT_CORE, 0)
    limit("file-size", resource.RLIMIT_FSIZE, file_bytes)
    limit("open-files", resource.RLIMIT_NOFILE, open_files)
    if vm_size is not None:
        limit("address-space", resource.RLIMIT_AS, vm_size + memory_bytes)
    if processes is not None:
        limit("processes", resource.RLIMIT_NPROC, processes)
    # Writing past the file-size cap raises OSError in Python instead of killing the worker silently.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    return applied


def _current_vm_size() -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def unshare_namespaces() -> list[str]:
    """As root: private network (no interfaces), IPC (no shared SysV or POSIX objects) and
    mount namespaces, each recorded as applied or refused."""
    notes = []
    for flag, name in ((CLONE_NEWNET, "network-namespace"), (CLONE_NEWIPC, "ipc-namespace"), (CLONE_NEWNS, "mount-namespace")):
        if libc.unshare(flag) == 0:
            notes.append(name)
        else:
            notes.append(f"{name} refused ({os.strerror(ctypes.get_errno())})")
    if "mount-namespace" in notes and libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        notes[-1] = f"mount-namespace refused ({os.strerror(ctypes.get_errno())})"
    return notes


def namespaces_work() -> bool:
    """Whether a child of this process may unshare IPC and mount namespaces (then nothing a
    worker writes or creates outside its scratch folder outlives it). Tried in a throwaway child."""
    pid = os.fork()
    if pid == 0:
        ok = unshare_namespaces()
        os._exit(0 if all(n in ok for n in ("ipc-namespace", "mount-namespace")) else 1)
    _, status = os.waitpid(pid, 0)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def hide_paths(hidden_paths: list[str]) -> str:
    """The fallback view: an empty read-only tmpfs over each of the grader's secret folders."""
    hidden = 0
    for path in hidden_paths:
        if not os.path.isdir(path):
            continue
        rc = libc.mount(b"tmpfs", path.encode(), b"tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, b"size=4k,mode=0")
        if rc == 0:
            hidden += 1
    return f"hidden-paths:{hidden}"


def no_new_privileges() -> None:
    """Required by seccomp and Landlock without privilege; no exec can gain privileges after it."""
    try:
        prctl(PR_SET_NO_NEW_PRIVS, 1)
    except OSError:
        pass


def drop_privileges(uid: int, gid: int) -> None:
    """Switch for good to the sandbox user, with no supplementary groups."""
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    if os.getuid() != uid or os.geteuid() != uid:
        raise OSError(errno.EPERM, "could not drop privileges")


def die_with_parent() -> None:
    try:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


def oom_first() -> bool:
    """Make this process the kernel's first choice when the machine or container runs out of
    memory: a student's allocation then kills their own worker (that check fails, saying so),
    never the grader that holds every other check's result. Raising the score needs no privilege."""
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("1000")
        return True
    except OSError:
        return False


def install_seccomp() -> str:
    """Deny Internet sockets, memfd, ptrace, POSIX message queues and namespace escapes; harmless syscalls are untouched.

    Returns the layer's note: "seccomp", or why it is not in force (the worker runs on).
    """
    if platform.machine() not in SECCOMP_MACHINES:
        return f"seccomp unavailable on {platform.machine()}"
    if _seccomp is None:
        return f"seccomp unavailable (libseccomp: {_SECCOMP_MISSING})"
    try:
        seccomp_filter().load()  # sets no_new_privs first (libseccomp's default)
    except OSError as exc:
        return f"seccomp refused ({exc.strerror or exc})"
    return "seccomp"


def seccomp_filter() -> SyscallFilter:
    """The worker's filter, for the native architecture, built but not loaded.

    Everything not named here is allowed. A foreign ABI (a 32-bit call on a 64-bit
    kernel, x32 on x86_64) kills the process: honest code never uses one, and the rules
    below would not apply to its numbers.
    """
    lib = _seccomp
    if lib is None:
        raise OSError(errno.ENOSYS, f"libseccomp unavailable ({_SECCOMP_MISSING})")
    deny = lib.ERRNO(errno.EACCES)
    rules = lib.SyscallFilter(lib.ALLOW)
    rules.set_attr(lib.Attr.ACT_BADARCH, lib.KILL_PROCESS)
    try:
        rules.set_attr(lib.Attr.API_SYSRAWRC, 1)  # the kernel's own errno on a refused load (libseccomp >= 2.5)
    except OSError:
        pass
    for name in DENIED_SYSCALLS:
        rules.add_rule(deny, name)
    # Sockets: AF_UNIX only (local pipes and socketpairs); every other family is refused.
    # libseccomp compares all 64 bits of the family; the kernel reads the low 32 (an int), and
    # libc never sets the high ones, so only a hand-made call with a high word is also refused.
    rules.add_rule(deny, "socket", lib.Arg(0, lib.NE, socket.AF_UNIX))
    return rules
