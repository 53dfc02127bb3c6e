"""``--in-process``: run probes in the grader's own process. For debugging only.

No isolation at all: the student's code can read the reference and rewrite the
grade file. Never used on Gradescope (run_autograder does not pass the flag).
"""
from __future__ import annotations

from typing import Any, Callable

from autograder.sandbox.client import ERROR_TEXT_CAP, VALUE_TEXT_CAP, SandboxInfo, SessionEnd, StudentRaised
from autograder.text import clean_value


class InProcessSession:
    def __init__(self, submission_dir: str) -> None:
        from autograder.sandbox.payload import installed
        from autograder.sandbox.worker import show_frames_under

        self._payload = installed()
        self._payload.configure(submission_dir, ["in-process (no isolation)"])
        show_frames_under(submission_dir)
        self.lost = None
        self.end: SessionEnd | None = None

    def call(self, probe: str, args: dict[str, Any], deadline: float, sent: Callable[[], None] | None = None) -> Any:
        from autograder import protocol
        from autograder.sandbox.worker import describe_exception

        args = protocol.round_trip(args)  # fresh arrays, as a worker receives them
        if sent is not None:
            sent()
        try:
            value = self._payload.call(probe, args)
            # Same plain-data round trip (and text cleaning) as the sandbox, so checks see identical values.
            return clean_value(protocol.round_trip({"ok": True, "value": value})["value"], VALUE_TEXT_CAP)
        except Exception as exc:
            raise StudentRaised(clean_value(describe_exception(exc), ERROR_TEXT_CAP)) from None

    def close(self) -> SessionEnd:
        import sys

        for name in self._payload.student_modules:
            sys.modules.pop(name, None)
        self.end = SessionEnd(ended={"exit_code": 0}, output="", output_bytes=0, leftover_processes=0)
        return self.end


class InProcessSandbox:
    def __init__(self, submission_dir: str) -> None:
        self._submission_dir = submission_dir
        self.info = SandboxInfo(mode="in-process", sandbox_user=None, measures=["none"], missing=["all isolation (--in-process is for debugging)"])

    def open(self, cpu_seconds: int, memory_mb: int) -> InProcessSession:
        return InProcessSession(self._submission_dir)

    def canary(self) -> None:
        """Nothing to prove: there is no worker."""

    def grader_fault(self, error: dict) -> str | None:
        return None

    def stop(self) -> None:
        pass
