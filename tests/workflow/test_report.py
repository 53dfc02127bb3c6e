"""``report``: a self-contained HTML page (tables, messages, plots as data: URIs), checked in a headless browser."""
from __future__ import annotations

import base64
import html
import io
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from autograder import plots as plots_mod
from autograder import report as report_mod
from tests.workflow.conftest import REFERENCE, TEMPLATE, cli, copy_modules


def fake_results(path: Path, tests: list[dict], finished: bool = True, output: str = "Graded: q_rnn_and_grad.py.") -> Path:
    payload = {
        "score": sum(t["score"] for t in tests if isinstance(t, dict)),
        "execution_time": 1.0,
        "output": output,
        "extra_data": {"grader_version": "1.0.0", "rubric_version": "test", "finished": finished, "submission": {"modules": {"q_rnn_and_grad": "q_rnn_and_grad.py"}}},
        "tests": tests,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload))
    return path


def t(number: str, score: float, max_score: float, output: str = "Passed.", visibility: str = "visible", extra=None) -> dict:
    test = {"number": number, "name": f"{number} title of {number}", "score": score, "max_score": max_score, "status": "passed" if score >= max_score else "failed", "visibility": visibility, "output": output}
    if extra is not None:
        test["extra_data"] = extra
    return test


def diag(mistake, hint) -> dict:
    return {"diagnosis": {"mistake": mistake, "hint": hint}}


BIAS = "the bias of the hidden layer"
BATCH_SUM = "a sum over the batch axis instead of the time axis"
HOSTILE = "<script>alert(1)</script> \x1b[2J $\\frac{$ \u202e</td>"


def class_results(out: Path) -> Path:
    """A batch output of five submissions (one a group of two) with diagnosed, malformed and hostile mistakes.

    missing_bias: s1 (in 1a.2 and 1c.1: counted once) and s2 (a group) -> 2 submissions, 3 students;
    sum_over_batch: s2 and s4 -> 2 submissions, 3 students; hostile_hint: s4 (a hidden check) -> 1.
    s3's diagnoses are all malformed, or on a check that passed. Scores 2, 1, 1, 2, 5 of 5.
    """
    fake_results(out / "s1" / "results.json", [t("1a.1", 1, 1), t("1a.2", 0, 2, "wrong", extra=diag("missing_bias", BIAS)), t("1c.1", 0, 1, "wrong", extra=diag("missing_bias", "  the bias\nof the hidden layer ")), t("2.1", 1, 1)])
    fake_results(out / "s2" / "results.json", [t("1a.1", 1, 1), t("1a.2", 0, 2, "wrong", extra=diag("missing_bias", BIAS)), t("1c.1", 0, 1, "Not run: 1a failed."), t("2.1", 0, 1, "wrong", extra=diag("sum_over_batch", BATCH_SUM))])
    fake_results(
        out / "s3" / "results.json",
        [
            t("1a.1", 1, 1, extra=diag("passed_anyway", "a check that passed")),
            t("1a.2", 0, 2, "wrong", extra="not an object"),
            t("1c.1", 0, 1, "wrong", extra={"diagnosis": ["missing_bias", BIAS]}),
            t("2.1", 0, 1, "wrong", extra={"diagnosis": {"mistake": "Not-Snake-Case", "hint": "h"}, "more": [{"diagnosis": {"mistake": "nested_one", "hint": "h"}}]}),
            "not a test",
        ],
    )
    fake_results(out / "s4" / "results.json", [t("1a.1", 1, 1), t("1a.2", 0, 2, "wrong", visibility="hidden", extra=diag("hostile_hint", HOSTILE)), t("1c.1", 1, 1), t("2.1", 0, 1, "wrong", extra=diag("sum_over_batch", BATCH_SUM))])
    fake_results(out / "s5" / "results.json", [t("1a.1", 1, 1), t("1a.2", 2, 2), t("1c.1", 1, 1), t("2.1", 1, 1, extra=diag("no_hint", 42))])
    rows = [("s1", "Ada Lovelace"), ("s2", "José O'Neil"), ("s2", "Grace Hopper"), ("s3", "Alan Turing"), ("s4", "Eve"), ("s5", "Barbara Liskov")]
    (out / "grades.csv").write_text("submission,student,sid,email,1a,1c,2,total,max,status,seconds\n" + "".join(f"{s},{n},,,0,0,0,0,5,ok,1.0\n" for s, n in rows), encoding="utf-8")
    return out


def test_page_is_self_contained_escaped_and_complete(tmp_path):
    results = fake_results(
        tmp_path / "r" / "results.json",
        [
            t("1a.1", 1, 1),
            t("1a.2", 0, 2, "all_h: differs <script>alert(1)</script> & more\nsecond line"),
            t("1c.1", 0, 1, "Not run: this run grades only 1a."),
            t("1d.1", 0, 0, "Not part of the notebook version of the homework"),
            t("5g.2", 1, 2, "half", visibility="hidden"),
        ],
    )
    out = tmp_path / "page.html"
    result = cli("report", str(results), "--html", str(out))
    assert result.returncode == 0, result.stderr
    page = out.read_text()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page
    assert not re.search(r"""(src|href)=["'](https?:)?//""", page), "no external resources"
    assert "<style>" in page and "<link" not in page
    for status in ("passed", "failed", "not run", "n/a", "partial"):
        assert f">{status}</td>" in page, status
    assert re.search(r"<td>1a</td><td class=\"num st\">1 / 3</td><td class=\"num\">1 / 2</td>", page)
    assert '<span class="badge">hidden</span>' in page
    student = tmp_path / "student.html"
    assert cli("report", str(results), "--html", str(student), "--student-view").returncode == 0
    assert "5g.2" not in student.read_text()


def test_unfinished_and_unreadable_results_are_flagged(tmp_path):
    unfinished = fake_results(tmp_path / "a" / "results.json", [t("1a.1", 0, 1, "Grading did not finish")], finished=False)
    broken = tmp_path / "b" / "results.json"
    broken.parent.mkdir()
    broken.write_text("{not json")
    page = report_mod.render_html([report_mod.load(unfinished), report_mod.load(broken)])
    assert "Grading did not finish: this score is provisional" in page
    assert "cannot read" in page


def test_png_validation_rejects_junk():
    with pytest.raises(ValueError):
        plots_mod.clean_png(b"GIF89a not a png")
    with pytest.raises(ValueError):
        plots_mod.clean_png(plots_mod.PNG_SIGNATURE + b"truncated")
    buffer = io.BytesIO()
    Image.new("RGB", (20, 10), (255, 0, 0)).save(buffer, format="PNG")
    clean = plots_mod.clean_png(buffer.getvalue())
    assert Image.open(io.BytesIO(clean)).size == (20, 10)


@pytest.fixture(scope="module")
def graded_reference(tmp_path_factory) -> tuple[Path, Path]:
    """Part 1c of the reference, graded for real (sandboxed), and its submission folder."""
    base = tmp_path_factory.mktemp("graded")
    submission = copy_modules(REFERENCE, base / "submission")
    results = base / "out" / "results.json"
    result = cli("grade", str(submission), "--results", str(results), "--only", "1c", "--quiet", "--shared-sandbox")
    assert result.returncode == 0, result.stderr
    return results, submission


def test_plots_render_in_the_sandbox(graded_reference, tmp_path):
    _, submission = graded_reference
    folder = tmp_path / "plots"
    results = plots_mod.render(submission, folder, keys=("1d", "3a", "5f", "5g"), shared_sandbox=True)
    by_key = {r.key: r for r in results}
    assert set(by_key) == {"1d_gradient_flow", "3a_latent_loss", "3a_latent_accuracy", "5f_clusters_M", "5g_clusters_stochastic"}
    for r in results:
        assert r.error is None and r.file, (r.key, r.error)
        image = Image.open(folder / r.file)
        assert image.format == "PNG" and image.size[0] > 300 and image.size[1] > 200
        pixels = np.asarray(image.convert("RGB"))
        assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 20, "a drawn plot, not a blank image"
    manifest = json.loads((folder / "plots.json").read_text())
    assert set(manifest) == set(by_key)


def test_plot_failures_are_reported_not_fatal(tmp_path):
    submission = copy_modules(TEMPLATE, tmp_path / "template", modules=("q_rnn_and_grad",))
    (submission / "q_graph_clustering.py").write_text("import numpy as np\ndef get_adjacency_matrix(gamma, X):\n    raise NotImplementedError('5c: adjacency')\n")
    results = plots_mod.render(submission, tmp_path / "plots", keys=("1d", "3a", "5f"), shared_sandbox=True)
    by_key = {r.key: r for r in results}
    assert "NotImplementedError" in by_key["1d_gradient_flow"].error and by_key["1d_gradient_flow"].file is None
    assert "not found in the submission" in by_key["3a_latent_loss"].error
    assert "5c: adjacency" in by_key["5f_clusters_M"].error


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def screenshot(page: Path, png: Path, size=(1200, 2000)) -> None:
    browser = chromium()
    if browser is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium): the page cannot be rendered headless")
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}", f"--screenshot={png}", f"--window-size={size[0]},{size[1]}", page.resolve().as_uri()],
            capture_output=True,
            text=True,
            timeout=180,
        )
    assert png.is_file(), proc.stderr[-2000:]


BROWSER_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync")

# Added to a copy of a page (the report itself has no script): once the page has loaded, it
# writes what the browser made of it into the DOM, which --dump-dom prints.
PROBE = """<script>window.addEventListener("load", function () {
  var images = Array.from(document.querySelectorAll("#overview ~ .overview img"));
  var table = document.querySelector("table.mistakes");
  var found = {
    images: images.map(function (i) { return {alt: i.alt, complete: i.complete, width: i.naturalWidth, height: i.naturalHeight, shown: i.getBoundingClientRect().width}; }),
    table: table ? table.innerText : null,
    scripts: document.scripts.length,
  };
  var out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify(found);
  document.body.appendChild(out);
});</script>"""


def dom_after_load(page: Path, tmp_path: Path) -> dict:
    """What headless Chromium saw of ``page`` once it had loaded (the PROBE's findings)."""
    browser = chromium()
    if browser is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium): the page cannot be rendered headless")
    probed = tmp_path / f"probed-{page.name}"
    text = page.read_text(encoding="utf-8")
    assert text.count("</body>") == 1
    probed.write_text(text.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [browser, *BROWSER_FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=10000", "--dump-dom", probed.resolve().as_uri()],
            capture_output=True,
            text=True,
            timeout=180,
        )
    found = re.search(r'<pre id="probe">(.*?)</pre>', proc.stdout, re.S)
    assert found, f"the probe did not run: {proc.stderr[-2000:]}"
    return json.loads(html.unescape(found.group(1)))


def test_class_overview_renders_in_a_headless_browser(tmp_path):
    if chromium() is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium): the page cannot be rendered headless")
    out = class_results(tmp_path / "batch")
    page = tmp_path / "class.html"
    result = cli("report", str(out), "--html", str(page), "--title", "Class report")
    assert result.returncode == 0, result.stderr
    assert "<script" not in page.read_text(encoding="utf-8").replace("&lt;script", "")  # the page has no script of its own
    seen = dom_after_load(page, tmp_path)
    assert seen["scripts"] == 1, "only the probe runs: the hostile hint's <script> is text"
    assert [i["alt"].split(" of ")[0] for i in seen["images"]] == ["Histogram", "Pass rate", "Bar chart"], seen["images"]
    for image in seen["images"]:
        assert image["complete"] and image["width"] == 800 and image["height"] >= 240 and image["shown"] > 0, image
    lines = [line.split("\t") for line in seen["table"].strip().splitlines()]
    assert lines[0] == ["mistake", "hint", "checks", "submissions"]
    assert lines[1] == ["missing_bias", BIAS, "1a.2 1c.1", "2"] and lines[2] == ["sum_over_batch", BATCH_SUM, "2.1", "2"]
    assert lines[3][0] == "hostile_hint" and lines[3][1].startswith("<script>alert(1)</script> \\x1b[2J $\\frac{$ \\u202e</td>"), lines[3]
    # naturalWidth comes from a PNG's header: that the bars are drawn on the page shows the images decode
    shot = tmp_path / "class.png"
    screenshot(page, shot, (1200, 1600))
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    red = np.abs(pixels.astype(int) - np.array([0x9B, 0x1C, 0x1C])).sum(axis=2) < 30
    assert red.sum() > 2000, "the mistakes' bars are not drawn on the page"


def test_report_with_plots_renders_in_a_headless_browser(graded_reference, tmp_path):
    if chromium() is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium): the page cannot be rendered headless")
    results, submission = graded_reference
    page = tmp_path / "report.html"
    result = cli("report", str(results), "--plots", str(submission), "--plots-only", "1d,3a", "--html", str(page), "--shared-sandbox", "--title", "HW7 report")
    assert result.returncode == 0, result.stderr
    html_text = page.read_text()
    images = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,([^"]+)"', html_text)
    assert [name for name, _ in images] == ["1d_gradient_flow", "3a_latent_loss", "3a_latent_accuracy"]
    for _, data in images:
        assert Image.open(io.BytesIO(base64.b64decode(data))).format == "PNG"
    shot = tmp_path / "shot.png"
    screenshot(page, shot)
    image = Image.open(shot).convert("RGB")
    assert image.size == (1200, 2000)
    pixels = np.asarray(image)
    colours = len(np.unique(pixels.reshape(-1, 3), axis=0))
    assert colours > 200, f"only {colours} colours: the page did not render its tables and plots"
    ink = (pixels.sum(axis=2) < 600).mean()
    assert ink > 0.02, f"{ink:.3f} of the pixels are not white: blank page?"
    # the green 'passed' cells of the part table are drawn (background #d9f2dd)
    assert np.any(np.all(pixels == np.array([0xD9, 0xF2, 0xDD]), axis=2)), "no 'passed' cell rendered"
    # the plots (coloured curves) are drawn: saturated blue from matplotlib's default cycle
    blue = np.abs(pixels.astype(int) - np.array([31, 119, 180])).sum(axis=2) < 60
    assert blue.sum() > 500, "no plot curves rendered"


def test_batch_folder_report_lists_every_submission(tmp_path):
    out = tmp_path / "batch"
    fake_results(out / "s1" / "results.json", [t("1a.1", 1, 1), t("2.1", 0, 1, "wrong")])
    fake_results(out / "s2" / "results.json", [t("1a.1", 0, 1, "nope"), t("2.1", 1, 1)])
    (out / "grades.csv").write_text("submission,student,sid,email,1a,2,total,max,status,seconds\ns1,Ada Lovelace,1,a@x,1,0,1,2,ok,1.0\ns2,Alan Turing,2,b@x,0,1,1,2,ok,1.0\n")
    page = tmp_path / "all.html"
    result = cli("report", str(out), "--html", str(page))
    assert result.returncode == 0, result.stderr
    text = page.read_text()
    assert '<a href="#sub0">s1: Ada Lovelace</a>' in text and '<a href="#sub1">s2: Alan Turing</a>' in text
    assert text.count('<h2 id="sub') == 2 and text.count('<h2 id="overview">Class overview</h2>') == 1
    shot = tmp_path / "all.png"
    if chromium():
        screenshot(page, shot, (1000, 900))
        assert Image.open(shot).size == (1000, 900)
