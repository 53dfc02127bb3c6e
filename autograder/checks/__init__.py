"""The trusted side's check API: ``@check(id)`` registers the function grading a rubric entry.

The assignment's check modules (named in its manifest) use it; ``registry()`` imports
them. They import the reference, so only after the sandbox supervisor has been forked.
"""
from __future__ import annotations

from typing import Callable

_REGISTRY: dict[str, Callable] = {}


def check(check_id: str) -> Callable[[Callable], Callable]:
    """Register the function that grades rubric entry ``check_id``."""

    def register(fn: Callable) -> Callable:
        if check_id in _REGISTRY:
            raise ValueError(f"check {check_id} registered twice")
        _REGISTRY[check_id] = fn
        return fn

    return register


def registry() -> dict[str, Callable]:
    """Every registered check, the assignment's check modules imported first."""
    from autograder import assignment

    assignment.current().import_all(assignment.current().checks)
    return dict(_REGISTRY)
