"""``python -m bench.grade_child REPORT.json grade SUB ...``: exactly ``python -m autograder grade SUB ...``,
plus the grader's own report (per-check status and seconds) written to REPORT.json.

results.json carries no per-check time; ``autograder.runner.grade`` returns a GradeReport
whose outcomes do. The CLI imports ``grade`` from the runner when it runs, so wrapping it
here changes nothing but the extra file written once grading is over.
"""
from __future__ import annotations

import json
import sys


def _recording(real, path: str):
    def grade(config):
        report = real(config)
        with open(path, "w") as f:
            json.dump({
                "score": report.score,
                "max_score": report.max_score,
                "seconds": report.seconds,
                "outcomes": [{"id": o.id, "status": o.status, "score": o.score, "max_score": o.max_score, "seconds": o.seconds}
                             for o in report.outcomes],
            }, f)
        return report
    return grade


if __name__ == "__main__":
    import autograder.runner as runner
    from autograder.cli import main

    runner.grade = _recording(runner.grade, sys.argv[1])
    sys.exit(main(sys.argv[2:]))
