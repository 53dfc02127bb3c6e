"""The sandboxed side of a session: confine this process, then serve probe calls.

Runs in a child forked from the supervisor. It owns no verdicts: each request
names a probe (the assignment's harness code, installed beforehand as the
``payload``) and its plain-data arguments; the reply carries the outputs, or the
error the student's code raised. This module never imports what it serves.
"""
from __future__ import annotations

import errno
import os
import signal
import sys
import traceback
from dataclasses import dataclass, field

from autograder import protocol
from autograder.sandbox import hardening, landlock, view
from autograder.sandbox.payload import installed

TRACEBACK_CHARS = 3000
# Exit statuses of a worker that ended by itself: confining failed before any student code ran
# (the grader's fault, never a student's), or the serving loop broke.
SETUP_FAILED = 70
SERVE_FAILED = 71
FILE_LIMIT_MB = 64


@dataclass
class WorkerSpec:
    """What the supervisor tells a freshly forked worker about its confinement."""

    request_fd: int
    reply_fd: int
    output_fd: int
    scratch: str
    submission_dir: str
    cpu_seconds: int
    memory_bytes: int
    file_bytes: int = FILE_LIMIT_MB * 1024 * 1024
    open_files: int = 256
    processes: int | None = None
    uid: int | None = None
    gid: int | None = None
    hidden_paths: list[str] = field(default_factory=list)
    sys_path: list[str] = field(default_factory=list)
    new_root: str | None = None  # an empty folder for the allowlisted view (as root)
    visible: list[str] = field(default_factory=list)  # what the view holds, read-only
    hidden_files: list[str] = field(default_factory=list)  # files inside ``visible`` that stay unreadable
    readable: list[str] = field(default_factory=list)  # Landlock's read rules: ``visible`` and the submission, hidden files cut out


def run(spec: WorkerSpec) -> "NoReturn":  # noqa: F821
    """Confine, then loop over requests until the channel closes. Never returns."""
    try:
        confine(spec)
    except BaseException:  # no student code has run yet: the grader's setup failed
        try:  # the canary's message shows it (the output file is the supervisor's, not a student's)
            os.write(1, traceback.format_exc(limit=6).encode("utf-8", "replace")[-3000:])
        except OSError:
            pass
        os._exit(SETUP_FAILED)
    code = 0
    try:
        serve(spec)
    except BaseException:  # the worker must never fall back into the supervisor's code
        code = SERVE_FAILED
    finally:
        os._exit(code)


def confine(spec: WorkerSpec) -> None:
    os.setsid()
    os.dup2(spec.output_fd, 1)
    os.dup2(spec.output_fd, 2)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    keep = {0, 1, 2, spec.request_fd, spec.reply_fd}
    os.closerange(3, min(spec.request_fd, spec.reply_fd))
    for fd in range(3, 1024):
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM, signal.SIGCHLD, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    notes = ["oom-first"] if hardening.oom_first() else []  # while /proc/self is still ours to write
    if spec.uid is not None:
        notes += _private_view(spec)
        hardening.drop_privileges(spec.uid, spec.gid if spec.gid is not None else spec.uid)
        notes.append("uid")
    hardening.die_with_parent()
    notes += hardening.set_limits(spec.cpu_seconds, spec.memory_bytes, spec.file_bytes, spec.open_files, spec.processes)
    hardening.no_new_privileges()
    allowlisted = "filesystem-allowlist" in notes
    notes.append(landlock.restrict(_landlock_readable(spec, allowlisted), [spec.scratch, *(view.PRIVATE_TMPFS if allowlisted else ())], [f"/dev/{d}" for d in view.DEVICES]))
    notes.append(hardening.install_seccomp())
    os.environ.clear()
    os.environ.update(
        {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": spec.scratch,
            "TMPDIR": spec.scratch,
            "MPLCONFIGDIR": spec.scratch,
            "MPLBACKEND": "Agg",
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "LANG": "C.UTF-8",
        }
    )
    import tempfile

    payload = installed()
    payload.in_worker()
    tempfile.tempdir = spec.scratch
    os.chdir(spec.scratch)
    sys.path[:] = list(spec.sys_path)
    sys.stdout = open(1, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)
    sys.stderr = sys.stdout
    _only_the_students_warnings(spec.submission_dir)
    show_frames_under(spec.submission_dir)
    payload.configure(spec.submission_dir, notes)


def _private_view(spec: WorkerSpec) -> list[str]:
    """As root: private network, IPC and mount namespaces, then the allowlisted filesystem view.

    Where the kernel refuses the view (a container without the privilege), the grader's
    secret folders are hidden one by one instead, and the note says so.
    """
    notes = hardening.unshare_namespaces()
    if "mount-namespace" not in notes:
        return notes
    if spec.new_root is not None:
        try:
            view.enter(spec.new_root, spec.visible, spec.hidden_files, [spec.submission_dir], [spec.scratch])
            view.mount_proc(spec.new_root)
            view.seal(spec.new_root)
            return notes + ["filesystem-allowlist", "proc-own-processes-only"]
        except OSError as exc:
            notes.append(f"filesystem-allowlist refused ({exc})")
    notes.append(hardening.hide_paths(spec.hidden_paths))
    return notes


def _landlock_readable(spec: WorkerSpec, private_proc: bool) -> list[str]:
    """The view's files, and of /proc what libraries read (threadpoolctl reads its own maps):
    all of it where it shows only this worker's processes, else this process's own folder."""
    own = ["/proc"] if private_proc else [os.path.realpath("/proc/self"), "/proc/cpuinfo", "/proc/meminfo", "/proc/stat", "/sys/devices/system/cpu"]
    return list(spec.readable) + own


def _only_the_students_warnings(submission_dir: str) -> None:
    """Show warnings raised from the student's own files (by file name); drop those of libraries.

    A library's warning names the grader's install (paths under the venv) and is not the
    student's to act on; a warning attributed to a line of the student's code is.
    """
    import warnings

    folder = os.path.join(os.path.realpath(submission_dir), "")
    show = warnings.showwarning

    def student_only(message, category, filename, lineno, file=None, line=None):
        name = os.path.realpath(str(filename).split(", cell ")[0]) if filename else ""
        if name.startswith(folder):
            show(message, category, os.path.basename(str(filename)), lineno, file, line)

    warnings.showwarning = student_only


def serve(spec: WorkerSpec) -> None:
    call = installed().call
    while True:
        try:
            request = protocol.read_frame(spec.request_fd)
        except protocol.ChannelClosed:
            return
        name = request.get("probe") if isinstance(request, dict) else None
        args = request.get("args", {}) if isinstance(request, dict) else {}
        try:
            value = call(name, args)
            del request, args  # the inputs are no longer needed: free them before encoding
            reply = {"ok": True, "value": value}
            del value
            frame = protocol.encode_parts(reply)
        except BaseException as exc:  # student code may raise anything, SystemExit included
            reply = {"ok": False, "error": describe_exception(exc)}
            try:
                frame = protocol.encode_parts(reply)
            except Exception as inner:
                frame = protocol.encode_parts({"ok": False, "error": {"type": "ProtocolError", "message": str(inner)[:500], "traceback": ""}})
        sys.stdout.flush()
        protocol.write_parts(spec.reply_fd, frame)
        del reply, frame  # nothing of this call stays alive while the next request is awaited


_STUDENT_FOLDER = ["/nonexistent/"]


def show_frames_under(folder: str) -> None:
    """Tracebacks show only frames of files under ``folder`` (the student's)."""
    _STUDENT_FOLDER[0] = os.path.join(os.path.realpath(folder), "")


def describe_exception(exc: BaseException) -> dict:
    """Type, message and a traceback trimmed to frames outside the grader's own harness.

    An error the payload's harness raised on purpose (its ``harness_error``) describes itself.
    """
    if isinstance(exc, installed().harness_error):
        return exc.reply()
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(_STUDENT_FOLDER[0])]
    lines = traceback.format_list(frames)
    try:
        message = str(exc)
    except BaseException:
        message = "<unprintable>"
    if isinstance(exc, OSError) and exc.errno == errno.EFBIG:
        message = f"{message} (your code wrote or printed more than the {FILE_LIMIT_MB} MB the sandbox allows)"
    text = "".join(lines) + f"{type(exc).__name__}: {message}"
    return {
        "type": type(exc).__name__,
        "kind": "not_implemented" if isinstance(exc, NotImplementedError) else "exception",
        "message": message[:2000],
        "traceback": text[-TRACEBACK_CHARS:],
        "paths": files_named_by(exc),
    }


def files_named_by(exc: BaseException) -> list[str]:
    """Files an exception says could not be read or imported, anywhere in its chain.

    The trusted side checks each one itself (``Sandbox.grader_fault``): a file of the
    interpreter or of the grader that the sandbox user cannot read makes the failure the
    grader's, not the student's. What the worker says here is only a lead, never a verdict.
    """
    found: list[str] = []
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 8:
        seen += 1
        if isinstance(current, OSError):
            found += [f for f in (current.filename, current.filename2) if isinstance(f, str)]
        if isinstance(current, ImportError):
            if isinstance(current.path, str):
                found.append(current.path)
            if isinstance(current.name, str):
                found.append("module:" + current.name)
        if isinstance(current, LookupError) and str(current).startswith("unknown encoding: "):
            import encodings

            name = encodings.normalize_encoding(str(current).split(": ", 1)[1]).lower()
            name = encodings.aliases.aliases.get(name, name)
            found.append(os.path.join(os.path.dirname(encodings.__file__), name + ".py"))
        current = current.__cause__ or current.__context__
    return found[:16]
