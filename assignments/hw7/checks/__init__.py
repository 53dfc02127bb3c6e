"""Trusted-side checks of Homework 7, one module per part; each rubric id maps to one function.

These modules import the reference: the engine imports them only after the sandbox
supervisor has been forked.
"""
