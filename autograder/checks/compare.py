"""Array-aware comparisons made on the trusted side, on plain arrays it rebuilt itself."""
from __future__ import annotations

from typing import Any

import numpy as np

from autograder.messages import say


class CheckFailed(Exception):
    """The student's output is wrong; the message says what, where and by how much."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def as_array(value: Any, what: str) -> np.ndarray:
    """A float64 array from a decoded reply value (array or JSON number), or a failure."""
    if isinstance(value, bool) or value is None or isinstance(value, (str, dict, list)):
        raise CheckFailed(say("value", what=what, expected="a number or an array", got=type(value).__name__))
    array = np.asarray(value)
    if array.dtype.kind not in "fiub":
        raise CheckFailed(say("dtype", what=what, got=str(array.dtype)))
    return array


def assert_close(got: Any, expected: Any, what: str, rtol: float, atol: float) -> None:
    """Exact shape, finite where expected is finite, then |got - expected| <= atol + rtol*|expected|."""
    got = as_array(got, what)
    expected = np.asarray(expected, dtype=np.float64)
    if got.shape != expected.shape:
        raise CheckFailed(say("shape", what=what, expected=tuple(expected.shape), got=tuple(got.shape)))
    g = got.astype(np.float64)
    finite_expected = np.isfinite(expected)
    bad_finite = finite_expected & ~np.isfinite(g)
    if bad_finite.any():
        index = tuple(int(i) for i in np.argwhere(bad_finite)[0])
        raise CheckFailed(say("nonfinite", what=what, index=index, expected=float(expected[index])))
    diff = np.where(finite_expected, np.abs(g - np.where(finite_expected, expected, 0.0)), 0.0)
    tol = atol + rtol * np.abs(np.where(finite_expected, expected, 0.0))
    bad = finite_expected & ~(diff <= tol)
    bad |= ~finite_expected & ~((np.isnan(expected) & np.isnan(g)) | (expected == g))
    if not bad.any():
        return
    excess = np.where(bad, diff - tol, -np.inf)
    index = tuple(int(i) for i in np.unravel_index(int(np.argmax(excess)), excess.shape)) if excess.ndim else ()
    e, v = float(expected[index]), float(g[index])
    rel = abs(v - e) / abs(e) if e != 0 else float("inf")
    if bad.size == 1 and not index:
        raise CheckFailed(say("mismatch_scalar", what=what, expected=e, got=v, abs_err=abs(v - e), rel_err=rel, rtol=rtol, atol=atol))
    raise CheckFailed(
        say(
            "mismatch",
            what=what,
            index=index if index else "()",
            expected=e,
            got=v,
            abs_err=abs(v - e),
            rel_err=rel,
            rtol=rtol,
            atol=atol,
            count=int(bad.sum()),
            size=int(bad.size),
        )
    )


def assert_equal(got: Any, expected: Any, what: str) -> None:
    """Exact equality of plain JSON-like values (counts, names, key lists)."""
    if type(got) is not type(expected) and not (isinstance(got, (int, float)) and isinstance(expected, (int, float)) and not isinstance(got, bool)):
        raise CheckFailed(say("value", what=what, expected=expected, got=got))
    if got != expected:
        raise CheckFailed(say("value", what=what, expected=expected, got=got))
