"""The probe side of the engine: what runs inside the sandbox, next to the student's code.

Probes (the assignment's harness code) call the student's functions on inputs chosen by
the trusted side and return plain outputs. They contain no reference solution and no
expected value. ``load_all`` imports the assignment's probes and the libraries its
students use, then installs them as the sandbox's payload, all before workers fork.
"""
from __future__ import annotations

import contextlib
import importlib
import sys

from autograder import memory
from autograder.probes import registry


def load_all() -> None:
    """Import the assignment's probe modules and preloaded libraries, and install the payload.

    Also sets the process tree's memory hygiene (``autograder.memory``): glibc's malloc
    thresholds first, so that the imports and every process forked later give big blocks
    back; then, with everything loaded, one collection and a gc freeze, so that later
    collections in the grader, the supervisor and the workers leave the shared pages alone.
    The probe modules come before the other libraries: the data they load at import is
    parsed while the heap is still small, and the later imports reuse the space the parse
    freed instead of adding to the peak (about 150-250 MB less before the fork, measured on
    the first assignment's MNIST and surnames).
    """
    from autograder import assignment as assignment_mod
    from autograder.sandbox.payload import Payload, install, installed

    task = assignment_mod.current()
    try:
        if installed().prefixes == _prefixes(task):
            return
    except RuntimeError:
        pass
    memory.tune_malloc()
    importlib.import_module("autograder.notebook")  # workers cannot import it once autograder/ is hidden
    importlib.import_module("autograder.installcheck")  # the worker canary's lists
    registry.set_modules(task.module_names)
    with _kept_out(task.not_preloaded):
        task.import_all(task.probes)
        _preload(task.preload)
        warm_up = task.hook("warm_up")
        if warm_up is not None:
            warm_up()
    in_worker = task.hook("worker") or (lambda: None)
    install(Payload(configure=registry.configure, call=registry.call, in_worker=in_worker, harness_error=registry.ProbeError, prefixes=_prefixes(task), student_modules=task.module_names, loader=f"{__name__}:load_all"))
    memory.freeze_heap()
    memory.trim()


@contextlib.contextmanager
def _kept_out(names: tuple[str, ...]):
    """While the payload loads, ``import name`` fails for these libraries, as if not installed.

    A preloaded library that imports one only when it is there (as scikit-learn does pandas)
    then goes without, and no process of the tree carries it. Afterwards a student's own
    ``import`` finds it as usual (in the worker, at that worker's cost).
    """
    blocked = [name for name in names if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # the import system's "not importable" mark
    try:
        yield
    finally:
        for name in blocked:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]


def _prefixes(task) -> tuple[str, ...]:
    return ("autograder.probes.", *(task.qualified(name.split(".")[0]) + "." for name in task.probes))


def _preload(names: tuple[str, ...]) -> None:
    """The libraries, and matplotlib's font cache built once (not per worker)."""
    try:
        import matplotlib
    except ImportError:
        matplotlib = None
    if matplotlib is not None:
        matplotlib.use("Agg")
    for name in names:
        importlib.import_module(name)
    if matplotlib is not None and "matplotlib.pyplot" in names:
        import matplotlib.pyplot as plt

        figure = plt.figure()
        figure.canvas.draw()
        plt.close(figure)
