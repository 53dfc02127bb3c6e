"""What the workers serve, handed to the sandbox before they fork.

The sandbox never imports the code it serves: whoever starts it (``autograder.probes``)
installs a ``Payload`` here first, and every worker forked afterwards finds it here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class Payload:
    """The calls a worker makes into the code it serves."""

    configure: Callable[[str, list[str]], None]  # per worker: the submission folder, the layers in force
    call: Callable[[Any, Any], Any]  # one request: (probe name, arguments) -> plain reply
    in_worker: Callable[[], None]  # per worker, after confinement, before any student code
    harness_error: type  # what the harness raises on purpose; its reply() describes it
    prefixes: tuple[str, ...]  # names of the modules that belong to it (a zygote imports the same)
    student_modules: tuple[str, ...]  # module names student code is loaded under (in-process cleanup)
    loader: str  # "module:function" that loads and installs this payload (a zygote calls it)


_INSTALLED: list[Payload] = []


def install(payload: Payload) -> None:
    _INSTALLED[:] = [payload]


def installed() -> Payload:
    if not _INSTALLED:
        raise RuntimeError("no payload installed: autograder.probes.load_all() runs before the sandbox starts")
    return _INSTALLED[0]


def load(loader: str) -> Payload:
    """Call ``loader`` ("module:function", named by whoever installed the payload) in a fresh process."""
    import importlib

    module, _, function = loader.partition(":")
    getattr(importlib.import_module(module), function)()
    return installed()
