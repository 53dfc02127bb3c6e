"""Homework 7's harness code that runs inside the sandbox, next to the student's code.

No reference solution and no expected value lives here.
"""
