"""The worker's seccomp filter: the calls it names are refused with EACCES, AF_UNIX sockets and
everything else still work, a foreign ABI kills the process, and a real worker has it in force.

The filter is loaded in a forked child (a filter cannot be removed, and pytest must keep its own
sockets); the child reports on a pipe.
"""
from __future__ import annotations

import ctypes
import errno
import json
import os
import platform
import signal
import socket
import subprocess
import sys
from collections.abc import Callable

import pytest

from autograder.config import PROJECT_ROOT
from autograder.sandbox import hardening
from tests.support import make_submission, run_grade

pytestmark = pytest.mark.skipif(
    platform.machine() not in hardening.SECCOMP_MACHINES or hardening._seccomp is None,
    reason="seccomp through libseccomp is not offered here",
)


def in_filtered_child(body: Callable[[], object]) -> tuple[int, object]:
    """Fork, install the worker's filter, run ``body``; its wait status and its JSON result."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(read)
            note = hardening.install_seccomp()
            result = body() if note == "seccomp" else {"note": note}
            os.write(write, json.dumps(result).encode())
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    return status, json.loads(data) if data else None


def errno_of(call: Callable[[], object]) -> str:
    """``ok``, or the name of the errno the call failed with."""
    try:
        call()
        return "ok"
    except OSError as exc:
        return errno.errorcode.get(exc.errno, str(exc.errno))


def raw_syscall(name: str) -> Callable[[], None]:
    """The named syscall, by its native number, with zero arguments (refused before they are read)."""
    libc = ctypes.CDLL(None, use_errno=True)
    nr = hardening._seccomp.resolve_syscall(hardening._seccomp.Arch.NATIVE, name)

    def call() -> None:
        if libc.syscall(nr, 0, 0, 0, 0, 0, 0) == -1:
            raise OSError(ctypes.get_errno(), name)

    return call


def test_each_denied_call_fails_with_eacces_and_the_rest_still_work():
    def body() -> dict[str, str]:
        outcome = {name: errno_of(raw_syscall(name)) for name in hardening.DENIED_SYSCALLS}
        outcome["memfd via os"] = errno_of(lambda: os.memfd_create("x"))
        for family in ("AF_INET", "AF_INET6", "AF_NETLINK", "AF_PACKET"):
            outcome[family] = errno_of(lambda: socket.socket(getattr(socket, family), socket.SOCK_RAW if family == "AF_PACKET" else socket.SOCK_DGRAM).close())
        outcome["AF_UNIX"] = errno_of(lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).close())
        outcome["socketpair"] = errno_of(lambda: [s.close() for s in socket.socketpair()])
        outcome["getpid"] = errno_of(os.getpid)
        outcome["pipe"] = errno_of(lambda: [os.close(fd) for fd in os.pipe()])
        return outcome

    status, outcome = in_filtered_child(body)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    assert "note" not in outcome, outcome
    for name in [*hardening.DENIED_SYSCALLS, "memfd via os", "AF_INET", "AF_INET6", "AF_NETLINK", "AF_PACKET"]:
        assert outcome[name] == "EACCES", (name, outcome)
    for name in ("AF_UNIX", "socketpair", "getpid", "pipe"):
        assert outcome[name] == "ok", (name, outcome)


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the x32 ABI exists on x86_64 only")
def test_an_x32_call_kills_the_process():
    libc = ctypes.CDLL(None, use_errno=True)
    x32_getpid = 0x40000000 + 39
    status, _ = in_filtered_child(lambda: libc.syscall(x32_getpid))
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGSYS, status


PROBE = '''
import os as _os, socket as _socket
def _errno(call):
    try:
        call()
        return "ok"
    except OSError as e:
        return __import__("errno").errorcode.get(e.errno, str(e.errno))
print("SECCOMP-PROBE inet=%s memfd=%s unix=%s" % (
    _errno(lambda: _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM).close()),
    _errno(lambda: _os.memfd_create("x")),
    _errno(lambda: _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM).close()),
))
'''


def test_a_real_worker_has_the_filter_in_force(tmp_path):
    """Creating the socket (not connecting it) is refused: a network namespace alone would allow that."""
    patch = [("import torch  # noqa: E402\n", "import torch  # noqa: E402\n" + PROBE)]
    folder = make_submission(tmp_path / "sub", {"q_rnn_and_grad": patch}, modules=("q_rnn_and_grad",))
    _, results = run_grade(folder, tmp_path / "r.json", only=("1c.1",))
    assert "seccomp" in results["extra_data"]["sandbox"]["layers"], results["extra_data"]["sandbox"]["layers"]
    output = {t["number"]: t["output"] for t in results["tests"]}["1c.1"]
    assert "SECCOMP-PROBE inet=EACCES memfd=EACCES unix=ok" in output, output


@pytest.mark.parametrize(
    "hide",
    [
        'sys.modules["pyseccomp"] = None',  # the binding is not installed
        'import ctypes.util; _find = ctypes.util.find_library; ctypes.util.find_library = lambda n: None if n == "seccomp" else _find(n)',  # no libseccomp.so.2
    ],
)
def test_without_libseccomp_the_layer_is_recorded_as_unavailable_not_a_crash(hide):
    code = f"import sys\n{hide}\nfrom autograder.sandbox import hardening\nprint(hardening.install_seccomp())"
    proc = subprocess.run([sys.executable, "-c", code], cwd=str(PROJECT_ROOT), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("seccomp unavailable (libseccomp: "), proc.stdout
