"""Facts the reference solution of problem 2 (q_rnn_last_name) must satisfy.

Covers the vocabulary, the shipped surname data (18 sorted languages, 20,074
lines), the encoding and seeded split, and the RecurrentClassifier interface the
grader relies on (layer names, state_dict order, reading the output at last_pos).
"""
from __future__ import annotations

import string
from pathlib import Path

import pytest
import torch
from torch import nn

from reference import q_rnn_last_name as q

ROOT = Path(__file__).resolve().parents[2]

LINES_PER_LANGUAGE = {
    "Arabic": 2000, "Chinese": 268, "Czech": 519, "Dutch": 297, "English": 3668, "French": 277,
    "German": 724, "Greek": 203, "Irish": 232, "Italian": 709, "Japanese": 991, "Korean": 94,
    "Polish": 139, "Portuguese": 74, "Russian": 9408, "Scottish": 100, "Spanish": 298, "Vietnamese": 73,
}  # fmt: skip


@pytest.fixture(scope="module")
def names() -> tuple[list[str], dict[str, list[str]]]:
    return q.load_names(q.DATA_DIR)


@pytest.fixture(scope="module")
def data(names) -> q.NameData:
    return q.build_data(*names)


@pytest.fixture
def one_thread():
    """Tiny models train fastest (and least disturbed by other jobs) on one CPU thread."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


# --- vocabulary -------------------------------------------------------------------------------


def test_vocabulary_is_57_letters_plus_one_padding_token() -> None:
    assert q.all_letters == string.ascii_letters + " .,;'"
    assert (q.n_letters, q.pad, q.vocab_size) == (57, 57, 58)


def test_letter_to_index_maps_a_to_0_and_apostrophe_to_56() -> None:
    assert q.letterToIndex("a") == 0
    assert q.letterToIndex("'") == 56
    assert q.letterToIndex("A") == 26
    assert [q.letterToIndex(c) for c in q.all_letters] == list(range(57))


def test_unicode_to_ascii_drops_accents_and_unknown_characters() -> None:
    assert q.unicode_to_ascii("Ślusàrski") == "Slusarski"
    assert q.unicode_to_ascii("Bélanger") == "Belanger"
    assert q.unicode_to_ascii("Au-Yong") == "AuYong"
    assert q.unicode_to_ascii("O'Neal") == "O'Neal"


# --- the shipped data -------------------------------------------------------------------------


def test_default_data_dir_is_the_shipped_names_folder() -> None:
    assert q.DATA_DIR == ROOT / "data" / "names"
    assert q.DATA_DIR.is_absolute()


def test_load_names_gives_18_languages_in_sorted_order_and_20074_lines(names) -> None:
    categories, by_category = names
    assert len(categories) == 18
    assert categories == sorted(categories) == sorted(LINES_PER_LANGUAGE)
    assert list(by_category) == categories
    assert {c: len(v) for c, v in by_category.items()} == LINES_PER_LANGUAGE
    assert sum(len(v) for v in by_category.values()) == 20074


def test_loaded_names_are_non_empty_ascii_folded_strings(names) -> None:
    _, by_category = names
    allowed = set(q.all_letters)
    for category, lines in by_category.items():
        assert all(name and set(name) <= allowed for name in lines), category
    assert "Belanger" in by_category["French"]


def test_load_names_sorts_categories_whatever_order_files_appear(tmp_path) -> None:
    for stem in ("Zulu", "Alpha", "Mid"):
        (tmp_path / f"{stem}.txt").write_text("Émile\nBob\n", encoding="utf-8")
    categories, by_category = q.load_names(tmp_path)
    assert categories == ["Alpha", "Mid", "Zulu"]
    assert by_category["Zulu"] == ["Emile", "Bob"]


def test_load_names_refuses_a_folder_without_name_files(tmp_path) -> None:
    with pytest.raises(FileNotFoundError):
        q.load_names(tmp_path)


def test_build_data_pads_each_name_to_the_longest_and_records_its_last_index(names, data) -> None:
    categories, by_category = names
    assert data.x.shape == (20074, 19) and data.x.dtype == torch.long
    assert data.last_pos.shape == data.y.shape == (20074,)
    row = 0
    for label, category in enumerate(categories):
        first = by_category[category][0]
        assert data.y[row] == label
        assert data.last_pos[row] == len(first) - 1
        assert data.x[row, : len(first)].tolist() == [q.letterToIndex(c) for c in first]
        assert torch.all(data.x[row, len(first) :] == q.pad)
        row += len(by_category[category])
    positions = torch.arange(19).expand(20074, 19)
    assert torch.all((data.x == q.pad) == (positions > data.last_pos[:, None]))


def test_split_is_a_seeded_80_20_partition(data) -> None:
    probe = q.NameData(data.x, data.last_pos, torch.arange(len(data.y)))
    train, test = q.split_data(probe, seed=227)
    assert (len(train.y), len(test.y)) == (16059, 4015)
    assert sorted(torch.cat([train.y, test.y]).tolist()) == list(range(20074))
    again, _ = q.split_data(probe, seed=227)
    other, _ = q.split_data(probe, seed=1)
    assert torch.equal(train.y, again.y) and not torch.equal(train.y, other.y)
    assert torch.equal(train.x, data.x[train.y])


def test_iterate_batches_visits_every_row_once(data) -> None:
    small = q.NameData(*(t[:250] for t in data))
    gen = torch.Generator().manual_seed(0)
    batches = list(q.iterate_batches(small, 64, shuffle=True, generator=gen))
    assert [len(b.y) for b in batches] == [64, 64, 64, 58]
    seen = torch.cat([b.x for b in batches])
    assert sorted(map(tuple, seen.tolist())) == sorted(map(tuple, small.x.tolist()))


# --- the model --------------------------------------------------------------------------------


def test_classifier_state_dict_keys_come_in_the_homework_order() -> None:
    model = q.RecurrentClassifier(11, 13, 17, 2, 0.1, "rnn")
    assert list(model.state_dict()) == [
        "embedding.weight",
        "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0",
        "rnn.weight_ih_l1", "rnn.weight_hh_l1", "rnn.bias_ih_l1", "rnn.bias_hh_l1",
        "output.weight", "output.bias",
    ]  # fmt: skip


def test_classifier_layers_have_the_homework_types_and_shapes() -> None:
    model = q.RecurrentClassifier(11, 13, 17, 2, 0.1, "rnn")
    assert isinstance(model.embedding, nn.Embedding) and model.embedding.weight.shape == (11, 13)
    assert model.embedding.padding_idx is None
    assert type(model.rnn) is nn.RNN
    assert model.rnn.batch_first and model.rnn.nonlinearity == "tanh" and model.rnn.num_layers == 2
    assert (model.rnn.input_size, model.rnn.hidden_size) == (13, 13)
    assert model.rnn.dropout == pytest.approx(0.1)
    assert isinstance(model.drop, nn.Dropout) and model.drop.p == pytest.approx(0.1)
    assert isinstance(model.output, nn.Linear) and model.output.weight.shape == (17, 13)


def test_classifier_defaults_to_one_layer_rnn_without_dropout() -> None:
    model = q.RecurrentClassifier(q.vocab_size, 8, 18)
    assert type(model.rnn) is nn.RNN and model.rnn.num_layers == 1 and model.drop.p == 0.0


def test_classifier_reads_each_rows_output_at_its_last_position() -> None:
    torch.manual_seed(0)
    model = q.RecurrentClassifier(q.vocab_size, 12, 5, num_layers=2).eval()
    x = torch.randint(0, 57, (4, 9))
    last_pos = torch.tensor([0, 3, 8, 5])
    for i, p in enumerate(last_pos):
        x[i, p + 1 :] = q.pad
    logits = model(x, last_pos)
    assert logits.shape == (4, 5)
    rnn_out, _ = model.rnn(model.embedding(x))
    expected = model.output(rnn_out[torch.arange(4), last_pos])
    assert torch.allclose(logits, expected, atol=1e-6)
    assert not torch.allclose(logits, model.output(rnn_out[:, -1]), atol=1e-3)


def test_classifier_logits_ignore_whatever_follows_the_last_position() -> None:
    torch.manual_seed(1)
    model = q.RecurrentClassifier(q.vocab_size, 10, 4).eval()
    x = torch.randint(0, 57, (3, 7))
    last_pos = torch.tensor([2, 4, 1])
    noisy = x.clone()
    for i, p in enumerate(last_pos):
        x[i, p + 1 :] = q.pad
        noisy[i, p + 1 :] = torch.randint(0, 58, (7 - p - 1,))
    assert torch.allclose(model(x, last_pos), model(noisy, last_pos), atol=1e-6)


class _Constant(nn.Module):
    """Always predicts category k."""

    def __init__(self, k: int, n: int) -> None:
        super().__init__()
        self.k, self.n = k, n

    def forward(self, x: torch.Tensor, last_pos: torch.Tensor) -> torch.Tensor:
        return nn.functional.one_hot(torch.full((len(x),), self.k), self.n).float()


def test_evaluate_is_the_fraction_of_correct_predictions(data) -> None:
    russian = q.load_names()[0].index("Russian")
    assert q.evaluate(_Constant(russian, 18), data) == pytest.approx(float((data.y == russian).float().mean()))


def test_classify_name_returns_the_predicted_language(names) -> None:
    categories, _ = names
    assert q.classify_name("Dostoevsky", _Constant(3, 18), categories) == categories[3]
    torch.manual_seed(0)
    model = q.RecurrentClassifier(q.vocab_size, 8, 18)
    assert q.classify_name("Nguyễn", model, categories) in categories


def test_a_short_training_run_reports_per_epoch_accuracies(data, one_thread) -> None:
    train_data, eval_data = q.split_data(q.NameData(*(t[::10] for t in data)))
    torch.manual_seed(0)
    model = q.RecurrentClassifier(q.vocab_size, 32, 18)
    history = q.train(model, train_data, eval_data, epochs=2, lr=3e-3, batch_size=64, seed=0)
    assert set(history) == {"train_loss", "train_acc", "eval_acc"}
    assert all(len(v) == 2 for v in history.values())
    assert all(0.0 <= a <= 1.0 for a in history["train_acc"] + history["eval_acc"])
    assert history["train_loss"][1] < history["train_loss"][0]


@pytest.mark.slow
def test_reference_hyperparameters_reach_80_percent_eval_accuracy_in_20_epochs() -> None:
    run = q.run_reference(seed=0)
    assert run["hparams"]["epochs"] == 20
    assert run["history"]["eval_acc"][-1] >= 0.80
