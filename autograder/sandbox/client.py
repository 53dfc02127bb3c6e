"""Trusted-side handle on the sandbox: start the supervisor, open sessions, call probes.

The grader talks to each worker directly over two pipes, and to the supervisor
over a socket. Every reply is decoded by ``autograder.protocol`` (plain data only);
the worker's exit code and output never decide anything.
"""
from __future__ import annotations

import os
import pwd
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from autograder import protocol
from autograder.config import SANDBOX_UID_POOL
from autograder.errors import InfrastructureError
from autograder.installcheck import DELIBERATELY_HIDDEN
from autograder.sandbox.payload import installed
from autograder.sandbox import hardening, view
from autograder.sandbox.interpreter import clean_sys_path, grader_roots, module_origin, unreadable_for
from autograder.sandbox.worker import SETUP_FAILED as WORKER_SETUP_FAILED  # the runner reads it from here
from autograder.text import clean, clean_value


SUPERVISOR_START_SECONDS = 180  # a fresh interpreter importing torch on a loaded machine
CANARY_SECONDS = 60
# Text from a worker (strings in a reply, its error, what it printed) is cleaned on arrival
# (``autograder.text.clean``: valid Unicode, no control or escape sequences) and capped.
VALUE_TEXT_CAP = 100_000
ERROR_TEXT_CAP = 8_000
OUTPUT_TEXT_CAP = 256 * 1024


class SandboxError(InfrastructureError):
    """The sandbox itself failed (not the student's code): the grader cannot go on safely."""


class WorkerLost(Exception):
    """The worker died, hung past its deadline, or broke the protocol during a call."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


class StudentRaised(Exception):
    """The student's code raised (or could not be loaded); ``info`` is the worker's description."""

    def __init__(self, info: dict) -> None:
        super().__init__(info.get("message", ""))
        self.info = info

    @property
    def kind(self) -> str:
        return str(self.info.get("kind", "exception"))


@dataclass
class SessionEnd:
    """How a worker ended, and what it printed (capped)."""

    ended: dict
    output: str
    output_bytes: int
    leftover_processes: int


@dataclass
class SandboxInfo:
    """What confinement was in force, for the grade file and the README's claims."""

    mode: str
    sandbox_user: str | None
    measures: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    uid: int | None = None  # the private uid the workers ran under, when one was claimed
    layers: list[str] = field(default_factory=list)  # what the canary worker reported in force, as applied or refused


class Session:
    """One worker process, alive for one check; closed (and its processes killed) after it."""

    def __init__(self, sandbox: "Sandbox", pid: int, request_fd: int, reply_fd: int) -> None:
        self._sandbox = sandbox
        self.pid = pid
        self._request_fd = request_fd
        self._reply_fd = reply_fd
        self._lost: WorkerLost | None = None
        self.end: SessionEnd | None = None

    def call(self, probe: str, args: dict[str, Any], deadline: float, sent: Callable[[], None] | None = None) -> Any:
        """Run one probe in the worker; raise StudentRaised or WorkerLost. ``sent`` is called
        once the request is written, before the wait for the reply (to let go of its arguments)."""
        if self._lost is not None:
            raise self._lost
        try:
            # The same deadline for the write: a worker that stopped reading its request pipe
            # (its code answered a request itself, then stalled) would block a plain write forever.
            # Once a write or read failed, part of a frame may be in a pipe: the session is lost.
            protocol.write_frame(self._request_fd, {"probe": probe, "args": args}, deadline)
            if sent is not None:
                sent()
            reply = protocol.read_frame(self._reply_fd, deadline)
        except protocol.ChannelTimeout:
            self._lost = WorkerLost("timeout")
            raise self._lost from None
        except (protocol.ChannelClosed, BrokenPipeError):
            self._lost = WorkerLost("died")
            raise self._lost from None
        except protocol.ProtocolError as exc:
            self._lost = WorkerLost("protocol", str(exc))
            raise self._lost from None
        if not isinstance(reply, dict) or "ok" not in reply:
            self._lost = WorkerLost("protocol", "reply is not a mapping with 'ok'")
            raise self._lost
        if reply["ok"] is True:
            return clean_value(reply.get("value"), VALUE_TEXT_CAP)
        error = reply.get("error")
        raise StudentRaised(clean_value(error, ERROR_TEXT_CAP) if isinstance(error, dict) else {"message": clean(error, ERROR_TEXT_CAP)})

    @property
    def lost(self) -> WorkerLost | None:
        return self._lost

    def close(self) -> SessionEnd:
        if self.end is None:
            for fd in (self._request_fd, self._reply_fd):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self.end = self._sandbox._close(self.pid)
        return self.end


class Sandbox:
    """The supervisor process and the confinement it applies."""

    def __init__(self, sock: socket.socket, pid: int, info: SandboxInfo) -> None:
        self._sock = sock
        self._pid = pid
        self.info = info

    @classmethod
    def start(cls, base_dir: str, submission_dir: str, hidden_paths: list[str], sandbox_user: str | None, kill_whole_uid: bool) -> "Sandbox":
        """Fork the supervisor now: call before loading the reference or the rubric."""
        import sys

        from autograder.sandbox import supervisor

        installed()  # the payload is loaded before the fork (autograder.probes.load_all)
        info = _describe(sandbox_user)
        sys_path = clean_sys_path()
        if info.sandbox_user is not None:
            entry = pwd.getpwnam(info.sandbox_user)
            unreadable = unreadable_for(entry.pw_uid, entry.pw_gid, sys_path)
            if unreadable:
                raise InfrastructureError(
                    f"the sandbox user {info.sandbox_user} cannot read this Python's libraries ({unreadable[0]}): "
                    f"{sys.executable} cannot run the workers. Run setup.sh and grade with the venv it reports."
                )
        visible = view.visible_paths(sys_path)
        hidden_files = view.hidden_files(sys_path, DELIBERATELY_HIDDEN)
        parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        config = supervisor.SupervisorConfig(
            base_dir=base_dir,
            submission_dir=submission_dir,
            sandbox_user=info.sandbox_user,
            kill_whole_uid=kill_whole_uid and info.sandbox_user is not None,
            hidden_paths=hidden_paths,
            sys_path=sys_path,
            visible=visible,
            hidden_files=hidden_files,
            readable=view.carve(visible + [submission_dir], hidden_files),  # once per grading, not per worker
        )
        if _trusted_modules_loaded():
            pid = _ZYGOTE.supervisor(child_sock, config)
        else:
            pid = os.fork()
            if pid == 0:
                try:
                    parent_sock.close()
                    supervisor.serve(child_sock, config)
                finally:
                    os._exit(1)
        child_sock.close()
        hardening.make_undumpable()
        ready = _await_ready(parent_sock, "the sandbox supervisor")
        uid = ready.get("uid")
        if info.sandbox_user is not None and isinstance(uid, int) and uid in SANDBOX_UID_POOL:
            info.uid = uid
            info.measures = [f"a private user id (group {info.sandbox_user}), killed and cleaned up after every check" if m.startswith("uid ") else m for m in info.measures]
        return cls(parent_sock, pid, info)

    def open(self, cpu_seconds: int, memory_mb: int) -> Session:
        try:
            protocol.write_frame(self._sock.fileno(), {"op": "open", "cpu_seconds": cpu_seconds, "memory_mb": memory_mb})
            reply = protocol.read_frame(self._sock.fileno(), time.monotonic() + 30)
            _, fds, _, _ = socket.recv_fds(self._sock, 1, 2)
        except (protocol.ProtocolError, OSError) as exc:
            raise SandboxError(f"the sandbox supervisor failed: {exc}") from None
        if not reply.get("ok") or len(fds) != 2:
            raise SandboxError("the sandbox supervisor refused to open a session")
        return Session(self, int(reply["pid"]), fds[0], fds[1])

    def canary(self) -> None:
        """Run the worker canary (``registry.canary``) before any student code: raise if it fails."""
        problems: list[str] = []
        session = self.open(cpu_seconds=60, memory_mb=1536)
        try:
            reply = session.call("__canary__", {}, time.monotonic() + CANARY_SECONDS)
            problems = [str(p) for p in (reply or {}).get("problems", ["the canary sent no answer"])]
            self._record_layers((reply or {}).get("layers", []))
        except WorkerLost as lost:
            problems = [f"the canary worker was lost ({lost.reason}{': ' + lost.detail if lost.detail else ''})"]
        except StudentRaised as exc:
            problems = [f"the canary raised {exc.info.get('type')}: {exc.info.get('message')}"]
        end = session.close()
        if end.ended.get("exit_code") == WORKER_SETUP_FAILED:
            problems.insert(0, f"the worker could not confine itself (exit status {WORKER_SETUP_FAILED})")
        if problems:
            output = end.output.strip()[-800:]
            raise InfrastructureError("the sandboxed worker cannot do what grading needs: " + "; ".join(problems[:6]) + (f"\nworker output:\n{output}" if output else ""))

    def _record_layers(self, layers: list) -> None:
        """The layers a worker applied, told by the canary worker before any student code ran."""
        self.info.layers = [str(n)[:200] for n in layers if isinstance(n, str)][:40]
        self.info.missing += [n for n in self.info.layers if "refused" in n or "unavailable" in n]

    def grader_fault(self, error: dict) -> str | None:
        """Whether a failure the worker reported is the grader's: a file of the interpreter or
        of the grader that the exception names and that the sandbox user really cannot read.

        The worker's claim (``worker.files_named_by``) is only a lead: each file is checked here,
        by the kernel, as the sandbox uid. A submission cannot make its own bug look like ours.
        """
        if self.info.sandbox_user is None:
            return None
        roots = grader_roots()
        candidates = []
        for lead in [p for p in error.get("paths", []) if isinstance(p, str)][:16]:
            if lead.startswith("module:"):
                lead = module_origin(lead[len("module:"):]) or ""
            path = os.path.normpath(lead) if lead else ""
            if path and os.path.exists(path) and any(path == r or path.startswith(r + os.sep) for r in roots):
                if not any(hidden in os.path.realpath(path) for hidden in DELIBERATELY_HIDDEN):
                    candidates.append(path)  # as the worker named it: a link on the way may be what blocks it
        if not candidates:
            return None
        entry = pwd.getpwnam(self.info.sandbox_user)
        uid = self.info.uid if self.info.uid is not None else entry.pw_uid
        blocked = unreadable_for(uid, entry.pw_gid, candidates)
        if not blocked:
            return None
        return f"the sandbox user cannot read {blocked[0]}, a file of the grader's install ({error.get('type')}: {str(error.get('message', ''))[:300]})"

    def _close(self, pid: int) -> SessionEnd:
        try:
            protocol.write_frame(self._sock.fileno(), {"op": "close", "pid": pid})
            reply = protocol.read_frame(self._sock.fileno(), time.monotonic() + 60)
        except (protocol.ProtocolError, OSError) as exc:
            raise SandboxError(f"the sandbox supervisor failed: {exc}") from None
        return SessionEnd(
            ended=reply.get("ended", {}),
            output=clean(reply.get("output", ""), OUTPUT_TEXT_CAP),
            output_bytes=int(reply.get("output_bytes", 0)),
            leftover_processes=int(reply.get("leftover_processes", 0)),
        )

    def stop(self) -> None:
        try:
            self._sock.close()
        finally:
            try:
                os.waitpid(self._pid, 0)
            except ChildProcessError:
                pass


def _await_ready(sock: socket.socket, what: str) -> dict:
    """The first frame a freshly started supervisor (or zygote) sends: ``{"ready": True, ...}``."""
    try:
        ready = protocol.read_frame(sock.fileno(), time.monotonic() + SUPERVISOR_START_SECONDS)
    except (protocol.ProtocolError, OSError) as exc:
        raise SandboxError(f"{what} did not start: {exc}") from None
    if not (isinstance(ready, dict) and ready.get("ready") is True):
        raise SandboxError(f"{what} did not start")
    return ready


def _trusted_modules_loaded() -> list[str]:
    """Modules that hold the reference or expected values, already imported in this process.

    A forked supervisor (and every worker forked from it) would inherit them; this
    happens when one process grades twice (tests, verify), never in production.
    """
    import sys

    from autograder import assignment

    task = assignment.current()
    reference, checks = task.reference.name, task.qualified("checks")
    return [name for name in sys.modules if name in (reference, checks) or name.startswith((reference + ".", checks + ".", "autograder.checks"))]


class _Zygote:
    """A clean interpreter (started once per tainted process) that forks supervisors on request."""

    def __init__(self) -> None:
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self.pid: int | None = None

    def supervisor(self, sock: socket.socket, config) -> int:
        import sys
        from dataclasses import asdict

        probes = sorted(name for name in sys.modules if name.startswith(installed().prefixes))
        with self._lock:
            control = self._control()
            try:
                protocol.write_frame(control.fileno(), {"config": asdict(config), "probes": probes})
                socket.send_fds(control, [b"S"], [sock.fileno()])
                reply = protocol.read_frame(control.fileno(), time.monotonic() + 60)
            except (protocol.ProtocolError, OSError) as exc:
                self._sock = None
                raise SandboxError(f"the supervisor zygote failed: {exc}") from None
        return int(reply["pid"])

    def _control(self) -> socket.socket:
        if self._sock is None:
            import sys

            parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
            code = f"import sys; sys.path.insert(0, {root!r}); from autograder.sandbox.supervisor import zygote_main; zygote_main(sys.argv[1:])"
            pid = os.fork()
            if pid == 0:
                try:
                    parent.close()
                    os.set_inheritable(child.fileno(), True)
                    os.execv(sys.executable, [sys.executable, "-I", "-c", code, str(child.fileno()), installed().loader])
                finally:
                    os._exit(1)
            child.close()
            _await_ready(parent, "the supervisor zygote")
            self._sock, self.pid = parent, pid
        return self._sock


_ZYGOTE = _Zygote()


def _describe(sandbox_user: str | None) -> SandboxInfo:
    root = os.geteuid() == 0
    missing = []
    user = None
    if root and sandbox_user:
        try:
            pwd.getpwnam(sandbox_user)
            user = sandbox_user
        except KeyError:
            missing.append(f"sandbox user {sandbox_user!r} does not exist (run setup.sh): worker runs as root")
    elif not root:
        missing.append("not root: the worker runs under your own uid, so it can read files you can read")
    measures = ["separate process", "plain-data protocol", "rlimits", "seccomp (no Internet sockets)"]
    if user:
        measures += [f"uid {user}", "private network, IPC and mount namespaces and an allowlisted filesystem view where the kernel allows"]
    measures.append("Landlock where the kernel allows")
    return SandboxInfo(mode="root" if user else "user", sandbox_user=user, measures=measures, missing=missing)
