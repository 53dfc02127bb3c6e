"""Errors that are the grader's, never the student's.

An ``InfrastructureError`` means this install cannot grade fairly (a worker that cannot start
or import what grading needs, a supervisor that died, files the sandbox user was meant to read
and cannot). Nobody is graded then: the student is told it is not their fault, the instructor
gets the cause, ``batch`` marks the submission ``error`` and ``run_autograder`` makes Gradescope
show a failed run instead of a score.
"""
from __future__ import annotations


class InfrastructureError(Exception):
    """The grader itself cannot run correctly here; ``cause`` says why, for the staff."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


# Exit statuses of ``grade`` (and of ``run_autograder`` locally): 0 whenever grading finished,
# whatever the score; these two when nobody was graded, because of the grader.
EXIT_GRADER_CRASHED = 1
EXIT_INFRASTRUCTURE = 3
