"""Grader harness code that runs inside the sandbox, next to the student's code.

Probes call the student's functions on inputs chosen by the trusted side and
return plain outputs. They contain no reference solution and no expected value.
"""
from __future__ import annotations

import importlib

from autograder import memory

PROBE_MODULES = ("part1", "part2", "part3a", "part3b", "part5")


# Libraries a homework module may import. Importing them once before workers fork
# saves every check a second or more (sklearn alone takes about 2 s to import).
PRELOAD = (
    "matplotlib.pyplot",
    "scipy.linalg",
    "scipy.sparse",
    "sklearn.cluster",
    "sklearn.datasets",
    "sklearn.metrics",
    "sklearn.decomposition",
    "torch.nn.functional",
    "torch.optim",
    "unicodedata",
    "string",
    "glob",
)


def preload() -> None:
    import matplotlib

    matplotlib.use("Agg")
    for name in PRELOAD:
        importlib.import_module(name)
    import matplotlib.pyplot as plt

    figure = plt.figure()  # builds the font cache once, not per worker
    figure.canvas.draw()
    plt.close(figure)
    _warm_up_optimizers()


def _warm_up_optimizers() -> None:
    """The first optimizer.step() imports torch._dynamo (seconds): pay that once, before workers fork."""
    import torch
    from torch import nn

    layer = nn.Linear(2, 2)
    for optimizer in (torch.optim.SGD(layer.parameters(), lr=0.0), torch.optim.Adam(layer.parameters(), lr=0.0)):
        layer(torch.zeros(1, 2)).sum().backward()
        optimizer.step()
        optimizer.zero_grad()


def load_all() -> None:
    """Import every probe module and the libraries homework code uses (before workers fork).

    Also sets the process tree's memory hygiene (``autograder.memory``): glibc's malloc
    thresholds first, so that the imports and every process forked later give big blocks
    back; then, with everything loaded, one collection and a gc freeze, so that later
    collections in the grader, the supervisor and the workers leave the shared pages alone.
    The probe modules come before the other libraries: the data they load at import (MNIST,
    the surnames) is parsed while the heap is still small, and the later imports reuse the
    space the parse freed instead of adding to the peak (about 150-250 MB less before the fork).
    """
    memory.tune_malloc()
    importlib.import_module("autograder.notebook")  # workers cannot import it once autograder/ is hidden
    importlib.import_module("autograder.installcheck")  # the worker canary's lists
    for name in PROBE_MODULES:
        try:
            importlib.import_module(f"autograder.probes.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"autograder.probes.{name}":
                raise
    preload()
    memory.freeze_heap()
    memory.trim()
