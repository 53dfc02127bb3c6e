"""Render one or many results.json files as one self-contained HTML page.

Everything is inline: the CSS in a <style> element and plots as data: URIs, so the
page can be mailed, archived or opened offline. The page shows, per submission,
a per-part table, (when available) the plots the student's own code drew,
every check with its student-facing message and the grader's summary
(``autograder/plots.py``: a ``plots/`` folder next to results.json, or rendered
on the spot with ``report --plots SUBMISSION``). A page of two or more submissions
starts, after its summary table, with a class overview (``autograder/class_view.py``):
the score distribution, each check's pass rate and the most frequent diagnosed mistakes.
"""
from __future__ import annotations

import base64
import csv
import datetime as _dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder import class_view
from autograder.class_view import Finding
from autograder.plots import PlotResult, load_manifest
from autograder.results import atomic_write
from autograder.text import clean, clean_value, html_text



def _part_order() -> dict[str, int]:
    """The assignment's parts in its order; parts it does not know sort after them."""
    from autograder import assignment

    try:
        return {p: i for i, p in enumerate(assignment.current().parts)}
    except assignment.ManifestError:
        return {}


@dataclass
class Check:
    id: str
    part: str
    title: str
    score: float
    max_score: float
    status: str  # passed | partial | failed | not run | n/a
    visibility: str
    output: str


@dataclass
class Item:
    """One results.json and what goes with it."""

    label: str
    path: Path
    score: float = 0.0
    max_score: float = 0.0
    finished: bool = False
    output: str = ""
    checks: list[Check] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    plots: list[PlotResult] = field(default_factory=list)
    plots_dir: Path | None = None
    error: str = ""
    plots_only: bool = False  # no results.json: a page of plots
    findings: list[Finding] = field(default_factory=list)  # the diagnosed mistakes of its failed checks

    def parts(self, student_view: bool = False) -> dict[str, tuple[float, float, int, int]]:
        """part -> (score, max, checks passed, checks graded)."""
        return part_totals([c for c in self.checks if not (student_view and c.visibility == "hidden")])


def part_totals(checks: list[Check]) -> dict[str, tuple[float, float, int, int]]:
    out: dict[str, list] = {}
    for c in checks:
        row = out.setdefault(c.part, [0.0, 0.0, 0, 0])
        row[0] += c.score
        row[1] += c.max_score
        if c.status not in ("not run", "n/a"):
            row[3] += 1
            row[2] += c.status == "passed"
    order = _part_order()
    return {p: tuple(out[p]) for p in sorted(out, key=lambda p: (order.get(p, 99), p))}


def _status(test: dict) -> str:
    score, max_score = float(test.get("score", 0) or 0), float(test.get("max_score", 0) or 0)
    output = str(test.get("output", ""))
    if output.startswith("Not run"):
        return "not run"
    if max_score == 0:
        return "n/a"
    if score >= max_score:
        return "passed"
    return "partial" if score > 0 else "failed"


def load(path: Path, label: str | None = None) -> Item:
    """Read a results.json; a broken file becomes an Item that says why."""
    item = Item(label=clean(label or default_label(path)), path=path)
    try:
        # Bytes that are not UTF-8 are replaced, not refused: the rest of the file still shows.
        data = json.loads(path.read_bytes().decode("utf-8", "replace"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError, RecursionError) as exc:
        item.error = clean(f"cannot read {path}: {exc}", 2000)
        return item
    # An old or hand-made file (or one a submission wrote into) may hold lone surrogates,
    # terminal escapes or bidi overrides: every string is cleaned before it is used.
    data = clean_value(data)
    try:
        item.score = float(data.get("score", 0) or 0)
        item.output = str(data.get("output", ""))
        item.extra = data.get("extra_data") if isinstance(data.get("extra_data"), dict) else {}
        item.finished = bool(item.extra.get("finished"))
        for test in data.get("tests", []) or []:
            if not isinstance(test, dict):
                continue
            number = str(test.get("number", ""))
            name = str(test.get("name", number))
            title = name[len(number):].strip() if name.startswith(number) else name
            item.checks.append(
                Check(number, number.split(".")[0], title, float(test.get("score", 0) or 0), float(test.get("max_score", 0) or 0), _status(test), str(test.get("visibility", "visible")), str(test.get("output", "")))
            )
        item.findings = class_view.findings(data.get("tests"))
        item.max_score = sum(c.max_score for c in item.checks)
        if isinstance(item.extra.get("total_points"), (int, float)):
            item.max_score = float(item.extra["total_points"])  # the assignment total; extra credit on top
    except (TypeError, ValueError, AttributeError) as exc:  # a field of the wrong type: say so (the page still renders)
        item.error = clean(f"cannot read {path}: a field has the wrong type ({exc})", 2000)
        item.checks = []
        return item
    plots_dir = path.parent / "plots"
    if (plots_dir / "plots.json").is_file():
        item.plots, item.plots_dir = load_manifest(plots_dir), plots_dir
    return item


def default_label(path: Path) -> str:
    """The submission's name: its folder in a batch output (with the students from grades.csv)."""
    folder = path.parent
    grades = folder.parent / "grades.csv"
    if grades.is_file():
        try:
            with open(grades, newline="", encoding="utf-8") as handle:
                names = [r["student"] for r in csv.DictReader(handle) if r.get("submission") == folder.name and r.get("student")]
        except (OSError, KeyError, csv.Error):
            names = []
        if names and names != [folder.name]:
            return f"{folder.name}: {', '.join(names)}"
        return folder.name
    return str(path)


def expand(paths: list[Path]) -> list[Path]:
    """results.json files named directly, or found one level below a folder (a batch output)."""
    out = []
    for p in paths:
        if p.is_dir():
            if (p / "results.json").is_file():
                out.append(p / "results.json")
            out.extend(sorted(p.glob("*/results.json")))
        else:
            out.append(p)
    return out


# --------------------------------------------------------------------------- HTML

CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px; color: #1d2330; background: #fff; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 20px; margin: 32px 0 8px; border-bottom: 2px solid #d5dbe6; padding-bottom: 4px; }
h3 { font-size: 16px; margin: 20px 0 8px; }
.meta { color: #5a6478; font-size: 13px; margin-bottom: 16px; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 14px; }
th, td { border: 1px solid #c9d1de; padding: 5px 9px; text-align: left; vertical-align: top; }
th { background: #eef2f8; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.passed td.st { background: #d9f2dd; color: #11662a; font-weight: 600; }
tr.partial td.st { background: #fff1c9; color: #7a5400; font-weight: 600; }
tr.failed td.st { background: #fbdcdc; color: #9b1c1c; font-weight: 600; }
tr.notrun td.st, tr.na td.st { background: #eceff3; color: #5a6478; }
pre { margin: 0; white-space: pre-wrap; word-break: break-word; font-size: 12.5px; font-family: Menlo, Consolas, monospace; max-width: 900px; }
.score { font-size: 28px; font-weight: 700; } .bar { height: 10px; background: #e4e8ef; border-radius: 5px; width: 320px; overflow: hidden; margin: 6px 0 12px; }
.bar > span { display: block; height: 100%; background: #2f8f4e; }
.badge { display: inline-block; font-size: 11px; padding: 1px 6px; border-radius: 8px; background: #e4e8ef; color: #3b4458; margin-left: 6px; }
.warn { background: #fff1c9; border: 1px solid #e3c26b; padding: 8px 12px; border-radius: 4px; margin: 8px 0; }
figure { display: inline-block; margin: 8px 16px 16px 0; vertical-align: top; max-width: 100%; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid #c9d1de; background: #fff; }
figcaption { font-size: 12.5px; color: #3b4458; margin-top: 4px; }
.plot-error { font-size: 13px; color: #9b1c1c; }
a { color: #1d4ed8; }
"""


def _e(text: Any) -> str:
    """Text for the page: cleaned (valid Unicode, control and bidi characters shown as text), then escaped."""
    return html_text(text)


def write_page(path: Path, page: str) -> None:
    """Write the page atomically (a temp file next to it, then a rename): never a partial or empty page."""
    path = Path(path)
    data = page.encode("utf-8", "replace")  # encoded before anything is written
    atomic_write(str(path), data, prefix="." + path.name + "-", suffix=".tmp")


def _n(value: float) -> str:
    return f"{round(value, 4):g}"


def _anchor(index: int) -> str:
    return f"sub{index}"


def render_html(items: list[Item], title: str | None = None, student_view: bool = False) -> str:
    if title is None:
        from autograder import assignment

        title = f"{assignment.current().name} autograder report"
    parts_all: list[str] = []
    for item in items:
        for p in item.parts(student_view):
            if p not in parts_all:
                parts_all.append(p)
    order = _part_order()
    parts_all.sort(key=lambda p: (order.get(p, 99), p))
    now = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f'<div class="meta">{len(items)} submission(s) &middot; generated {now}' + (" &middot; student view (hidden checks omitted)" if student_view else "") + "</div>",
    ]
    if len(items) > 1:
        out.append("<table class=\"summary\"><thead><tr><th>submission</th>" + "".join(f"<th>{_e(p)}</th>" for p in parts_all) + "<th>total</th><th>finished</th></tr></thead><tbody>")
        for i, item in enumerate(items):
            parts = item.parts(student_view)
            cells = "".join(f'<td class="num">{_n(parts[p][0])}/{_n(parts[p][1])}</td>' if p in parts else "<td></td>" for p in parts_all)
            out.append(f'<tr><td><a href="#{_anchor(i)}">{_e(item.label)}</a></td>{cells}<td class="num"><b>{_n(item.score)}</b>/{_n(item.max_score)}</td><td>{"yes" if item.finished else "<b>no</b>"}</td></tr>')
        out.append("</tbody></table>")
        out.extend(class_view.overview_html(items, student_view))  # score histogram, pass rates, diagnosed mistakes
    for i, item in enumerate(items):
        out.extend(_item_html(item, _anchor(i), student_view))
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _item_html(item: Item, anchor: str, student_view: bool) -> list[str]:
    out = [f'<h2 id="{anchor}">{_e(item.label)}</h2>']
    if item.error:
        out.append(f'<div class="warn">{_e(item.error)}</div>')
        return out
    if item.plots_only:
        return out + _plots_html(item)
    checks = [c for c in item.checks if not (student_view and c.visibility == "hidden")]
    fraction = item.score / item.max_score if item.max_score else 0.0
    meta = [f"grader {item.extra.get('grader_version', '?')}", f"rubric {item.extra.get('rubric_version', '?')}"]
    submission = item.extra.get("submission")
    modules = submission.get("modules") if isinstance(submission, dict) else None
    if isinstance(modules, dict) and modules:
        meta.append("graded " + ", ".join(sorted(str(v) for v in modules.values())))
    out.append(f'<div class="score">{_n(item.score)} / {_n(item.max_score)}</div><div class="bar"><span style="width:{100 * min(max(fraction, 0), 1):.1f}%"></span></div>')
    out.append(f'<div class="meta">{_e(" · ".join(meta))}</div>')
    if not item.finished:
        out.append('<div class="warn">Grading did not finish: this score is provisional (the grader stopped early).</div>')

    out.append("<h3>Points per part</h3><table><thead><tr><th>part</th><th>points</th><th>checks passed</th></tr></thead><tbody>")
    for p, (score, max_score, passed, graded) in part_totals(checks).items():
        cls = "passed" if graded and passed == graded and score >= max_score else "notrun" if not graded else "partial" if score > 0 else "failed"
        out.append(f'<tr class="{cls}"><td>{_e(p)}</td><td class="num st">{_n(score)} / {_n(max_score)}</td><td class="num">{passed} / {graded}</td></tr>')
    out.append("</tbody></table>")

    out.extend(_plots_html(item))
    out.append("<h3>Checks</h3><table><thead><tr><th>check</th><th>title</th><th>points</th><th>status</th><th>message</th></tr></thead><tbody>")
    for c in checks:
        cls = {"not run": "notrun", "n/a": "na"}.get(c.status, c.status)
        badge = "" if c.visibility == "visible" else f'<span class="badge">{_e(c.visibility)}</span>'
        out.append(
            f'<tr class="{cls}"><td>{_e(c.id)}</td><td>{_e(c.title)}{badge}</td><td class="num">{_n(c.score)}/{_n(c.max_score)}</td>'
            f'<td class="st">{_e(c.status)}</td><td><pre>{_e(c.output.strip())}</pre></td></tr>'
        )
    out.append("</tbody></table>")
    if item.output.strip():
        out.append(f"<h3>Grader summary</h3><pre>{_e(item.output.strip())}</pre>")
    return out


def _plots_html(item: Item) -> list[str]:
    out: list[str] = []
    if item.plots:
        out.append("<h3>Plots drawn by the submission's code</h3><div>")
        for plot in item.plots:
            image = (item.plots_dir / plot.file) if (item.plots_dir and plot.file) else None
            if image is not None and image.is_file():
                data = base64.b64encode(image.read_bytes()).decode("ascii")
                out.append(f'<figure><img alt="{_e(plot.key)}" src="data:image/png;base64,{data}"><figcaption>{_e(plot.caption)}</figcaption></figure>')
            else:
                out.append(f'<figure><div class="plot-error">{_e(plot.caption)}<br>No plot: {_e(plot.error or "missing file")}</div></figure>')
        out.append("</div>")
    return out
