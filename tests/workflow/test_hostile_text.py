"""What a submission prints or raises (lone surrogates, terminal escapes, OSC-8 links, bidi
overrides) reaches results.json, the instructor's terminal and the HTML report as valid
UTF-8 with every control sequence shown as text, never obeyed; ``grade`` exits 0 and
``report`` writes a whole page (atomically: never a 0-byte one)."""
from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path

import pytest

from autograder import report as report_mod
from autograder.results import ResultsWriter, TestResult
from autograder.runner import GradeReport, Outcome
from tests.workflow.conftest import REFERENCE, cli

# Raw characters that must never reach a terminal or a page: C0 (but \t and \n), DEL, C1, bidi.
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")

HOSTILE = '''

_honest_loss_fn = loss_fn


def loss_fn(pred, y, last_timestep_only=False):
    import os as _os
    print("\\x1b[8mhidden\\x1b[0m \\x1b]8;;https://evil.example\\x1b\\\\click\\x1b]8;;\\x1b\\\\ \\x1b[2J\\x1b[H \\u202egnp.exe \\x9b31m Nguy\\u1ec5n", flush=True)
    _os.write(1, b"raw \\xed\\xa0\\x80 \\xff\\xfe bytes\\r\\n")
    if last_timestep_only:
        raise ValueError("bad " + chr(0xD800) + " \\x1b[31mred\\x1b[0m \\u2066isolate\\u2069 \\x1b]8;;https://evil.example\\x07x")
    return _honest_loss_fn(pred, y, last_timestep_only)
'''


def assert_clean_text(text: str, where: str) -> None:
    found = FORBIDDEN.search(text)
    assert found is None, f"{where}: raw {found.group()!r} at {found.start()}: {text[max(0, found.start() - 60):found.start() + 60]!r}"


def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


@pytest.mark.skipif(os.geteuid() != 0, reason="grades in the sandbox as production does (root)")
def test_grading_a_submission_that_prints_and_raises_escapes_and_surrogates(tmp_path):
    sub = tmp_path / "sub"
    sub.mkdir()
    os.chmod(tmp_path, 0o755)
    os.chmod(sub, 0o755)
    (sub / "q_rnn_and_grad.py").write_text((REFERENCE / "q_rnn_and_grad.py").read_text() + HOSTILE)
    results = tmp_path / "results.json"
    graded = cli("grade", str(sub), "--only", "1c.1,1c.2", "--results", str(results), timeout=600)
    assert graded.returncode == 0, graded.stdout + graded.stderr
    assert_clean_text(graded.stdout, "the table grade printed")
    raw = results.read_bytes()
    data = json.loads(raw.decode("utf-8"))  # strict UTF-8
    for text in strings(data):
        assert_clean_text(text, "results.json")
    tests = {t["number"]: t for t in data["tests"]}
    assert tests["1c.1"]["score"] == tests["1c.1"]["max_score"]
    assert tests["1c.2"]["score"] == 0
    assert "bad \ufffd \\x1b[31mred\\x1b[0m \\u2066isolate\\u2069" in tests["1c.2"]["output"]
    assert "\\x1b]8;;https://evil.example\\x1b\\click" in tests["1c.1"]["output"]
    assert "Nguyễn" in tests["1c.1"]["output"], "legitimate non-ASCII text is kept"
    page = tmp_path / "page.html"
    rendered = cli("report", str(results), "--html", str(page))
    assert rendered.returncode == 0, rendered.stderr
    html = page.read_bytes().decode("utf-8")
    assert len(html) > 1000 and "1c.2" in html and "Nguyễn" in html
    assert_clean_text(html, "the report page")


def hand_made(path: Path, output: str) -> Path:
    """A results.json as an old grader, or a person, might have written it: ensure_ascii JSON
    with lone surrogates and raw escape characters in its strings."""
    payload = {
        "score": 1,
        "output": "summary \x1b[2J \ud800",
        "extra_data": {"finished": True, "grader_version": "0.9 \x1b[5m", "submission": {"modules": {"q_rnn_and_grad": "hw7/\u202eyp.q_rnn_and_grad.py"}}},
        "tests": [
            {"number": "1c.1", "name": "1c.1 loss \udcff", "score": 1, "max_score": 1, "visibility": "visible", "output": output},
            {"number": "1c.2", "name": "1c.2 Ó Briain", "score": 0, "max_score": 1, "visibility": "visible", "output": "plain"},
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload), encoding="ascii")
    return path


def test_report_of_hand_made_results_with_surrogates_and_escapes_is_a_whole_clean_page(tmp_path):
    hand_made(tmp_path / "class" / "alice" / "results.json", "Your code raised ValueError: \ud800 \x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ \x9b2J")
    hand_made(tmp_path / "class" / "bob" / "results.json", "fine")
    page = tmp_path / "class.html"
    rendered = cli("report", str(tmp_path / "class"), "--html", str(page))
    assert rendered.returncode == 0, rendered.stderr
    html = page.read_bytes().decode("utf-8")
    assert html.count('<h2 id="sub') == 2 and html.count('<h2 id="overview">') == 1 and "Ó Briain" in html
    assert "\\x1b]8;;http://x\\x1b\\link" in html and "\ufffd" in html
    assert_clean_text(html, "the class page")


def test_a_failed_page_write_leaves_the_previous_page_and_no_partial_file(tmp_path, monkeypatch):
    page = tmp_path / "report.html"
    page.write_text("previous page")

    def refuse(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr("autograder.results.os.replace", refuse)  # the page is written by results.atomic_write
    with pytest.raises(OSError):
        report_mod.write_page(page, "<html>new \ud800</html>")
    assert page.read_text() == "previous page"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_write_page_writes_surrogates_as_valid_utf8(tmp_path):
    page = tmp_path / "sub" / "report.html"
    report_mod.write_page(page, "<p>\ud800 Nguyễn</p>")
    assert page.read_bytes().decode("utf-8") == "<p>? Nguyễn</p>"


def test_results_json_from_hostile_text_is_valid_utf8_without_escapes(tmp_path):
    writer = ResultsWriter(str(tmp_path / "results.json"), {"submission": {"modules": {"q": "a\x1b[8m\ud800.py"}, "notes": ["Took \u202eyp.x for q"]}})
    writer.record(TestResult("1c.1", "1c.1 loss \ud800", 0, 1, "failed", "visible", "raised \ud800\r\n\x1b]8;;http://x\x1b\\y\x1b]8;;\x1b\\ " + "z" * 10_000))
    writer.output = "summary \x1b[2J\x1b[H Nguyễn"
    writer.write(finished=True)
    raw = (tmp_path / "results.json").read_bytes()
    data = json.loads(raw.decode("utf-8"))
    for text in strings(data):
        assert_clean_text(text, "results.json")
    assert data["tests"][0]["output"].startswith("raised \ufffd\n\\x1b]8;;http://x\\x1b\\y")
    assert len(data["tests"][0]["output"]) <= 4000 and "more characters cut" in data["tests"][0]["output"]
    assert data["output"] == "summary \\x1b[2J\\x1b[H Nguyễn"
    assert data["extra_data"]["submission"]["modules"]["q"] == "a\\x1b[8m\ufffd.py"


@pytest.mark.parametrize("encoding", ["utf-8", "ascii", "latin-1"])
def test_the_table_printer_never_raises_and_never_prints_an_escape(encoding):
    from autograder.cli.grade import print_table

    report = GradeReport(outcomes=[
        Outcome("1c.1", "loss \ud800", 0, 1, "failed", "Your code raised ValueError: \ud800 \x1b[8mhidden \x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\\nsecond line"),
        Outcome("1c.2", "Nguyễn Ó Briain", 1, 1, "passed", "Passed.\u202e"),
    ])
    buffer = io.BytesIO()
    stream = io.TextIOWrapper(buffer, encoding=encoding, errors="strict")
    print_table(report, stream)
    stream.flush()
    text = buffer.getvalue().decode(encoding)
    assert_clean_text(text, "the table")
    assert "\\x1b[8mhidden" in text and "second line" not in text
    if encoding == "utf-8":
        assert "Nguyễn Ó Briain" in text
