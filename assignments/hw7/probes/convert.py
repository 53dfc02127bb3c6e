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


def load_state(module: Any, state: Any, what: str, names: str) -> None:
    """Load weights the trusted side chose (a dict name -> array) into the student's module.

    Strict: the module's state_dict must have exactly these names and shapes (``names``
    tells the student where that is graded). Values are converted to each entry's dtype.
    """
    if not isinstance(state, dict):
        raise ProbeError("grader", f"weights for {what} should be a mapping of state_dict names to arrays")
    try:
        own = module.state_dict()
    except Exception as exc:
        raise ProbeError("bad_value", f"{what}.state_dict() failed: {type(exc).__name__}: {exc}") from None
    expected, got = list(state), [str(k) for k in own]
    if sorted(expected) != sorted(got):
        missing = sorted(set(expected) - set(got))
        extra = sorted(set(got) - set(expected))
        raise ProbeError(
            "bad_value",
            f"state_dict keys of {what} (the grader loads its own weights into your model by these names; {names}): "
            f"expected {expected}, got {got} (missing {missing}, unexpected {extra}).",
        )
    converted = {}
    for key, value in state.items():
        array = np.asarray(value)
        current = own[key]
        shape = tuple(getattr(current, "shape", ()))
        if tuple(array.shape) != shape:
            raise ProbeError("bad_value", f"shape of state_dict entry {key!r} of {what} (the grader loads its own weights into your model; {names}): expected {tuple(array.shape)}, got {shape}.")
        dtype = current.dtype if isinstance(current, torch.Tensor) and current.dtype.is_floating_point else torch.float32
        converted[key] = torch.as_tensor(array).to(dtype).clone()
    try:
        module.load_state_dict(converted, strict=True)
    except Exception as exc:
        detail = str(exc).strip().splitlines()[-1].strip() if str(exc).strip() else type(exc).__name__
        raise ProbeError("bad_value", f"loading the grader's weights into {what} with load_state_dict(..., strict=True) failed ({names}): {detail}") from None
