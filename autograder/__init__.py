"""Autograder for the coding parts of EECS 182 Homework 7."""

__version__ = "1.0.0"
