"""The trusted supervisor: forks one confined worker per session and cleans up after it.

It is forked from the grader at start-up, after the heavy libraries and the probe
code are imported but before the reference, the rubric or any expected value is
loaded, so every worker starts warm (no torch import) and holds no secret. It
answers the grader over a socket: open a session (passing back the worker's pipes),
close it (kill every process the worker left, report how it ended and what it printed).
"""
from __future__ import annotations

import os
import pwd
import signal
import socket
import tempfile
import time
from dataclasses import dataclass, field

from autograder import protocol
from autograder.config import SANDBOX_UID_LOCKS, SANDBOX_UID_POOL
from autograder.sandbox import hardening, leftovers
from autograder.sandbox.worker import WorkerSpec, run as run_worker
from autograder.walk import remove_tree

OUTPUT_CAP = 64 * 1024


@dataclass
class SupervisorConfig:
    base_dir: str
    submission_dir: str
    sandbox_user: str | None
    kill_whole_uid: bool
    hidden_paths: list[str]
    sys_path: list[str]
    visible: list[str] = field(default_factory=list)
    hidden_files: list[str] = field(default_factory=list)
    readable: list[str] = field(default_factory=list)


def serve(sock: socket.socket, config: SupervisorConfig) -> "NoReturn":  # noqa: F821
    """Main loop of the supervisor process; exits when the grader closes the socket."""
    hardening.become_subreaper()
    hardening.make_undumpable()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    user = _lookup(config.sandbox_user)
    private = _claim_private_uid() if user is not None else None
    if private is not None:
        # A group of its own too: then the staged submission is readable by this grader's
        # workers only, not by another grader's (which share the sandbox user's group).
        user = (private, private)
        config.kill_whole_uid = True  # nobody else runs under this uid
        _readable_only_by_group(config.submission_dir, private)
    # Only where a worker cannot have private namespaces does anything it writes reach the host.
    shared_folders = leftovers.world_writable_folders() if private is not None and not hardening.namespaces_work() else []
    sessions: dict[int, dict] = {}
    counter = 0
    fd = sock.fileno()
    code = 0
    protocol.write_frame(fd, {"ready": True, "uid": user[0] if user else None})  # start-up is not charged to the first check
    try:
        while True:
            try:
                request = protocol.read_frame(fd)
            except protocol.ChannelClosed:
                break
            op = request.get("op")
            if op == "open":
                counter += 1
                session, parent_fds = _open(config, user, counter, request)
                sessions[session["pid"]] = session
                protocol.write_frame(fd, {"ok": True, "pid": session["pid"]})
                socket.send_fds(sock, [b"F"], parent_fds)
                for pfd in parent_fds:
                    os.close(pfd)
            elif op == "close":
                session = sessions.pop(request.get("pid"), None)
                if session is None:
                    protocol.write_frame(fd, {"ok": False})
                else:
                    protocol.write_frame(fd, _close(session, user, shared_folders))
            else:
                break
    except BaseException:
        code = 1
    finally:
        for session in sessions.values():
            try:
                _close(session, user, shared_folders)
            except BaseException:
                pass
        os._exit(code)


def _claim_private_uid() -> int | None:
    """Lock a free uid of the pool for this supervisor's lifetime (the lock dies with the process)."""
    import fcntl

    try:
        os.makedirs(SANDBOX_UID_LOCKS, mode=0o700, exist_ok=True)
        info = os.stat(SANDBOX_UID_LOCKS)
        if info.st_uid != 0 or info.st_mode & 0o077:
            return None
    except OSError:
        return None
    start = os.getpid() % len(SANDBOX_UID_POOL)
    for step in range(len(SANDBOX_UID_POOL)):
        uid = SANDBOX_UID_POOL[(start + step) % len(SANDBOX_UID_POOL)]
        try:
            lock = os.open(os.path.join(SANDBOX_UID_LOCKS, str(uid)), os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
        except OSError:
            return None
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(lock)
            continue
        if any(True for _ in _pids_of_uid(uid)):  # a crashed grader's leftovers: leave that uid alone
            os.close(lock)
            continue
        return uid  # the descriptor stays open (and locked) until this process exits
    return None


def _readable_only_by_group(folder: str, gid: int) -> None:
    """Hand the staged submission (a flat folder of copied files) to root:gid, 0750 and 0640."""
    try:
        os.chown(folder, 0, gid)
        os.chmod(folder, 0o750)
        for entry in os.scandir(folder):
            if entry.is_file(follow_symlinks=False):
                os.chown(entry.path, 0, gid)
                os.chmod(entry.path, 0o640)
    except OSError:
        pass


def _lookup(name: str | None) -> tuple[int, int] | None:
    if name is None:
        return None
    entry = pwd.getpwnam(name)
    return entry.pw_uid, entry.pw_gid


def _open(config: SupervisorConfig, user: tuple[int, int] | None, counter: int, request: dict) -> tuple[dict, list[int]]:
    scratch = os.path.join(config.base_dir, f"scratch-{counter}")
    os.mkdir(scratch, 0o700)
    new_root = None
    if user is not None:
        os.chown(scratch, *user)
        new_root = os.path.join(config.base_dir, f"root-{counter}")
        os.mkdir(new_root, 0o700)
    req_r, req_w = os.pipe()
    rep_r, rep_w = os.pipe()
    output = tempfile.TemporaryFile(dir=config.base_dir)
    spec = WorkerSpec(
        request_fd=req_r,
        reply_fd=rep_w,
        output_fd=output.fileno(),
        scratch=scratch,
        submission_dir=config.submission_dir,
        cpu_seconds=int(request.get("cpu_seconds", 60)),
        memory_bytes=int(request.get("memory_mb", 1536)) * 1024 * 1024,
        processes=64 if user is not None else _own_process_count() + 64,
        uid=user[0] if user else None,
        gid=user[1] if user else None,
        hidden_paths=config.hidden_paths,
        sys_path=config.sys_path,
        new_root=new_root,
        visible=config.visible,
        hidden_files=config.hidden_files,
        readable=config.readable,
    )
    pid = os.fork()
    if pid == 0:
        run_worker(spec)
    os.close(req_r)
    os.close(rep_w)
    return {"pid": pid, "kill_whole_uid": config.kill_whole_uid, "scratch": scratch, "new_root": new_root, "output": output, "started": time.monotonic()}, [req_w, rep_r]


def _close(session: dict, user: tuple[int, int] | None, shared_folders: list[str] = ()) -> dict:
    pid = session["pid"]
    status = _status_if_exited(pid)
    if status is None:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        _, status = os.waitpid(pid, 0)
    killed = _kill_descendants(user if session["kill_whole_uid"] else None)
    if user is not None and session["kill_whole_uid"] and user[0] in SANDBOX_UID_POOL:
        leftovers.remove_ipc_of_uid(user[0])
        leftovers.remove_entries_of_uid(user[0], shared_folders)
    if session.get("new_root"):
        try:
            os.rmdir(session["new_root"])  # its mounts went with the worker's namespace
        except OSError:
            pass
    output = session["output"]
    data = os.pread(output.fileno(), OUTPUT_CAP + 1, 0)
    size = os.fstat(output.fileno()).st_size
    output.close()
    remove_tree(session["scratch"])  # never raises: whatever the worker built there cannot stop the supervisor
    if os.WIFSIGNALED(status):
        ended = {"signal": os.WTERMSIG(status)}
    else:
        ended = {"exit_code": os.WEXITSTATUS(status)}
    return {
        "ok": True,
        "ended": ended,
        "leftover_processes": killed,
        "output": data[:OUTPUT_CAP].decode("utf-8", "replace"),
        "output_bytes": size,
    }


def _own_process_count() -> int:
    return sum(1 for _ in _pids_of_uid(os.getuid()))


def _status_if_exited(pid: int) -> int | None:
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return 0
    return status if done else None


def _kill_descendants(user: tuple[int, int] | None) -> int:
    """Kill everything the worker left behind: orphans reparent to this subreaper."""
    killed = 0
    if user is not None:
        killed += _kill_all_of_uid(user)
    me = os.getpid()
    for _ in range(200):
        victims = _descendants(me)
        if not victims:
            break
        for victim in victims:
            try:
                os.kill(victim, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        _reap()
        time.sleep(0.005)
    _reap()
    return killed


def _kill_all_of_uid(user: tuple[int, int]) -> int:
    """Run kill(-1, SIGKILL) as the sandbox uid until none of its processes is left."""
    count = sum(1 for _ in _pids_of_uid(user[0]))
    if not count:
        return 0
    killer = os.fork()
    if killer == 0:
        try:
            os.setgroups([])
            os.setgid(user[1])
            os.setuid(user[0])
            for _ in range(500):
                try:
                    os.kill(-1, signal.SIGKILL)
                except ProcessLookupError:
                    break
                time.sleep(0.002)
        finally:
            os._exit(0)
    os.waitpid(killer, 0)
    _reap()
    return count


def _pids_of_uid(uid: int):
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    yield int(entry)
            except OSError:
                pass


def _descendants(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
            parents[int(entry)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            pass
    found: list[int] = []
    frontier = [root]
    while frontier:
        current = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == current and pid not in found:
                found.append(pid)
                frontier.append(pid)
    return found


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def zygote_main(argv: list[str]) -> "NoReturn":  # noqa: F821
    """A clean interpreter that forks supervisors for a grader process that is itself tainted.

    A process that has imported the reference (a test session, ``verify``) must not fork
    supervisors from itself. It starts this zygote once, in a fresh interpreter that loads
    only the payload (the loader named in ``argv[1]``), and asks it for a supervisor per grading: ``{"config", "probes"}`` plus
    the supervisor's end of the socket, answered by ``{"pid"}``. Fork is milliseconds; a new
    interpreter with torch is seconds.
    """
    import importlib
    import json

    from autograder.sandbox.payload import installed, load

    control = socket.socket(fileno=int(argv[0]))  # closed when the grader process exits: then so does this
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # supervisors are reaped by the kernel
    load(argv[1])
    protocol.write_frame(control.fileno(), {"ready": True})
    while True:
        try:
            request = protocol.read_frame(control.fileno())
            _, fds, _, _ = socket.recv_fds(control, 1, 1)
        except (protocol.ProtocolError, OSError):
            os._exit(0)
        for name in request.get("probes", []):
            if isinstance(name, str) and name.startswith(installed().prefixes):
                importlib.import_module(name)
        config = SupervisorConfig(**request["config"])
        pid = os.fork()
        if pid == 0:
            try:
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                control.close()
                serve(socket.socket(fileno=fds[0]), config)
            finally:
                os._exit(1)
        os.close(fds[0])
        protocol.write_frame(control.fileno(), {"pid": pid})
