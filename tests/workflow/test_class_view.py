"""The class view: diagnosed mistakes counted once (report and batch alike), mistakes.csv, and the
class overview of a report page (three PNG plots as data: URIs, the mistakes table, or a note)."""
from __future__ import annotations

import base64
import csv
import html
import io
import json
import re
from pathlib import Path

import pytest
from PIL import Image

from autograder import batch, class_view, report
from autograder.batch import run as batch_run
from autograder.class_view import Finding, count_mistakes, diagnosis, findings
from autograder.plots import PNG_SIGNATURE
from tests.workflow.test_report import BATCH_SUM, BIAS, HOSTILE, class_results, diag, fake_results, t

STUDENTS = {
    "s1": [batch.Student("Ada Lovelace", "a@x", "1")],
    "s2": [batch.Student("José O'Neil", "j@x", "2"), batch.Student("Grace Hopper", "g@x", "3")],
    "s3": [batch.Student("Alan Turing", "t@x", "4")],
    "s4": [batch.Student("Eve", "e@x", "5")],
    "s5": [],  # no names: counts as one student, as its one grades.csv row
}


# --------------------------------------------------------------------------- reading a diagnosis


def test_a_diagnosis_is_read_only_when_well_formed_and_on_a_failed_check():
    good = t("1a.2", 0, 2, "wrong", extra=diag("missing_bias", "  the bias\n\tterm "))
    assert diagnosis(good) == ("missing_bias", "the bias term")
    assert diagnosis(t("1a.2", 1, 2, "half", extra=diag("missing_bias", "x"))) == ("missing_bias", "x")  # partial credit: still failed
    malformed = [
        "not a test",
        None,
        t("1a.2", 0, 2),  # no extra_data
        t("1a.2", 0, 2, extra="text"),
        t("1a.2", 0, 2, extra={"diagnosis": None}),
        t("1a.2", 0, 2, extra={"diagnosis": ["missing_bias", "x"]}),
        t("1a.2", 0, 2, extra={"diagnosis": {"hint": "no id"}}),
        t("1a.2", 0, 2, extra={"diagnosis": {"mistake": "no_hint"}}),
        t("1a.2", 0, 2, extra=diag("no_hint", 42)),
        t("1a.2", 0, 2, extra=diag("empty_hint", " \n ")),
        t("1a.2", 0, 2, extra=diag(7, "an id that is a number")),
        t("1a.2", 0, 2, extra=diag("Not-Snake-Case", "h")),
        t("1a.2", 0, 2, extra=diag("trailing_newline\n", "h")),
        t("1a.2", 0, 2, extra=diag("_leading_underscore", "h")),
        t("1a.2", 0, 2, extra=diag("x" * 81, "an id too long")),
        t("1a.2", 2, 2, extra=diag("passed_anyway", "a check that passed")),
        t("1d.1", 0, 0, extra=diag("worth_nothing", "an n/a check")),
        {"number": "1a.2", "score": "lots", "max_score": 2, "extra_data": diag("bad_score", "h")},
        {"number": "1a.2", "score": float("nan"), "max_score": 2, "extra_data": diag("nan_score", "h")},
    ]
    for test in malformed:
        assert diagnosis(test) is None, test
    found = findings([*malformed, good, t("1c.1", 0, 1, extra=diag("missing_bias", "y" * 5000))])
    assert [(f.check, f.mistake) for f in found] == [("1a.2", "missing_bias"), ("1c.1", "missing_bias")]
    assert len(found[1].hint) == class_view.HINT_LIMIT and found[1].hint.endswith("…")
    assert findings("not a list") == findings(None) == findings({"tests": []}) == []


def test_hostile_text_is_cleaned_in_findings():
    (found,) = findings([t("1a\x1b[2J.2 ", 0, 2, extra=diag("hostile", "\x1b]8;;http://x\x07link\u202e\ud800"))])
    assert found.check == "1a\\x1b[2J.2"  # escapes shown as text, no whitespace left in an id
    assert "\x1b" not in found.hint and "\u202e" not in found.hint and "\ud800" not in found.hint
    assert "\\x1b]8;;http://x\\x07link\\u202e" in found.hint


# --------------------------------------------------------------------------- counting


def test_a_submission_counts_once_per_mistake_and_a_group_counts_every_member():
    a = [Finding("1a.2", "missing_bias", "the bias"), Finding("1c.1", "missing_bias", "the bias"), Finding("1a.10", "missing_bias", "the bias term")]
    b = [Finding("1a.2", "missing_bias", "the bias term"), Finding("2.1", "sum_over_batch", "a sum over the batch")]
    c = [Finding("2.1", "sum_over_batch", "a sum over the batch"), "not a finding"]
    counts = count_mistakes([(a, 1), (b, 3), (c, 0), ([], 5)])
    assert [(m.mistake, m.submissions, m.students) for m in counts] == [("missing_bias", 2, 4), ("sum_over_batch", 2, 4)]
    bias = counts[0]
    assert bias.checks == ["1a.2", "1a.10", "1c.1"]  # natural order
    assert bias.hint == "the bias"  # 2 of its 4 findings say so; a tie goes to the first seen
    assert count_mistakes([]) == []
    # fewer submissions sort later, ties by id
    counts = count_mistakes([([Finding("1", "zeta", "z"), Finding("1", "alpha", "a")], 1), ([Finding("1", "zeta", "z")], 1)])
    assert [m.mistake for m in counts] == ["zeta", "alpha"]
    counts = count_mistakes([([Finding("1", "zeta", "z"), Finding("1", "alpha", "a")], 1)])
    assert [m.mistake for m in counts] == ["alpha", "zeta"]


# --------------------------------------------------------------------------- batch: mistakes.csv


def outcomes_of(folder: Path) -> list[batch.Outcome]:
    return [batch.read_outcome(batch.Submission(name, folder / name, STUDENTS[name]), folder / name / "results.json", ["1a", "1c", "2"]) for name in sorted(STUDENTS)]


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_mistakes_csv_counts_submissions_and_students(tmp_path):
    outcomes = outcomes_of(class_results(tmp_path / "out"))
    assert [o.status for o in outcomes] == ["ok"] * 5
    path = tmp_path / "mistakes.csv"
    batch.write_mistakes(path, outcomes)
    assert path.read_text(encoding="utf-8").splitlines()[0] == "mistake,hint,checks,submissions,students"
    rows = read_rows(path)
    assert [(r["mistake"], r["checks"], r["submissions"], r["students"]) for r in rows] == [
        ("missing_bias", "1a.2 1c.1", "2", "3"),  # s1 (two checks, once) and the group s2
        ("sum_over_batch", "2.1", "2", "3"),  # the group s2 and s4
        ("hostile_hint", "1a.2", "1", "1"),
    ]
    assert rows[0]["hint"] == BIAS and rows[1]["hint"] == BATCH_SUM
    assert "\x1b" not in rows[2]["hint"] and rows[2]["hint"].startswith("<script>alert(1)</script> \\x1b[2J")
    # an error row (no points in grades.csv) is not counted; nothing diagnosed: the header alone
    outcomes[1].status = "error: grading did not finish"
    assert [r[0] + " " + r[3] for r in batch.mistakes_rows(outcomes)] == ["hostile_hint 1", "missing_bias 1", "sum_over_batch 1"]
    batch.write_mistakes(path, [outcomes[2], outcomes[4]])
    assert path.read_text(encoding="utf-8") == "mistake,hint,checks,submissions,students\n"


def test_batch_rewrites_mistakes_csv_whenever_it_rewrites_grades_csv(tmp_path, monkeypatch):
    source = class_results(tmp_path / "source")
    export = tmp_path / "export"
    for name in STUDENTS:
        (export / name).mkdir(parents=True)
        (export / name / "q.py").write_text(f"# {name}\n")
    out = tmp_path / "out"
    seen: list[tuple[list[str], list[str]]] = []

    def fake_grade_all(runner, todo, part_ids, fp, jobs, on_done, log):
        for sub, _ in todo:  # what a grader would have written, then the outcome read from it
            (out / sub.name).mkdir(parents=True, exist_ok=True)
            (out / sub.name / "results.json").write_bytes((source / sub.name / "results.json").read_bytes())
            on_done(sub, batch.read_outcome(sub, out / sub.name / "results.json", part_ids))
            seen.append(([r["submission"] for r in read_rows(out / "grades.csv")], [r["mistake"] for r in read_rows(out / "mistakes.csv")]))
        return False

    monkeypatch.setattr(batch_run, "grade_all", fake_grade_all)
    result = batch.run_batch(export, batch.BatchOptions(out=out), log=lambda s: None)
    assert result.mistakes_path == out / "mistakes.csv"
    assert seen == [
        (["s1"], ["missing_bias"]),
        (["s1", "s2"], ["missing_bias", "sum_over_batch"]),
        (["s1", "s2", "s3"], ["missing_bias", "sum_over_batch"]),
        (["s1", "s2", "s3", "s4"], ["missing_bias", "sum_over_batch", "hostile_hint"]),
        (["s1", "s2", "s3", "s4", "s5"], ["missing_bias", "sum_over_batch", "hostile_hint"]),
    ]
    assert [r["students"] for r in read_rows(out / "mistakes.csv")] == ["2", "2", "1"]  # no metadata: one student a submission


# --------------------------------------------------------------------------- the report's class overview


def overview(page: str) -> str:
    start = page.index('<h2 id="overview">')
    return page[start : page.index('<h2 id="sub0">')]


def images(section: str) -> list[tuple[str, bytes]]:
    return [(html.unescape(alt), base64.b64decode(data)) for alt, data in re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,([A-Za-z0-9+/=]+)">', section)]


def test_class_overview_has_three_png_plots_and_the_mistakes_table(tmp_path):
    items = [report.load(p) for p in report.expand([class_results(tmp_path / "out")])]
    page = report.render_html(items, title="class")
    assert page.index("</table>") < page.index('<h2 id="overview">') < page.index('<h2 id="sub0">')  # after the summary table
    section = overview(page)
    found = images(section)
    assert [alt.split(" of ")[0] for alt, _ in found] == ["Histogram", "Pass rate", "Bar chart"]
    for alt, png in found:
        assert png.startswith(PNG_SIGNATURE), alt
        image = Image.open(io.BytesIO(png))
        image.load()  # decoded whole, not just its header
        assert image.format == "PNG" and image.size[0] == 800 and image.size[1] >= 240, (alt, image.size)
    assert section.count("<figcaption>") == 3
    assert "mean 2.2, median 2" in section and "out of 5 points" in section
    assert "not run, or does not apply (n/a), is left out" in section
    cells = re.findall(r"<tr><td><code>([^<]+)</code></td><td>(.*?)</td><td>([^<]*)</td><td class=\"num\">(\d+)</td></tr>", section)
    assert [(m, c, n) for m, _, c, n in cells] == [("missing_bias", "1a.2 1c.1", "2"), ("sum_over_batch", "2.1", "2"), ("hostile_hint", "1a.2", "1")]
    assert cells[0][1] == BIAS
    # the hostile hint is text: escaped, its escape and bidi characters shown, its fake cell end harmless
    assert "<script>alert" not in page and "\x1b" not in page and "\u202e" not in page
    assert cells[2][1].startswith("&lt;script&gt;alert(1)&lt;/script&gt; \\x1b[2J $\\frac{$ \\u202e&lt;/td&gt;")
    for absent in ("passed_anyway", "Not-Snake-Case", "nested_one", "no_hint"):
        assert absent not in page
    assert class_view.pass_rates(items) == [("1a.1", 5, 5), ("1a.2", 1, 5), ("1c.1", 2, 4), ("2.1", 2, 5)]  # s2's 1c.1 was not run
    # the same page again: the same bytes (no timestamp in the images)
    assert overview(report.render_html(items, title="class")) == section
    # the student view leaves out the hidden check, and the mistake found only there
    student = overview(report.render_html(items, title="class", student_view=True))
    assert "hostile_hint" not in student and "missing_bias" in student
    assert class_view.pass_rates(items, student_view=True) == [("1a.1", 5, 5), ("1a.2", 1, 4), ("1c.1", 2, 4), ("2.1", 2, 5)]


def test_without_any_diagnosis_the_overview_says_so_instead_of_plot_c(tmp_path):
    a = fake_results(tmp_path / "a" / "results.json", [t("1a.1", 1, 1), t("1a.2", 0, 2, "wrong", extra={"diagnosis": "malformed"})])
    b = fake_results(tmp_path / "b" / "results.json", [t("1a.1", 0, 1, "wrong"), t("1a.2", 2, 2)])
    broken = tmp_path / "c" / "results.json"
    broken.parent.mkdir()
    broken.write_text("{not json")
    page = report.render_html([report.load(a), report.load(b), report.load(broken)], title="class")
    section = overview(page)
    assert [alt.split(" of ")[0] for alt, _ in images(section)] == ["Histogram", "Pass rate"]
    assert '<p class="meta" id="no-mistakes">No diagnosed mistakes' in section
    assert 'class="mistakes"' not in section and "Total scores of 2 submissions" in section  # the unreadable one is left out


def test_one_submission_has_no_class_overview(tmp_path):
    one = fake_results(tmp_path / "a" / "results.json", [t("1a.2", 0, 2, "wrong", extra=diag("missing_bias", BIAS))])
    page = report.render_html([report.load(one)], title="one")
    assert "Class overview" not in page and "missing_bias" not in page


@pytest.mark.parametrize("score", [float("nan"), float("inf"), 1e308, -1e308])
def test_hostile_numbers_never_break_the_page(tmp_path, score):
    a = fake_results(tmp_path / "a" / "results.json", [t("1a.1", 1, 1)])
    b = tmp_path / "b" / "results.json"
    b.parent.mkdir()
    b.write_text(json.dumps({"score": score, "tests": [t("1a.1", 0, 1, "wrong", extra=diag("odd_score", "$\\frac{$ " + HOSTILE))], "extra_data": {"finished": True, "total_points": score}}))
    section = overview(report.render_html([report.load(a), report.load(b)], title="odd"))
    assert len(images(section)) == 3 and "odd_score" in section and "plot-error" not in section


# --------------------------------------------------------------------------- a real batch, end to end


def test_a_batch_of_catalogue_fixtures_counts_their_named_mistakes_and_the_browser_sees_the_plots(tmp_path):
    """The sample submission and two catalogued mutants, graded by `batch`: mistakes.csv and the
    report's class overview count the mistakes the diagnosis named, and headless Chromium shows
    the three plots and the table."""
    import shutil
    import zipfile

    from autograder.config import PROJECT_ROOT
    from autograder.verify.building import build_submission
    from autograder.verify.catalogue import load_mutants
    from tests.workflow.conftest import cli
    from tests.workflow.test_report import chromium, dom_after_load

    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copy(PROJECT_ROOT / "examples" / "sample_submission.zip", subs / "sample.zip")
    mutants = {m.name: m for m in load_mutants()}
    for name in ("stochastic_rows", "loss_sum"):
        build_submission(mutants[name], subs / name)
    out = tmp_path / "out"
    result = cli("batch", str(subs), "--out", str(out), "--only", "1c,5g", "--jobs", "2", "--shared-sandbox")
    assert result.returncode == 0, result.stdout + result.stderr
    with open(out / "mistakes.csv", newline="", encoding="utf-8") as handle:
        rows = {r["mistake"]: r for r in csv.DictReader(handle)}
    assert {m: (r["checks"], r["submissions"]) for m, r in rows.items()} == {
        "stochastic_rows": ("5g.1", "2"),  # the sample's and the mutant's
        "loss_sum": ("1c.1 1c.2", "1"),
        "loss_sum_over_time": ("1c.1", "1"),
    }
    assert rows["stochastic_rows"]["hint"] == mutants["stochastic_rows"].options["hint"]
    page = tmp_path / "class.html"
    result = cli("report", str(out), "--html", str(page))
    assert result.returncode == 0, result.stderr
    text = page.read_text(encoding="utf-8")
    assert text.count('<img alt="') >= 3 and "stochastic_rows" in text
    if chromium() is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium): the page cannot be rendered headless")
    seen = dom_after_load(page, tmp_path)
    assert len(seen["images"]) == 3 and all(i["complete"] and i["width"] > 0 and i["shown"] > 0 for i in seen["images"]), seen["images"]
    table = [line.split("\t") for line in seen["table"].strip().splitlines()]
    assert table[1][0] == "stochastic_rows" and table[1][3] == "2", table
