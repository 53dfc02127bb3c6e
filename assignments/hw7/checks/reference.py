"""Access to the reference solutions on the trusted side, and the torch conversions the checks share.

The reference is loaded from ``reference/`` by file path, never from the
submission, and only in the grader process (after the sandbox has forked).
"""
from __future__ import annotations

import importlib
import types
from functools import lru_cache

import numpy as np
import torch

from autograder.config import PROJECT_ROOT


@lru_cache(maxsize=None)
def module(name: str) -> types.ModuleType:
    """The reference module ``name`` (e.g. ``q_rnn_and_grad``)."""
    if not (PROJECT_ROOT / "reference" / f"{name}.py").is_file():
        raise FileNotFoundError(f"reference/{name}.py is missing")
    return importlib.import_module(f"reference.{name}")


def t64(array) -> torch.Tensor:
    return torch.as_tensor(np.asarray(array, dtype=np.float64)).clone()


NONLINEARITIES = {"tanh": torch.tanh, "relu": torch.relu, "identity": lambda z: z}
