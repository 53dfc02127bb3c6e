"""A grading engine for programming homework: sandboxed student code, checks against a reference, Gradescope results. The homework itself is a plug-in folder (see autograder.assignment)."""

__version__ = "1.0.0"
