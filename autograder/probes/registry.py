"""Probe registry and student-module loader, used inside the sandboxed worker.

A probe is grader harness code that builds inputs for the student's functions,
calls them and returns plain outputs. Probes hold no reference solution and no
expected value: they run next to untrusted code and must reveal nothing.
"""
from __future__ import annotations

import importlib.util
import os
import sys
import types
from typing import Any, Callable

from autograder.probe_error import ProbeError  # noqa: F401  (harness code imports it from here)

_PROBES: dict[str, Callable[..., Any]] = {}
_STATE: dict[str, Any] = {"submission_dir": "/nonexistent", "notes": [], "modules": {}, "module_names": ()}


def probe(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a function as the probe called ``name`` by the trusted side."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in _PROBES:
            raise ValueError(f"probe {name!r} registered twice")
        _PROBES[name] = fn
        return fn

    return register


def names() -> list[str]:
    return sorted(_PROBES)


def set_modules(module_names: tuple[str, ...]) -> None:
    """The names student modules may be loaded under (the assignment's), set before workers fork."""
    _STATE["module_names"] = tuple(module_names)


def module_names() -> tuple[str, ...]:
    return _STATE["module_names"]


def configure(submission: str, notes: list[str]) -> None:
    _STATE["submission_dir"] = os.path.join(os.path.realpath(submission), "")
    _STATE["notes"] = list(notes)
    _STATE["modules"] = {}


def canary() -> list[str]:
    """What grading needs, tried in a fresh worker before any student code is loaded.

    The lazily loaded standard library (codecs included), the notebook reader, a backward
    pass, a figure with text saved to the scratch folder (matplotlib opens its fonts only
    then), and the submission folder. Any problem is the install's, never the student's.
    """
    from autograder import installcheck, notebook

    problems = installcheck.check_interpreter_modules()
    try:
        raw = b'{"cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "source": ["x = 1\\n", "def f():\\n", "    return x"]}], "nbformat": 4, "nbformat_minor": 0, "metadata": {}}'
        compile(notebook.module_source(raw, "q_canary"), "canary.ipynb", "exec")
    except Exception as exc:  # noqa: BLE001 - any failure is the install's
        problems.append(f"the notebook reader failed: {type(exc).__name__}: {exc}")
    problems += installcheck.draw_a_figure()
    try:
        os.listdir(_STATE["submission_dir"])
    except OSError as exc:
        problems.append(f"the worker cannot list the submission folder: {exc}")
    return problems


def submission_dir() -> str:
    return _STATE["submission_dir"]


def call(name: Any, args: Any) -> Any:
    if name == "__sandbox__":
        return {"notes": _STATE["notes"], "uid": os.getuid(), "pid": os.getpid()}
    if name == "__load__":  # the module alone, before any check's probe: an import that fails is found once
        student(str(args.get("module")) if isinstance(args, dict) else "")
        return {"loaded": True}
    if name == "__canary__":
        return {"problems": canary(), "layers": _STATE["notes"]}
    if not isinstance(name, str) or name not in _PROBES:
        raise ProbeError("grader", f"unknown probe {name!r}")
    if not isinstance(args, dict):
        raise ProbeError("grader", "probe arguments must be a mapping")
    return _PROBES[name](**args)


def adopt(module: str, source: str, filename: str) -> types.ModuleType:
    """Load trusted text (the grader's own code, e.g. a catalogued mistake) as this session's ``module``.

    The diagnosis replays probes on it in the grader's process; nothing is written to disk,
    so no copy of the reference is ever left where a worker could read it.
    """
    if module not in _STATE["module_names"]:
        raise ProbeError("grader", f"unknown module {module}")
    mod = types.ModuleType(module)
    mod.__file__ = filename
    sys.modules[module] = mod
    try:
        exec(compile(source, filename, "exec", dont_inherit=True), mod.__dict__)
    except BaseException:
        sys.modules.pop(module, None)
        raise
    _STATE["modules"][module] = mod
    return mod


def student(module: str) -> types.ModuleType:
    """The student's module, loaded once per session from a .py or a notebook."""
    cache = _STATE["modules"]
    if module in cache:
        return cache[module]
    if module not in _STATE["module_names"]:
        raise ProbeError("grader", f"unknown module {module}")
    base = _STATE["submission_dir"]
    py_path = os.path.join(base, module + ".py")
    nb_path = os.path.join(base, module + ".ipynb")
    mod = types.ModuleType(module)
    sys.modules[module] = mod
    try:
        if os.path.isfile(py_path):
            mod.__file__ = py_path
            with open(py_path, "rb") as handle:
                source = handle.read()
            code = compile(source, py_path, "exec", dont_inherit=True)
        elif os.path.isfile(nb_path):
            from autograder import notebook

            mod.__file__ = nb_path
            with open(nb_path, "rb") as handle:
                source_text = notebook.module_source(handle.read(), module)
            code = compile(source_text, nb_path, "exec", dont_inherit=True)
        else:
            raise ProbeError("missing_module", f"{module}.py was not found in the submission")
        exec(code, mod.__dict__)
    except ProbeError:
        sys.modules.pop(module, None)
        raise
    except SyntaxError as exc:
        sys.modules.pop(module, None)
        where = f"line {exc.lineno}" if exc.lineno else "unknown line"
        raise ProbeError("syntax_error", f"{os.path.basename(exc.filename or module)}, {where}: {exc.msg}", (exc.text or "").rstrip()) from None
    except BaseException as exc:
        sys.modules.pop(module, None)
        from autograder.sandbox.worker import describe_exception

        info = describe_exception(exc)
        raise ProbeError("import_error", f"importing {module} raised {info['type']}: {info['message']}", info["traceback"]) from None
    cache[module] = mod
    return mod
