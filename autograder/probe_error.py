"""The error harness code raises on purpose when the submission, not the grader, stops a probe.

It lives below everything that raises it (the notebook reader, the probe registry, the
assignment's probes) and everything that reports it (the worker), so none of them imports
another to reach it.
"""
from __future__ import annotations


class ProbeError(Exception):
    """The probe could not do its job because of the submission (missing module, import failure, bad value)."""

    def __init__(self, kind: str, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.detail = detail

    def reply(self) -> dict:
        """How the worker reports it: the kind tells the trusted side which message to show."""
        return {"type": "ProbeError", "kind": self.kind, "message": str(self)[:2000], "traceback": self.detail[:3000]}
