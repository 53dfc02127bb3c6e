"""What containment is measured with: the sandbox uids, the process table, digests of the
grader's own files, files the sandbox uid left behind, and loopback listeners."""
from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import signal
import socket
import threading
from typing import Iterable

from autograder import assignment
from autograder.config import DEFAULT_SANDBOX_USER, PROJECT_ROOT, SANDBOX_UID_POOL, WORLD_WRITABLE
from autograder.walk import remove_tree


class SandboxUids:
    """The uids a worker can run under: the sandbox user's and the private pool."""

    def __init__(self, named: int) -> None:
        self.named = named

    def __contains__(self, uid: object) -> bool:
        return uid == self.named or uid in SANDBOX_UID_POOL


def sandbox_uid() -> SandboxUids | None:
    if os.geteuid() != 0:
        return None
    try:
        return SandboxUids(pwd.getpwnam(DEFAULT_SANDBOX_USER).pw_uid)
    except KeyError:
        return None


def _proc_table() -> dict[int, tuple[int, int, str]]:
    """pid -> (ppid, real uid, command line) for every visible process."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            uid = None
            with open(f"/proc/{entry}/status") as handle:
                for line in handle:
                    if line.startswith("Uid:"):
                        uid = int(line.split()[1])
                        break
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    cmd = handle.read(300).replace(b"\0", b" ").decode("utf-8", "replace").strip()
            except OSError:
                cmd = ""
            table[int(entry)] = (int(fields[1]), uid if uid is not None else -1, cmd)
        except (OSError, IndexError, ValueError):
            pass
    return table


def descendants(root: int, table: dict[int, tuple[int, int, str]] | None = None) -> list[int]:
    table = table if table is not None else _proc_table()
    found, frontier = [], [root]
    while frontier:
        current = frontier.pop()
        for pid, (ppid, _, _) in table.items():
            if ppid == current and pid not in found:
                found.append(pid)
                frontier.append(pid)
    return found


def _boot_ticks() -> int:
    """Now, in the clock ticks since boot that /proc/<pid>/stat uses for a process's start time."""
    with open("/proc/uptime") as handle:
        return int(float(handle.read().split()[0]) * os.sysconf("SC_CLK_TCK"))


def _start_ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return int(handle.read().rsplit(b")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return -1


def case_processes(marker: str, uid: int | None, since_ticks: int) -> list[tuple[int, str]]:
    """Processes of one case still alive: any whose command line names the case's folder (the
    grader's children inherit it), and any sandbox-uid orphan (parent init, or this process)
    started during the case. A process that escaped its grader's subreaper ends up an orphan;
    sandbox-uid processes with a living parent belong to other graders or test runs on this
    machine and are left alone."""
    table = _proc_table()
    me = os.getpid()
    found = []
    for pid, (ppid, u, cmd) in table.items():
        if pid == me:
            continue
        if marker in cmd:
            found.append((pid, cmd))
            continue
        if uid is None or u not in uid or _start_ticks(pid) < since_ticks - 1:
            continue
        if ppid in (0, 1, me):
            found.append((pid, cmd))
    return found


def sandbox_processes(uid: int | None) -> list[tuple[int, str]]:
    if uid is None:
        return []
    return [(pid, cmd) for pid, (_, u, cmd) in _proc_table().items() if u in uid]


def _kill_pids(pids: Iterable[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _state_paths() -> tuple[list[Path], list[Path]]:
    """(folders, files) whose content an honest grading relies on: the assignment's reference,
    data and template; its rubric and the engine's messages."""
    task = assignment.current()
    return [task.reference, *task.data, task.template], [task.rubric, PROJECT_ROOT / "autograder" / "messages.toml"]


def grader_state() -> dict[str, str]:
    """sha256 of the files an honest grading relies on: the reference, the rubric, the messages,
    the data and the template; plus every file of the project owned by the sandbox uid.

    The grader's own code is not hashed: other engineers edit it while the proof runs, and a
    submission (running as the sandbox uid) could only change it by owning it, which the
    ownership scan catches.
    """
    digests = {}
    trees, paths = _state_paths()
    for root in trees:
        if root.exists():
            paths += sorted(p for p in root.rglob("*") if "__pycache__" not in p.parts and p.is_file())
    for path in paths:
        try:
            digests[os.path.relpath(path, PROJECT_ROOT)] = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as exc:
            digests[os.path.relpath(path, PROJECT_ROOT)] = f"unreadable: {exc}"
    uid = sandbox_uid()
    if uid is not None:
        for folder, dirs, names in os.walk(PROJECT_ROOT):
            for name in dirs + names:
                full = os.path.join(folder, name)
                try:
                    if os.lstat(full).st_uid in uid:
                        digests[f"owned by the sandbox uid: {os.path.relpath(full, PROJECT_ROOT)}"] = "sandbox"
                except OSError:
                    pass
    return digests


def state_changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    changed = [k for k in before if after.get(k) != before[k]]
    added = [k for k in after if k not in before]
    return [f"changed {k}" for k in changed] + [f"added {k}" for k in added]


class LoopbackListener:
    """TCP and UDP listeners on 127.0.0.1 that record every connection or datagram (attack targets)."""

    def __init__(self) -> None:
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen(16)
        self.tcp.settimeout(0.2)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.settimeout(0.2)
        self.events: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._accept, daemon=True), threading.Thread(target=self._recv, daemon=True)]
        for t in self._threads:
            t.start()

    @property
    def tcp_port(self) -> int:
        return self.tcp.getsockname()[1]

    @property
    def udp_port(self) -> int:
        return self.udp.getsockname()[1]

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, addr = self.tcp.accept()
            except (socket.timeout, OSError):
                continue
            conn.settimeout(0.5)
            try:
                data = conn.recv(200)
            except OSError:
                data = b""
            self.events.append(f"tcp connection from {addr}: {data[:60]!r}")
            conn.close()

    def _recv(self) -> None:
        while not self._stop.is_set():
            try:
                data, addr = self.udp.recvfrom(2048)
            except (socket.timeout, OSError):
                continue
            self.events.append(f"udp datagram from {addr}: {data[:60]!r}")

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=2)
        self.tcp.close()
        self.udp.close()


_WORLD_WRITABLE: list[str] = []


def world_writable() -> list[str]:
    """Every world-writable folder of this host (found once per process: a walk takes seconds)."""
    if not _WORLD_WRITABLE:
        from autograder.sandbox.leftovers import world_writable_folders

        _WORLD_WRITABLE.extend(sorted(set(WORLD_WRITABLE) | set(world_writable_folders())))
    return _WORLD_WRITABLE


def _files_of_uid(uid: int | None, since: float, roots: Iterable[str] | None = None) -> list[str]:
    """Entries the sandbox uid created in the host's world-writable folders during a case.

    Only the top level is scanned: below it, only the uid's own folders are writable
    (its per-check scratch folders live in the grader's work folder and are removed by it)."""
    if uid is None:
        return []
    found = []
    for root in world_writable() if roots is None else roots:
        try:
            names = os.listdir(root)
        except OSError:
            continue
        for name in names:
            full = os.path.join(root, name)
            try:
                info = os.lstat(full)
            except OSError:
                continue
            if info.st_uid in uid and info.st_mtime >= since - 1:
                found.append(full)
    return found


def _remove_paths(paths: Iterable[str]) -> None:
    for path in sorted(paths, key=len, reverse=True):
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                remove_tree(path)  # iterative: a deep chain a worker left is removed too
            else:
                os.unlink(path)
        except OSError:
            pass


def ipc_of_uids(uids) -> list[str]:
    """SysV shared memory, message queues and semaphores owned by a sandbox uid, anywhere."""
    if uids is None:
        return []
    from autograder.sandbox.leftovers import sysv_objects

    return [f"{kind} id {ident} key {key} of uid {owner}" for kind, ident, key, owner in sysv_objects() if owner in uids]


def plant_solutions(token: str) -> str:
    """World-readable copies of the solutions where careless hosts leave them: a clone in /tmp,
    a build zip, an instructor's readable home, and another grader's staged submission as
    an older layout left it (0711 folder, 0755 submission). Returns the clone's folder."""
    import zipfile

    from autograder.verify.catalogue import REFERENCE

    clone = f"/tmp/autograder-plant-{token}"
    home = f"/home/autograder-plant-{token}"
    staged = f"/tmp/autograder-grade-plant{token}"
    for folder in (clone, home):
        os.makedirs(os.path.join(folder, "reference"), mode=0o755, exist_ok=True)
        os.chmod(folder, 0o755)
        os.chmod(os.path.join(folder, "reference"), 0o755)
        with zipfile.ZipFile(os.path.join(folder, "autograder.zip"), "w") as archive:
            for name in sorted(os.listdir(REFERENCE)):
                if name.endswith(".py"):
                    shutil.copy(os.path.join(REFERENCE, name), os.path.join(folder, "reference", name))
                    os.chmod(os.path.join(folder, "reference", name), 0o644)
                    archive.write(os.path.join(REFERENCE, name), "reference/" + name)
        os.chmod(os.path.join(folder, "autograder.zip"), 0o644)
    os.makedirs(os.path.join(staged, "submission"), exist_ok=True)
    os.chmod(staged, 0o711)
    os.chmod(os.path.join(staged, "submission"), 0o755)
    path = os.path.join(staged, "submission", assignment.current().module_names[0] + ".py")
    with open(path, "w") as handle:
        handle.write(f"# CLASSMATE_SECRET_{token}: another student's code\n")
    os.chmod(path, 0o644)
    return clone


def planted_folders(token: str) -> list[str]:
    return [f"/tmp/autograder-plant-{token}", f"/home/autograder-plant-{token}", f"/tmp/autograder-grade-plant{token}"]
