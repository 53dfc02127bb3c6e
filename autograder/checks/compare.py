"""Array-aware comparisons made on the trusted side, on plain arrays it rebuilt itself."""
from __future__ import annotations

from typing import Any

import numpy as np

from autograder.messages import say


class CheckFailed(Exception):
    """The student's output is wrong; the message says what, where and by how much.

    ``input_dependent`` is False for failures no input explains (a syntax error, an import
    that fails): no "smallest failing input" is added to those. ``unfinished`` marks code that
    said it is not written yet (NotImplementedError): searching for a smaller input would only
    meet the same stub again, so the first failing input is reported as found.
    """

    def __init__(self, message: str, input_dependent: bool = True, unfinished: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.input_dependent = input_dependent
        self.unfinished = unfinished


def distinct(expected: float, got: float) -> tuple[str, str]:
    """Both numbers with as few significant digits (at least 4) as it takes to tell them apart."""
    for digits in range(4, 18):
        e, g = f"{expected:.{digits}g}", f"{got:.{digits}g}"
        if e != g:
            return e, g
    return repr(expected), repr(got)


def shape_difference(expected: tuple, got: tuple) -> str:
    """" (too long by 1 along axis 0)" when the shapes differ in one axis only; "" otherwise."""
    if len(expected) != len(got):
        return f" ({len(got)} dimensions instead of {len(expected)})"
    axes = [k for k, (e, g) in enumerate(zip(expected, got)) if e != g]
    if len(axes) != 1:
        return ""
    axis = axes[0]
    extra = got[axis] - expected[axis]
    where = f" along axis {axis}" if len(expected) > 1 else ""
    return f" (too {'long' if extra > 0 else 'short'} by {abs(extra)}{where})"


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
        raise CheckFailed(say("shape", what=what, expected=tuple(expected.shape), got=tuple(got.shape)).rstrip(".") + shape_difference(tuple(expected.shape), tuple(got.shape)) + ".")
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
    shown_e, shown_v = distinct(e, v)
    if bad.size == 1 and not index:
        raise CheckFailed(say("mismatch_scalar", what=what, expected=shown_e, got=shown_v, abs_err=abs(v - e), rel_err=rel, rtol=rtol, atol=atol))
    raise CheckFailed(
        say(
            "mismatch",
            what=what,
            index=index if index else "()",
            expected=shown_e,
            got=shown_v,
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
        if isinstance(got, int) and isinstance(expected, int) and not isinstance(got, bool) and ("len(" in what or "number of" in what):
            raise CheckFailed(say("value", what=what, expected=expected, got=got).rstrip(".") + f" (too {'many' if got > expected else 'few'} by {abs(got - expected)}).")
        if isinstance(got, list) and isinstance(expected, list) and len(got) != len(expected):
            raise CheckFailed(say("value", what=what, expected=expected, got=got).rstrip(".") + f" ({len(got)} items instead of {len(expected)}: too {'long' if len(got) > len(expected) else 'short'} by {abs(len(got) - len(expected))}).")
        raise CheckFailed(say("value", what=what, expected=expected, got=got))
