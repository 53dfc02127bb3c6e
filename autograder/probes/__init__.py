"""Grader harness code that runs inside the sandbox, next to the student's code.

Probes call the student's functions on inputs chosen by the trusted side and
return plain outputs. They contain no reference solution and no expected value.
"""
from __future__ import annotations

import importlib

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
    """Import every probe module and the libraries homework code uses (before workers fork)."""
    preload()
    importlib.import_module("autograder.notebook")  # workers cannot import it once autograder/ is hidden
    for name in PROBE_MODULES:
        try:
            importlib.import_module(f"autograder.probes.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"autograder.probes.{name}":
                raise
