"""Reference solutions for EECS 182 Homework 7 (the instructor-side modules)."""
