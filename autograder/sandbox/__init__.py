"""Isolation of student code: a supervisor forks one confined worker per check."""
