"""results.json is valid from the first moment, rewritten atomically, capped, and never follows links."""
import json
import os

from autograder.results import TEST_OUTPUT_CAP, ResultsWriter, TestResult


def test_fail_closed_file_scores_zero_and_says_why(tmp_path):
    writer = ResultsWriter(str(tmp_path / "results.json"), {"grader_version": "x"})
    writer.fail_closed("Grading did not finish")
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["score"] == 0 and data["tests"] == [] and "did not finish" in data["output"]
    assert data["extra_data"]["finished"] is False


def test_each_recorded_test_is_written_immediately_with_output_capped(tmp_path):
    writer = ResultsWriter(str(tmp_path / "results.json"), {})
    writer.record(TestResult("1a.1", "1a.1 t", 1, 1, "passed", "visible", "ok"))
    writer.record(TestResult("1a.2", "1a.2 t", 0, 2, "failed", "hidden", "x" * 50_000))
    data = json.loads((tmp_path / "results.json").read_text())
    assert [t["number"] for t in data["tests"]] == ["1a.1", "1a.2"]
    assert data["score"] == 1
    assert len(data["tests"][1]["output"]) <= TEST_OUTPUT_CAP
    assert data["tests"][1]["visibility"] == "hidden"


def test_a_planted_symlink_is_replaced_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    os.symlink(victim, tmp_path / "results.json")
    ResultsWriter(str(tmp_path / "results.json"), {}).fail_closed()
    assert victim.read_text() == "precious"
    assert not os.path.islink(tmp_path / "results.json")
