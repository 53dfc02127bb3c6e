"""The progress line on stderr while a class is graded: a bar, elapsed time and ETA."""
from __future__ import annotations

import sys
import time
from typing import TextIO

from autograder.batch.outcome import Outcome


class Progress:
    """A progress bar with ETA on stderr (one line per submission when stderr is not a terminal)."""

    def __init__(self, total: int, to_grade: int, stream: TextIO = sys.stderr) -> None:
        self.total = total
        self.to_grade = to_grade
        self.done = 0
        self.graded = 0
        self.stream = stream
        self.started = time.monotonic()
        self.tty = hasattr(stream, "isatty") and stream.isatty()

    def update(self, outcome: Outcome) -> None:
        """Count one more submission done and show it; the ETA counts only those graded in this run."""
        self.done += 1
        if outcome.graded:
            self.graded += 1
        elapsed = time.monotonic() - self.started
        remaining = max(0, self.to_grade - self.graded)
        eta = elapsed / self.graded * remaining if self.graded else 0.0
        width = 28
        filled = int(width * self.done / max(self.total, 1))
        bar = "#" * filled + "." * (width - filled)
        what = f"{outcome.seconds:.0f} s" if outcome.graded else "reused" if outcome.reused else "not graded"
        line = (
            f"[{bar}] {self.done}/{self.total}  elapsed {_clock(elapsed)}  ETA {_clock(eta)}  "
            f"{outcome.submission}: {outcome.total:g}/{outcome.max_score:g} {outcome.status.split(':')[0]} ({what})"
        )
        if self.tty:
            self.stream.write("\r\x1b[K" + line[:200])
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else f"{seconds // 60}:{seconds % 60:02d}"
