"""Performance bench of the autograder: ``python -m bench`` (see bench/__main__.py)."""
