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
import struct

# The one handle on libc for the sandbox modules (view, landlock, leftovers use it too).
libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
PR_SET_CHILD_SUBREAPER = 36
SECCOMP_MODE_FILTER = 2
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

# Syscall numbers per architecture: (audit arch, socket, memfd_create, ptrace,
# process_vm_readv, process_vm_writev, io_uring_setup, unshare, setns, mq_open).
_ARCH = {
    "x86_64": (0xC000003E, 41, 319, 101, 310, 311, 425, 272, 308, 240),
    "aarch64": (0xC00000B7, 198, 279, 117, 270, 271, 425, 97, 268, 180),
}


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


def install_seccomp() -> str:
    """Deny Internet sockets, memfd, ptrace, POSIX message queues and namespace escapes; harmless syscalls are untouched."""
    arch = _ARCH.get(platform.machine())
    if arch is None:
        return f"seccomp unavailable on {platform.machine()}"
    audit_arch, nr_socket, nr_memfd, nr_ptrace, nr_vmr, nr_vmw, nr_uring, nr_unshare, nr_setns, nr_mq_open = arch
    ld_abs, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    allow = 0x7FFF0000
    deny = 0x00050000 | errno.EACCES
    kill = 0x80000000
    # POSIX message queues outlive a worker that has no IPC namespace and cannot be listed
    # without mounting their filesystem: no honest homework uses them.
    denied_calls = [nr_memfd, nr_ptrace, nr_vmr, nr_vmw, nr_uring, nr_unshare, nr_setns, nr_mq_open]
    prog: list[tuple[int, int, int, int]] = [
        (ld_abs, 0, 0, 4),                   # A = arch
        (jeq, 1, 0, audit_arch),
        (ret, 0, 0, kill),                   # foreign ABI: never used by honest code
        (ld_abs, 0, 0, 0),                   # A = syscall number
    ]
    if audit_arch == 0xC000003E:
        prog += [(jge, 0, 1, 0x40000000), (ret, 0, 0, kill)]  # x32 ABI
    for nr in denied_calls:
        prog += [(jeq, 0, 1, nr), (ret, 0, 0, deny)]
    prog += [
        (jeq, 1, 0, nr_socket),
        (ret, 0, 0, allow),
        (ld_abs, 0, 0, 16),                  # A = low word of args[0] (the address family)
        (jeq, 0, 1, 1),                      # AF_UNIX stays allowed (local pipes and socketpairs)
        (ret, 0, 0, allow),
        (ret, 0, 0, deny),
    ]
    raw = b"".join(struct.pack("=HBBI", *ins) for ins in prog)
    buffer = ctypes.create_string_buffer(raw, len(raw))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = SockFprog(len(prog), ctypes.cast(buffer, ctypes.c_void_p))
    try:
        prctl(PR_SET_NO_NEW_PRIVS, 1)
    except OSError as exc:
        return f"seccomp refused ({exc})"
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        return f"seccomp refused ({os.strerror(ctypes.get_errno())})"
    return "seccomp"
