"""The rubric is data: every entry is valid, has a check function, and vice versa."""
import pytest

from autograder import checks, messages, rubric


def test_the_shipped_rubric_is_valid_and_every_entry_has_a_check():
    loaded = rubric.load()
    registered = checks.registry()
    ids = [c.id for c in loaded.checks]
    assert ids and len(ids) == len(set(ids))
    assert set(ids) == set(registered), "rubric ids and registered check functions differ"


def test_dependencies_point_backwards_to_existing_checks():
    loaded = rubric.load()
    seen = set()
    for check in loaded.checks:
        assert set(check.depends) <= seen
        seen.add(check.id)


@pytest.mark.parametrize(
    "text, complaint",
    [
        ('[[check]]\nid = "1z.1"\ntitle = "t"\npoints = 1\nmodule = "q_rnn_and_grad"\n', "is not"),
        ('[[check]]\nid = "1a.1"\ntitle = "t"\npoints = 1\nmodule = "q_rnn_and_grad"\nvisibility = "sometimes"\n', "visibility"),
        ('[[check]]\nid = "1a.1"\ntitle = "t"\npoints = 1\nmodule = "q_rnn_and_grad"\npoints_typo = 2\n', "unknown fields"),
        ('[[check]]\nid = "1a.1"\ntitle = "t"\npoints = 1\nmodule = "q_rnn_and_grad"\ndepends = ["1a.2"]\n', "not an earlier check"),
        ('[[check]]\nid = "1a.1"\ntitle = "t"\npoints = 1\nmodule = "q_nope"\n', "module"),
    ],
)
def test_malformed_rubrics_are_refused_with_a_reason(tmp_path, text, complaint):
    path = tmp_path / "rubric.toml"
    path.write_text(text)
    with pytest.raises(rubric.RubricError, match=complaint):
        rubric.load(path)


def test_messages_round_numbers_to_four_significant_digits():
    assert messages.fmt(0.123456789) == "0.1235"
    assert messages.fmt((1, 2.0000001)) == "(1, 2)"
    assert messages.fmt(float("nan")) == "nan"
