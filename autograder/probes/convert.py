"""Turning whatever the student's code returned into plain arrays, inside the worker."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from autograder.probes.registry import ProbeError


def plain(value: Any, what: str) -> np.ndarray:
    """A plain float/int/bool ndarray built from a tensor, array or number the student returned."""
    try:
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu()
            if value.dtype == torch.bfloat16 or value.dtype == torch.float16:
                value = value.float()
            value = value.numpy()
        array = np.array(value, copy=True, subok=False)
    except Exception as exc:
        raise ProbeError("bad_value", f"{what} could not be read as an array: {type(exc).__name__}: {exc}") from None
    if array.dtype.kind not in "fiub":
        raise ProbeError("bad_value", f"{what} has dtype {array.dtype}; expected numbers")
    if array.dtype.kind == "f" and array.dtype.itemsize < 4:
        array = array.astype(np.float32)
    if array.dtype.kind == "u" and array.dtype.itemsize > 1:
        array = array.astype(np.int64)
    return np.require(array, requirements="C")


def tensor(array: Any, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A fresh torch tensor from a trusted-side array argument."""
    return torch.as_tensor(np.asarray(array)).to(dtype).clone()


def pair(value: Any, what: str) -> tuple[Any, Any]:
    """Unpack a 2-tuple the student's code should have returned."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ProbeError("bad_value", f"{what} should return a pair (2-tuple); got {type(value).__name__}")
    return value[0], value[1]
