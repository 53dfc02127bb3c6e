"""The class view: what a page of several submissions shows first, and the one count of diagnosed mistakes.

A failed test in a results.json may carry ``extra_data.diagnosis``, ``{"mistake": "<snake_case
id>", "hint": "<student-facing noun phrase>"}``: the grader recognised the likely mistake behind
that check. ``findings`` reads them from a results.json's tests, ignoring whatever is malformed
(no diagnosis, a test that passed, a mistake id that is not snake_case, an empty hint, a field of
the wrong type); ``count_mistakes`` counts them per submission. The report's class overview and
``batch``'s ``OUT/mistakes.csv`` both count with it.

``overview_html`` draws, with matplotlib's Agg canvas (no pyplot: no global figure is left open),
three PNG plots embedded as data: URIs like the submissions' own plots: the distribution of total
scores, each check's pass rate, and the most frequent diagnosed mistakes (also as a table).
The plots are deterministic: fixed width and dpi, matplotlib's default style whatever the local
matplotlibrc says, no metadata (version, date) in the PNG. The report's items are handed in:
nothing here imports the report.
"""
from __future__ import annotations

import base64
import io
import math
import re
import statistics
import warnings
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from autograder.text import clean, html_text as _e

MISTAKE_ID = re.compile(r"[a-z][a-z0-9_]{0,79}")
HINT_LIMIT = 200
CHECK_LIMIT = 40
TOP = 10
LARGEST = 1e9  # points beyond this are drawn at this
DPI = 100
WIDTH = 8.0  # inches: every plot is 800 px wide
BAR = "#2f8f4e"  # the report's green
MISTAKE_BAR = "#9b1c1c"  # the report's red


@dataclass(frozen=True)
class Finding:
    """One failed check of one submission and the mistake the grader recognised behind it."""

    check: str
    mistake: str
    hint: str


@dataclass
class MistakeCount:
    """One mistake over a class: the submissions (and students) that made it, and where it was found."""

    mistake: str
    hint: str
    checks: list[str]
    submissions: int
    students: int


def _one_line(text: Any, limit: int) -> str:
    """Cleaned text on one line (whitespace runs become one space), at most ``limit`` characters."""
    line = " ".join(clean(text, 4 * limit).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def diagnosis(test: Any) -> tuple[str, str] | None:
    """(mistake id, hint) of one results.json test, or None: no diagnosis, a malformed one, or a test that did not fail."""
    if not isinstance(test, dict):
        return None
    extra = test.get("extra_data")
    found = extra.get("diagnosis") if isinstance(extra, dict) else None
    if not isinstance(found, dict):
        return None
    mistake, hint = found.get("mistake"), found.get("hint")
    if not isinstance(mistake, str) or not MISTAKE_ID.fullmatch(mistake) or not isinstance(hint, str):
        return None
    hint = _one_line(hint, HINT_LIMIT)
    try:
        failed = float(test.get("score", 0) or 0) < float(test.get("max_score", 0) or 0)
    except (TypeError, ValueError, OverflowError):
        return None
    return (mistake, hint) if hint and failed else None


def findings(tests: Any) -> list[Finding]:
    """The diagnosed mistakes of one results.json's ``tests`` list, in its order; malformed ones are left out."""
    out: list[Finding] = []
    for test in tests if isinstance(tests, list) else []:
        found = diagnosis(test)
        if found is not None:
            check = "".join(clean(test.get("number", ""), 4 * CHECK_LIMIT).split())[:CHECK_LIMIT] or "?"
            out.append(Finding(check, *found))
    return out


def _natural(text: str) -> list:
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", text)]


def count_mistakes(submissions: Iterable[tuple[Iterable[Finding], int]]) -> list[MistakeCount]:
    """Every diagnosed mistake, counted once per submission that made it however many checks named it.

    ``submissions``: per submission, its findings and how many students share it (each group
    member counts; at least 1). Sorted by submissions, most first, then by mistake id. A
    mistake's hint is the one its findings give most often (the first seen on a tie); its
    checks are all those it was found in, in natural order (1a.2 before 1a.10).
    """
    subs: Counter[str] = Counter()
    students: Counter[str] = Counter()
    checks: dict[str, set[str]] = {}
    hints: dict[str, Counter[str]] = {}
    for found, people in submissions:
        made = set()
        for f in found:
            if isinstance(f, Finding):
                checks.setdefault(f.mistake, set()).add(f.check)
                hints.setdefault(f.mistake, Counter())[f.hint] += 1
                made.add(f.mistake)
        for mistake in made:
            subs[mistake] += 1
            students[mistake] += max(int(people), 1)
    counts = [MistakeCount(m, hints[m].most_common(1)[0][0], sorted(checks[m], key=_natural), subs[m], students[m]) for m in subs]
    return sorted(counts, key=lambda c: (-c.submissions, c.mistake))


# --------------------------------------------------------------------------- plots


def _n(value: float) -> str:
    return f"{round(value, 4):g}"


def _label(text: str, limit: int) -> str:
    """Text for a plot: shortened, with ``$`` escaped (no mathtext is parsed from a hint or an id)."""
    return _one_line(text, limit).replace("$", r"\$")


def _png(draw, height: float) -> str:
    """A figure drawn by ``draw(figure)``, as base64 PNG bytes."""
    import matplotlib.style
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    buffer = io.BytesIO()
    with matplotlib.style.context("default"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a glyph the font lacks (a hint in any script) is drawn as a box, not a warning
        figure = Figure(figsize=(WIDTH, height), dpi=DPI)
        FigureCanvasAgg(figure)
        draw(figure)
        figure.tight_layout()
        figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
        figure.clear()
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _scores_png(scores: list[float], out_of: float, mean: float, median: float) -> str:
    def draw(figure) -> None:
        from matplotlib.ticker import MaxNLocator

        ax = figure.add_subplot()
        low, high = math.floor(min(0.0, min(scores))), max(out_of, max(scores), 1.0)
        if high - low <= 40:  # one bar per point, centred on it
            bins = math.ceil(high - low) + 1
            ax.hist(scores, bins=bins, range=(low - 0.5, low + bins - 0.5), color=BAR, edgecolor="white")
        else:
            ax.hist(scores, bins=40, range=(low, high), color=BAR, edgecolor="white")
        ax.axvline(mean, color="#1d2330", linestyle="--", linewidth=1.2, label=f"mean {_n(round(mean, 2))}")
        ax.axvline(median, color="#1d4ed8", linestyle=":", linewidth=1.6, label=f"median {_n(round(median, 2))}")
        ax.set_xlabel(f"total points (out of {_n(out_of)})")
        ax.set_ylabel("submissions")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(loc="upper left", frameon=False)

    return _png(draw, 3.6)


def _bars(figure, labels: list[str], values: list[float], notes: list[str], colour: str, xlabel: str, xmax: float, fontsize: float) -> None:
    """Horizontal bars, the first at the top, each with its note at its end."""
    ax = figure.add_subplot()
    ys = list(range(len(labels)))
    ax.barh(ys, values, color=colour, height=0.7)
    ax.set_yticks(ys, labels=labels, fontsize=fontsize)
    ax.invert_yaxis()
    ax.set_xlim(0, xmax * 1.18)
    ax.set_xlabel(xlabel)
    for y, value, note in zip(ys, values, notes):
        ax.text(value + xmax * 0.01, y, note, va="center", fontsize=fontsize)


def _pass_rates_png(rows: list[tuple[str, int, int]]) -> str:
    """rows: (check id, passed, graded). The height grows with the number of checks (fixed per check)."""

    def draw(figure) -> None:
        rates = [100.0 * p / g if g else 0.0 for _, p, g in rows]
        notes = [f"{p}/{g}" if g else "not graded" for _, p, g in rows]
        _bars(figure, [_label(c, 24) for c, _, _ in rows], rates, notes, BAR, "passed (% of the submissions graded on the check)", 100.0, 8)

    return _png(draw, min(max(1.2 + 0.22 * len(rows), 2.4), 40.0))


def _mistakes_png(top: list[MistakeCount]) -> str:
    def draw(figure) -> None:
        labels = [f"{_label(c.hint, 44)}\n{_label(c.mistake + ' · ' + ', '.join(c.checks), 52)}" for c in top]
        values = [c.submissions for c in top]
        _bars(figure, labels, values, [str(v) for v in values], MISTAKE_BAR, "submissions", float(max(values)), 8)
        from matplotlib.ticker import MaxNLocator

        figure.axes[0].xaxis.set_major_locator(MaxNLocator(integer=True))

    return _png(draw, max(1.0 + 0.5 * len(top), 2.4))


# --------------------------------------------------------------------------- HTML


def _figure(alt: str, plot, caption: str) -> str:
    """A figure of the PNG ``plot()`` draws; a plot that cannot be drawn says why instead (the page still renders)."""
    try:
        png = plot()
    except Exception as exc:  # noqa: BLE001 - hostile numbers or text must not cost the page
        return f'<figure><div class="plot-error">{_e(caption)}<br>No plot: {_e(type(exc).__name__)}: {_e(clean(exc, 300))}</div></figure>'
    return f'<figure><img alt="{_e(alt)}" src="data:image/png;base64,{png}"><figcaption>{_e(caption)}</figcaption></figure>'


def pass_rates(items: Sequence[Any], student_view: bool = False) -> list[tuple[str, int, int]]:
    """(check id, submissions that passed it, submissions graded on it) per check, in order of first
    appearance; a check not run or not applicable (n/a) in a submission is not graded there."""
    tally: dict[str, list[int]] = {}
    for item in items:
        for c in item.checks:
            if student_view and c.visibility == "hidden":
                continue
            row = tally.setdefault(c.id, [0, 0])
            if c.status not in ("not run", "n/a"):
                row[1] += 1
                row[0] += c.status == "passed"
    return [(check, passed, count) for check, (passed, count) in tally.items()]


def _scores_figure(scores: list[float], out_of: float) -> str:
    mean, median = statistics.fmean(scores), statistics.median(scores)
    caption = (
        f"Total scores of {len(scores)} submissions, out of {_n(out_of)} points: mean {_n(round(mean, 2))}, "
        f"median {_n(round(median, 2))} (lowest {_n(min(scores))}, highest {_n(max(scores))})."
    )
    return _figure(f"Histogram of the total scores of {len(scores)} submissions", lambda: _scores_png(scores, out_of, mean, median), caption)


def overview_html(items: Sequence[Any], student_view: bool = False) -> list[str]:
    """The class overview of a page's items (the report's ``Item``: score, max_score, checks, findings, error)."""
    graded = [i for i in items if not i.error and not getattr(i, "plots_only", False)]
    out = ['<h2 id="overview">Class overview</h2>']
    if not graded:
        return out + ['<div class="meta">No readable results: nothing to summarise.</div>']
    # A hand-made file may say NaN, inf or 1e308: such a score is left out of the histogram, a huge one capped.
    scores = [max(min(i.score, LARGEST), -LARGEST) for i in graded if math.isfinite(i.score)]
    out_of = max([min(i.max_score, LARGEST) for i in graded if math.isfinite(i.max_score)] or [0.0])
    out.append('<div class="overview">')
    if scores:
        out.append(_scores_figure(scores, out_of))

    rows = pass_rates(graded, student_view)
    if rows:
        caption = (
            f"Share of the submissions that passed each of the {len(rows)} checks (full points), as passed/graded. "
            "A submission where the check was not run, or does not apply (n/a), is left out of that check's denominator."
        )
        out.append(_figure(f"Pass rate of each of the {len(rows)} checks, one bar per check", lambda: _pass_rates_png(rows), caption))

    counts = count_mistakes((_visible_findings(i, student_view), 1) for i in graded)
    if not counts:
        out.append("</div>")
        out.append('<p class="meta" id="no-mistakes">No diagnosed mistakes: no failed check in these results names the mistake behind it.</p>')
        return out
    top = counts[:TOP]
    caption = (
        f"The {len(top)} most frequent diagnosed mistakes (of {len(counts)}), by the number of submissions that made them "
        "(a submission counts once per mistake, however many checks found it); each bar names the hint, the mistake id and the checks."
    )
    out.append(_figure(f"Bar chart of the {len(top)} most frequent diagnosed mistakes, by submissions", lambda: _mistakes_png(top), caption))
    out.append("</div>")
    out.append(f"<h3>Diagnosed mistakes ({len(counts)})</h3>")
    out.append('<table class="mistakes"><thead><tr><th>mistake</th><th>hint</th><th>checks</th><th>submissions</th></tr></thead><tbody>')
    for c in counts:
        out.append(f'<tr><td><code>{_e(c.mistake)}</code></td><td>{_e(c.hint)}</td><td>{_e(" ".join(c.checks))}</td><td class="num">{c.submissions}</td></tr>')
    out.append("</tbody></table>")
    return out


def _visible_findings(item: Any, student_view: bool) -> list[Finding]:
    if not student_view:
        return list(item.findings)
    hidden = {c.id for c in item.checks if c.visibility == "hidden"}
    return [f for f in item.findings if f.check not in hidden]
