"""EECS 182 Homework 7, as a plug-in of the grading engine: see ``manifest.toml``.

Find a part by its number: ``checks/part1.py`` grades 1a-1h (``probes/part1.py`` runs the
student's code for it), ``part2`` grades 2, ``part3a``, ``part3b`` and ``part5`` the rest.
"""
