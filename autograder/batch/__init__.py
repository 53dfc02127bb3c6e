"""Regrade a whole class: one sandboxed ``grade`` subprocess per submission, N at a time.

Layout of the output folder::

    OUT/batch.json                     fingerprint of the rubric and grader, run statistics
    OUT/grades.csv                     one row per student (group members share their submission's row)
    OUT/mistakes.csv                   one row per diagnosed mistake (extra_data.diagnosis of failed checks):
                                       mistake,hint,checks,submissions,students; most submissions first,
                                       a submission counted once per mistake, students counting group members;
                                       rewritten whenever grades.csv is
    OUT/<submission>/results.json      the grader's Gradescope results for that submission
    OUT/<submission>/grader.log        what the grader printed
    OUT/<submission>/batch.json        fingerprint, submission hash, status, seconds

Modules: ``export`` (the Gradescope export and its submission_metadata.yml), ``outcome``
(a submission's grade read from its results.json), ``resume`` (fingerprints, submission hashes,
what an earlier run already graded), ``schedule`` (the grader subprocesses and their pool),
``progress`` (the progress line), ``table`` (grades.csv and mistakes.csv, counted by
``autograder.class_view.count_mistakes`` as the report's class overview is), ``comparison`` (``--compare``) and
``run`` (``run_batch``, all of it together).
"""
from __future__ import annotations

import subprocess  # noqa: F401 - tests patch batch.subprocess.Popen (the module Runner starts graders with)

from autograder.batch.comparison import compare
from autograder.batch.export import METADATA, Student, Submission, YamlError, discover, natural_key, parse_yaml, read_metadata
from autograder.batch.outcome import Outcome, read_outcome
from autograder.batch.progress import Progress
from autograder.batch.resume import HASH_MAX_DEPTH, HASH_MAX_ENTRIES, STATE, fingerprint, submission_hash
from autograder.batch.run import BatchReport, run_batch
from autograder.batch.schedule import KILL_MARGIN_SECONDS, BatchOptions, Runner, grade_command
from autograder.batch.table import MISTAKES_HEADER, csv_header, csv_rows, mistakes_rows, write_csv, write_mistakes

__all__ = [
    "HASH_MAX_DEPTH",
    "HASH_MAX_ENTRIES",
    "KILL_MARGIN_SECONDS",
    "METADATA",
    "MISTAKES_HEADER",
    "STATE",
    "BatchOptions",
    "BatchReport",
    "Outcome",
    "Progress",
    "Runner",
    "Student",
    "Submission",
    "YamlError",
    "compare",
    "csv_header",
    "csv_rows",
    "discover",
    "fingerprint",
    "grade_command",
    "mistakes_rows",
    "natural_key",
    "parse_yaml",
    "read_metadata",
    "read_outcome",
    "run_batch",
    "submission_hash",
    "write_csv",
    "write_mistakes",
]
