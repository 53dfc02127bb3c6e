"""Part 2 (q_rnn_last_name) checks: the reference gets full marks, the template gets zero with
"not implemented" on every check, each realistic bug costs exactly its own check, and
legitimately different implementations get full marks.

Every submission is graded once per test module (sandboxed, part 2 only) and shared by the
tests. The training check's margin across seeds is measured in-process (slow).
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.support import TEMPLATE, GradedPart, catalogue_bugs, failed_ids, make_submission, messages, run_grade, scores

PART = "2"
MODULE = "q_rnn_last_name"
CHECKS = ("2.1", "2.2", "2.3", "2.4")

FORWARD_BODY = """        rnn_out, _ = self.rnn(self.embedding(x))
        index = last_pos.view(-1, 1, 1).expand(-1, 1, rnn_out.size(2))
        last = rnn_out.gather(1, index).squeeze(1)
        return self.output(self.drop(last))"""

INIT_BODY = """        self.embedding = nn.Embedding(vocab_size, rnn_size)
        between_layers = dropout if num_layers > 1 else 0.0
        if model_type == "rnn":
            self.rnn = nn.RNN(
                rnn_size,
                rnn_size,
                num_layers=num_layers,
                nonlinearity="tanh",
                dropout=between_layers,
                batch_first=True,
            )"""

LETTER = "return all_letters.index(letter)"

# ------------------------------------------------------------------ realistic bugs: from the proof catalogue (mutants/part2.toml)

BUGS = catalogue_bugs(PART, [
    "letter_index_one_based", "output_created_before_rnn", "dropout_on_logits", "last_step_of_padded_batch", "classifier_output_detached",
])

# More bugs, each graded separately (slow).
MORE_BUGS = catalogue_bugs(PART, ["rnn_dropout_not_passed", "output_created_first", "returns_log_probabilities", "parameters_frozen"])

# Reading the letter before last_pos is a forward bug (2.3); trained that way the model also
# scores a few points lower, so 2.4 may fail too, flagged as depending on 2.3.
OFF_BY_ONE = catalogue_bugs(PART, ["last_pos_off_by_one"])["last_pos_off_by_one"][1]

# ------------------------------------------------------------------ legitimately different, correct implementations

ALTERNATIVES: dict[str, list[tuple[str, str]]] = {
    # A dict lookup, dropout passed straight to nn.RNN (also with one layer), indexing by arange.
    "arange_indexing": [
        (LETTER, "return {c: i for i, c in enumerate(all_letters)}[letter]"),
        (INIT_BODY, """        self.embedding = nn.Embedding(vocab_size, rnn_size)
        if model_type == "rnn":
            self.rnn = nn.RNN(rnn_size, rnn_size, num_layers, batch_first=True, dropout=dropout)"""),
        (FORWARD_BODY, """        out, _ = self.rnn(self.embedding(x))
        last = out[torch.arange(out.shape[0]), last_pos, :]
        return self.output(self.drop(last))"""),
    ],
    # A loop over the alphabet, a time-major RNN (batch_first=False) and an explicit loop over rows.
    "time_major_loop": [
        (LETTER, "for i, c in enumerate(all_letters):\n        if c == letter:\n            return i\n    raise ValueError(letter)"),
        ("                batch_first=True,\n            )", "            )"),
        (FORWARD_BODY, """        out, _ = self.rnn(self.embedding(x).transpose(0, 1))  # (T, B, H)
        rows = []
        for i in range(x.shape[0]):
            rows.append(out[int(last_pos[i]), i])
        return self.output(self.drop(torch.stack(rows)))"""),
    ],
}

# A packed sequence whose final hidden state is the output at last_pos (slow).
PACKED = [
    (FORWARD_BODY, """        packed = nn.utils.rnn.pack_padded_sequence(self.embedding(x), (last_pos + 1).cpu(), batch_first=True, enforce_sorted=False)
        _, h_n = self.rnn(packed)
        return self.output(self.drop(h_n[-1]))"""),
]


# ------------------------------------------------------------------ grading each submission once


Graded = GradedPart


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    return Graded(tmp_path_factory.mktemp("part2"), MODULE, PART)


def part_scores(results: dict) -> dict[str, tuple[float, float]]:
    return {k: v for k, v in scores(results).items() if k.startswith(PART + ".")}


# ------------------------------------------------------------------ fast: one grading per submission


def test_the_probe_trains_on_the_homework_training_split_and_holds_no_reference() -> None:
    import torch

    from hw7.probes import part2 as probes
    from reference import q_rnn_last_name as q

    train, _, categories = q.load_datasets()
    assert probes.DATA_ERROR == "" and probes.CATEGORIES == categories
    x, last_pos = probes.encode(probes.TRAIN_NAMES, q.all_letters, q.pad)
    assert torch.equal(x, train.x[:, : x.shape[1]]) and bool((train.x[:, x.shape[1] :] == q.pad).all())
    assert torch.equal(last_pos, train.last_pos) and torch.equal(torch.as_tensor(probes.TRAIN_LABELS), train.y)
    source = Path(probes.__file__).read_text()
    assert not re.search(r"^\s*(from|import)\s+(reference|autograder\.checks)\b", source, re.M)  # no reference solution
    assert "importlib" not in source and "q_rnn_last_name." not in source



def test_reference_gets_full_marks(graded: Graded) -> None:
    results = graded("reference")
    got = part_scores(results)
    assert sorted(got) == list(CHECKS)
    assert all(score == full > 0 for score, full in got.values()), {k: messages(results)[k] for k, (s, f) in got.items() if s < f}


def test_every_check_fits_its_budget_on_the_reference(graded: Graded) -> None:
    graded("reference")
    seconds = graded.seconds["reference"]
    assert max(seconds[c] for c in ("2.1", "2.2", "2.3")) < 15, seconds
    assert seconds["2.4"] < 45, seconds  # about 2 s of training per side when the machine is idle


def test_template_gets_zero_with_not_implemented_on_every_check(graded: Graded) -> None:
    results = graded("template", source=TEMPLATE)
    got = part_scores(results)
    assert all(score == 0 for score, _ in got.values()), got
    for check_id, text in messages(results).items():
        if check_id.startswith(PART + "."):
            assert "Not implemented yet" in text, (check_id, text)


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_a_realistic_bug_costs_exactly_its_check(graded: Graded, bug: str) -> None:
    fails, patches = BUGS[bug]
    results = graded(bug, patches)
    assert failed_ids(results, only=(PART + ".",)) == set(fails), {k: v for k, v in messages(results).items() if k.startswith(PART + ".")}


@pytest.mark.parametrize("name", sorted(ALTERNATIVES))
def test_a_different_correct_implementation_gets_full_marks(graded: Graded, name: str) -> None:
    results = graded(name, ALTERNATIVES[name])
    assert failed_ids(results, only=(PART + ".",)) == set(), {k: v for k, v in messages(results).items() if k.startswith(PART + ".")}


def test_messages_name_the_mistake(graded: Graded) -> None:
    def text(bug: str) -> str:
        (check_id,) = BUGS[bug][0]
        return messages(graded(bug, BUGS[bug][1]))[check_id]

    assert "letterToIndex('a')" in text("letter_index_one_based") and "expected 0, got 1" in text("letter_index_one_based")
    assert "dropout sits before output" in text("dropout_on_logits")
    assert "last_pos" in text("last_step_of_padded_batch") and "Smallest failing input" not in text("last_step_of_padded_batch")  # the fixed batch catches it
    assert "held-out accuracy" in text("classifier_output_detached") and "reference:" in text("classifier_output_detached")


# ------------------------------------------------------------------ slow: more bugs, a third alternative


@pytest.mark.slow
@pytest.mark.parametrize("bug", sorted(MORE_BUGS))
def test_more_realistic_bugs_cost_exactly_their_check(graded: Graded, bug: str) -> None:
    fails, patches = MORE_BUGS[bug]
    results = graded(bug, patches)
    assert failed_ids(results, only=(PART + ".",)) == set(fails), {k: v for k, v in messages(results).items() if k.startswith(PART + ".")}
    if bug == "parameters_frozen":
        assert "cannot backpropagate" in messages(results)["2.4"], messages(results)["2.4"]


@pytest.mark.slow
def test_reading_the_letter_before_last_pos_fails_forward(graded: Graded) -> None:
    results = graded("last_pos_minus_one", OFF_BY_ONE)
    failed = failed_ids(results, only=(PART + ".",))
    assert "2.3" in failed and failed <= {"2.3", "2.4"}, failed
    if "2.4" in failed:
        first_line = messages(results)["2.4"].splitlines()[0]
        assert first_line.startswith("This check runs your code graded by") and "2.3" in first_line, first_line


@pytest.mark.slow
def test_a_packed_sequence_implementation_gets_full_marks(graded: Graded) -> None:
    results = graded("packed", PACKED)
    assert failed_ids(results, only=(PART + ".",)) == set(), messages(results)


# ------------------------------------------------------------------ slow: the training check across seeds (in-process)

def _check_seed() -> int:
    from autograder.checks.context import check_seed

    return check_seed("2.4")


SEEDS = (_check_seed(), 0, 1, 2, 3, 4)  # the seed the grader uses, then five more


def training_margin(submission: Path, seed: int) -> tuple[float, float, float]:
    """(student accuracy, reference accuracy, accuracy needed) of check 2.4 run with ``seed``."""
    from autograder import rubric as rubric_mod
    from hw7.checks import part2
    from autograder.checks.context import Ctx
    from autograder.sandbox.inprocess import InProcessSandbox

    entry = rubric_mod.load(rubric_mod.default_path()).by_id()["2.4"]
    sandbox = InProcessSandbox(str(submission))
    ctx = Ctx(entry, lambda: sandbox.open(cpu_seconds=0, memory_mb=0), time.monotonic() + 600)
    try:
        accuracy, reference_accuracy = part2.training_accuracies(ctx, seed)
    finally:
        if ctx.session is not None:
            ctx.session.close()
    return accuracy, reference_accuracy, part2.required_accuracy(reference_accuracy)


@pytest.fixture(scope="module")
def submissions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("part2_seeds")
    folders = {"reference": make_submission(root / "reference", modules=(MODULE,))}
    for name, patches in {**ALTERNATIVES, "packed": PACKED}.items():
        folders[name] = make_submission(root / name, {MODULE: patches}, modules=(MODULE,))
    folders["classifier_output_detached"] = make_submission(root / "classifier_output_detached", {MODULE: BUGS["classifier_output_detached"][1]}, modules=(MODULE,))
    return folders


@pytest.mark.slow
@pytest.mark.parametrize("name", ["reference", *sorted(ALTERNATIVES), "packed"])
def test_correct_implementations_pass_training_with_a_wide_margin_for_many_seeds(submissions: dict[str, Path], name: str) -> None:
    for seed in SEEDS:
        accuracy, reference_accuracy, needed = training_margin(submissions[name], seed)
        # The same start and the same batches: a correct model tracks the reference to within a point,
        # the threshold sits 5 points below it, and the reference sits 10+ points above the 60% floor.
        assert abs(accuracy - reference_accuracy) <= 0.01, (name, seed, accuracy, reference_accuracy)
        assert accuracy - needed >= 0.04, (name, seed, accuracy, needed)
        assert reference_accuracy >= 0.70, (seed, reference_accuracy)


@pytest.mark.slow
def test_untrained_features_fail_training_for_many_seeds(submissions: dict[str, Path]) -> None:
    for seed in SEEDS:
        accuracy, reference_accuracy, needed = training_margin(submissions["classifier_output_detached"], seed)
        assert needed - accuracy >= 0.05, (seed, accuracy, reference_accuracy, needed)
