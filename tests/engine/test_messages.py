"""What a student reads: enough digits to see a difference, lengths as lengths, named prerequisites,
no grader paths, no library noise. Each test pins the wording of one class of message."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from autograder.checks.compare import CheckFailed, assert_close, assert_equal, distinct, shape_difference
from autograder.messages import say
from autograder.runner import tidy_paths
from tests.support import make_submission, messages, run_grade


def failure(fn, *args, **kwargs) -> str:
    with pytest.raises(CheckFailed) as info:
        fn(*args, **kwargs)
    return info.value.message


def test_numbers_show_as_many_digits_as_it_takes_to_tell_them_apart():
    assert distinct(57.6923, 57.69) == ("57.692", "57.69")
    assert distinct(1.0, 1.0000001) == ("1", "1.0000001")
    message = failure(assert_close, 57.69, 57.692307692, "accuracy", 1e-6, 0.0)
    assert "expected 57.692, got 57.69" in message


def test_a_length_difference_reads_as_a_length():
    assert shape_difference((4,), (5,)) == " (too long by 1)"
    assert shape_difference((2, 4, 3), (2, 3, 3)) == " (too short by 1 along axis 1)"
    assert shape_difference((2, 3), (3, 4)) == ""
    message = failure(assert_close, np.zeros(5), np.zeros(4), "all_h", 1e-4, 1e-5)
    assert message == "all_h: expected shape (4,), got shape (5,) (too long by 1)."
    assert failure(assert_equal, 5, 4, "len(layer.h_list) after a forward pass over 4 steps").endswith("expected 4, got 5 (too many by 1).")
    assert "3 items instead of 2: too long by 1" in failure(assert_equal, [1, 2, 3], [1, 2], "keys")


def test_prerequisites_are_named_with_their_titles_and_the_grammar_follows_their_number():
    one = say("depends", deps="1a.3 (RNNLayer forward)")
    many = say("depends_many", deps="1a.3 (RNNLayer forward); 1b.2 (read-out)")
    assert one.startswith("This check runs your code graded by 1a.3 (RNNLayer forward), which fails its own check")
    assert "which fail their own checks: fix those first" in many


def test_the_grader_s_paths_are_shown_as_the_student_knows_them(tmp_path):
    import sysconfig

    base = tmp_path / "autograder-grade-x"
    site = sysconfig.get_paths()["purelib"]
    text = f'File "{base}/submission/q_rnn_and_grad.py", line 3\n{site}/torch/nn/modules/module.py:1: UserWarning\n{base}/scratch-4/out.png'
    tidy = tidy_paths(text, base)
    assert 'File "q_rnn_and_grad.py", line 3' in tidy
    assert "site-packages/torch/nn/modules/module.py" in tidy and site not in tidy
    assert str(base) not in tidy and "out.png" in tidy


@pytest.fixture(scope="module")
def graded_messages(tmp_path_factory) -> dict:
    """One grading of cases that produce each class of message (1c: a syntax error elsewhere in the file is not used)."""
    root = tmp_path_factory.mktemp("messages")
    noisy = make_submission(
        root / "noisy",
        {
            "q_graph_clustering": [
                (
                    "def get_degree_matrix(A: np.ndarray) -> np.ndarray:\n",
                    "def get_degree_matrix(A: np.ndarray) -> np.ndarray:\n"
                    "    import warnings\n"
                    "    warnings.warn('STUDENT-WARNING from the student code')\n"
                    "    import torch\n"
                    "    torch.tensor([1.0]).resize(2)  # a library warning, raised from inside torch\n",
                )
            ]
        },
        modules=("q_graph_clustering",),
    )
    _, noisy_results = run_grade(noisy, root / "noisy.json", only=("5d",))
    broken = root / "broken"
    broken.mkdir()
    (broken / "q_graph_clustering.py").write_text("def get_adjacency_matrix(gamma, X):\n    return (\n")
    _, broken_results = run_grade(broken, root / "broken.json", only=("5c",))
    return {"noisy": noisy_results, "broken": broken_results}


def test_library_warnings_are_dropped_and_the_student_s_own_are_shown(graded_messages):
    output = {t["number"]: t["output"] for t in graded_messages["noisy"]["tests"]}["5d.1"]
    assert "STUDENT-WARNING" in output
    assert "site-packages" not in output and "/torch/" not in output


def test_a_syntax_error_has_no_smallest_failing_input(graded_messages):
    for test in graded_messages["broken"]["tests"]:
        if test["number"].startswith("5c"):
            assert "syntax error" in test["output"], test["output"]
            assert "Smallest failing input" not in test["output"], test["output"]


def test_a_test_s_name_does_not_repeat_its_number_and_no_uid_is_shown(graded_messages):
    results = graded_messages["noisy"]
    for test in results["tests"]:
        assert not test["name"].startswith(test["number"]), test["name"]
    uid = results["extra_data"]["sandbox"]["uid"]
    if uid is not None:
        assert str(uid) not in results["output"]
        assert str(uid) not in json.dumps(results["tests"])


@pytest.fixture(scope="module")
def part1_messages(tmp_path_factory) -> dict:
    """Two part-1 gradings: a loss that returns a Python float, and an RNNLayer that drops W^h h_{t-1}."""
    root = tmp_path_factory.mktemp("part1")
    float_loss = make_submission(root / "float_loss", {"q_rnn_and_grad": [("    return F.mse_loss(pred, y)\n", "    return F.mse_loss(pred, y).item()\n")]}, modules=("q_rnn_and_grad",))
    no_recurrence = make_submission(root / "no_recurrence", {"q_rnn_and_grad": [("h = self.nonlinearity(self.W_h(h) + self.W_x(x[:, t, :]))", "h = self.nonlinearity(self.W_h(0 * h) + self.W_x(x[:, t, :]))")]}, modules=("q_rnn_and_grad",))
    return {
        "float_loss": messages(run_grade(float_loss, root / "float_loss.json", only=("1c", "1d"))[1]),
        "no_recurrence": messages(run_grade(no_recurrence, root / "no_recurrence.json", only=("1a", "1d"))[1]),
    }


def test_a_loss_that_cannot_be_back_propagated_fails_1c_and_says_why(part1_messages):
    message = part1_messages["float_loss"]["1c.1"]
    assert "expected a torch tensor the training loop can call .backward() on, got a float" in message
    assert "did you call .item()" in message


def test_a_check_graded_with_a_stand_in_says_which_piece_and_why(part1_messages):
    # 1d.1 runs the student's hidden_grad_norms on a model; with 1c broken the grader's loss stands in.
    assert "Graded with the grader's stand-in for loss_fn in place of yours, because 1c" in part1_messages["float_loss"]["1d.1"]
    assert "that bug costs only its own check" in part1_messages["float_loss"]["1d.1"]
    assert "Graded with the grader's stand-in for RNNLayer in place of yours, because 1a" in part1_messages["no_recurrence"]["1d.1"]
