"""Worker-side probes for part 2 (q_rnn_last_name): letterToIndex and RecurrentClassifier.

The forward and training probes load weights the trusted side chose into the
student's RecurrentClassifier (by state_dict name, strictly). The forward probe reports
outputs; the training probe reports the learned weights, which the trusted side
evaluates itself with the reference's modules. The training probe
runs the grader's own loop (``fit``/``predict`` below, never the student's
``train``); the trusted side imports the same two functions to train the reference
from the same start, so both sides follow one procedure.

The surname data is read here at import time (the supervisor imports probe modules
before forking workers, which may not be able to read project files). Only the
training part of the homework's seeded 80/20 split is kept in this module: the
held-out names never enter the worker (the trusted side scores the learned weights).
Names are kept as strings; they are encoded at call time with the alphabet the
trusted side sends.
"""
from __future__ import annotations

import random
import unicodedata
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from autograder.config import PROJECT_ROOT
from .convert import load_state, plain
from autograder.probes.registry import ProbeError, probe, student

MODULE = "q_rnn_last_name"
DATA_DIR = PROJECT_ROOT / "data" / "names"
# The characters the homework keeps when folding names to ASCII (its all_letters, as a set).
KEPT_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ .,;'")
SPLIT_SEED = 227  # the homework's split: random.Random(227).shuffle, first 80% train
TRAIN_FRACTION = 0.8
ATTRIBUTES = ("embedding", "rnn", "drop", "output")
# Where a load of the grader's weights points the student when names or shapes differ.
STATE_NAMES = "the homework's names and shapes are graded by check 2.2: embedding, rnn (one nn.RNN), drop, output, created in that order"


# ----------------------------------------------------------------------------- data (provided code, reimplemented)


def _fold(name: str) -> str:
    """NFD-decompose, drop combining marks, keep only the homework's characters."""
    return "".join(c for c in unicodedata.normalize("NFD", name) if unicodedata.category(c) != "Mn" and c in KEPT_CHARACTERS)


def _load_training_pool() -> tuple[list[str], np.ndarray, list[str]]:
    """The training 80% of the homework's split, in split order: (names, labels, categories)."""
    files = sorted(DATA_DIR.glob("*.txt"))
    if not files:
        raise FileNotFoundError(f"no surname files in {DATA_DIR}")
    names: list[str] = []
    labels: list[int] = []
    categories = [path.stem for path in files]
    for label, path in enumerate(files):
        for line in path.read_text(encoding="utf-8").strip().split("\n"):
            folded = _fold(line)
            if folded:
                names.append(folded)
                labels.append(label)
    order = list(range(len(names)))
    random.Random(SPLIT_SEED).shuffle(order)
    train = order[: int(len(order) * TRAIN_FRACTION)]
    return [names[i] for i in train], np.asarray([labels[i] for i in train], dtype=np.int64), categories


try:
    TRAIN_NAMES, TRAIN_LABELS, CATEGORIES = _load_training_pool()
    DATA_ERROR = ""
except Exception as exc:  # reported by the training probe as a grader error, never at import
    TRAIN_NAMES, TRAIN_LABELS, CATEGORIES = [], np.zeros(0, dtype=np.int64), []
    DATA_ERROR = f"{type(exc).__name__}: {exc}"


def encode(names: list[str], alphabet: str, pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Letter indices (position in ``alphabet``) padded with ``pad``, and last_pos = len - 1."""
    table = {c: i for i, c in enumerate(alphabet)}
    width = max(len(n) for n in names)
    x = torch.full((len(names), width), pad, dtype=torch.long)
    for row, name in enumerate(names):
        x[row, : len(name)] = torch.tensor([table[c] for c in name], dtype=torch.long)
    return x, torch.tensor([len(n) - 1 for n in names], dtype=torch.long)


# ----------------------------------------------------------------------------- the grader's training loop (shared with the trusted side)


def length_batches(last_pos: torch.Tensor, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """A shuffled epoch of index batches whose names all have the same length.

    Batches of equal length hold no padding, so training measures learning alone
    (which position forward reads is the forward check's business).
    """
    order = torch.randperm(len(last_pos), generator=generator)
    lengths = last_pos[order]
    batches: list[torch.Tensor] = []
    for value in torch.unique(lengths).tolist():
        batches += list(torch.split(order[lengths == value], batch_size))
    shuffle = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in shuffle]


def logits_of(model: nn.Module, x: torch.Tensor, last_pos: torch.Tensor, n_categories: int, what: str) -> torch.Tensor:
    out = model(x, last_pos)
    if not isinstance(out, torch.Tensor):
        raise ProbeError("bad_value", f"{what} should return a tensor of logits; got {type(out).__name__}")
    if tuple(out.shape) != (x.shape[0], n_categories):
        raise ProbeError("bad_value", f"{what} on a batch of {x.shape[0]} names should return logits of shape ({x.shape[0]}, {n_categories}); got {tuple(out.shape)}")
    return out


def fit(model: nn.Module, x: torch.Tensor, last_pos: torch.Tensor, y: torch.Tensor, n_categories: int, epochs: int, lr: float, batch_size: int, seed: int, max_grad_norm: float) -> list[float]:
    """Adam + cross-entropy over equal-length batches in a seeded order; returns per-batch losses."""
    generator = torch.Generator().manual_seed(int(seed))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses: list[float] = []
    model.train()
    for _ in range(epochs):
        for idx in length_batches(last_pos, batch_size, generator):
            width = int(last_pos[idx[0]]) + 1
            logits = logits_of(model, x[idx, :width], last_pos[idx], n_categories, "RecurrentClassifier.forward")
            loss = F.cross_entropy(logits, y[idx])
            optimizer.zero_grad()
            if not loss.requires_grad:
                raise ProbeError(
                    "bad_value",
                    "the grader's training loop cannot backpropagate from your model's logits: no parameter reaches them "
                    "through autograd (frozen parameters, torch.no_grad() or .detach() in forward?)",
                )
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
            optimizer.step()
            losses.append(float(loss.detach()))
    return losses


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, last_pos: torch.Tensor, n_categories: int) -> torch.Tensor:
    """Eval-mode logits for every row, computed over equal-length groups, in input order."""
    model.eval()
    out = torch.zeros(len(last_pos), n_categories)
    for value in torch.unique(last_pos).tolist():
        idx = (last_pos == value).nonzero().squeeze(1)
        out[idx] = logits_of(model, x[idx, : value + 1], last_pos[idx], n_categories, "RecurrentClassifier.forward").float()
    return out


# ----------------------------------------------------------------------------- probes


CLASSIFIER_PARAMETERS = ("vocab_size", "rnn_size", "n_categories", "num_layers", "dropout", "model_type")


def _classifier(*args: Any) -> nn.Module:
    """The student's RecurrentClassifier, called as the handout's cells call it: by keyword, with
    model_type='rnn' always given (the handout's default is 'lstm', and only 'rnn' is graded)."""
    values = dict(zip(CLASSIFIER_PARAMETERS[:5], args[:5]))
    values.setdefault("num_layers", 1)
    values.setdefault("dropout", 0.0)
    values["model_type"] = "rnn"
    model = student(MODULE).RecurrentClassifier(**values)
    if not isinstance(model, nn.Module):
        raise ProbeError("bad_value", f"RecurrentClassifier(...) should be an nn.Module; got {type(model).__name__}")
    return model


def describe(args: tuple) -> str:
    return "RecurrentClassifier(" + ", ".join(repr(a) for a in args) + ")"


def _torch_classes(obj: Any) -> list[str]:
    """Names of the torch.nn classes ``obj`` is an instance of (its MRO, torch's own classes only)."""
    return [cls.__name__ for cls in type(obj).__mro__ if cls.__module__.startswith("torch.nn")]


@probe("2.letter_index")
def letter_index(letters: str) -> dict:
    fn = student(MODULE).letterToIndex
    values = []
    for letter in letters:
        value = plain(fn(letter), f"letterToIndex({letter!r})")
        if value.size != 1:
            raise ProbeError("bad_value", f"letterToIndex({letter!r}) should return one integer; got an array of shape {value.shape}")
        values.append(value.reshape(()).item())
    return {"indices": values}


@probe("2.structure")
def structure(vocab_size: int, rnn_size: int, n_categories: int, num_layers: int, dropout: float) -> dict:
    model = _classifier(vocab_size, rnn_size, n_categories, num_layers, dropout, "rnn")
    attributes = {}
    for name in ATTRIBUTES:
        value = getattr(model, name, None)
        attributes[name] = {
            "present": value is not None,
            "classes": _torch_classes(value) if value is not None else [],
            "padding_idx": getattr(value, "padding_idx", None) if isinstance(value, nn.Embedding) else None,
            "p": float(value.p) if isinstance(value, nn.Dropout) else None,
            "dropout": float(value.dropout) if isinstance(value, nn.RNNBase) else None,
        }
    state = model.state_dict()
    return {
        "attributes": attributes,
        "keys": [str(k) for k in state],
        "shapes": [[int(s) for s in v.shape] for v in state.values()],
    }


@probe("2.forward")
def forward(vocab_size: int, rnn_size: int, n_categories: int, num_layers: int, dropout: float, x, last_pos, state: dict) -> dict:
    args = (vocab_size, rnn_size, n_categories, num_layers, dropout, "rnn")
    model = _classifier(*args)
    load_state(model, state, describe(args), STATE_NAMES)
    model.eval()
    with torch.no_grad():
        out = model(torch.as_tensor(np.asarray(x, dtype=np.int64)), torch.as_tensor(np.asarray(last_pos, dtype=np.int64)))
    return {"logits": plain(out, "RecurrentClassifier.forward(x, last_pos)")}


@probe("2.forward_train")
def forward_train(vocab_size: int, rnn_size: int, n_categories: int, dropout: float, x, last_pos, state: dict, draws: int, seed: int) -> dict:
    """Train-mode logits of a one-layer classifier, ``draws`` times on the same batch (dropout differs each time)."""
    args = (vocab_size, rnn_size, n_categories, 1, dropout, "rnn")
    model = _classifier(*args)
    load_state(model, state, describe(args), STATE_NAMES)
    model.train()
    torch.manual_seed(int(seed))
    x_t, pos_t = torch.as_tensor(np.asarray(x, dtype=np.int64)), torch.as_tensor(np.asarray(last_pos, dtype=np.int64))
    with torch.no_grad():
        samples = [plain(model(x_t, pos_t), "RecurrentClassifier.forward(x, last_pos) in train mode") for _ in range(int(draws))]
    return {"logits": samples}


@probe("2.train")
def train_run(alphabet: str, pad: int, vocab_size: int, rnn_size: int, train_index, epochs: int, lr: float, batch_size: int, max_grad_norm: float, seed: int, init: dict) -> dict:
    """Train the student's classifier with the grader's loop from the trusted weights; return what it learned.

    The learned state_dict goes back as plain arrays: the trusted side loads it into the
    reference's RecurrentClassifier and scores it on names this worker never sees.
    """
    if DATA_ERROR:
        raise ProbeError("grader", f"the surname data could not be loaded: {DATA_ERROR}")
    index = np.asarray(train_index, dtype=np.int64)
    x, last_pos = encode([TRAIN_NAMES[i] for i in index], alphabet, pad)
    y = torch.as_tensor(TRAIN_LABELS[index])
    n_categories = len(CATEGORIES)
    model = _classifier(vocab_size, rnn_size, n_categories)
    load_state(model, init, describe((vocab_size, rnn_size, n_categories)), STATE_NAMES)
    torch.manual_seed(int(seed))
    fit(model, x, last_pos, y, n_categories, epochs, lr, batch_size, seed, max_grad_norm)
    return {"state": {str(key): plain(value, f"state_dict()[{key!r}] after training") for key, value in model.state_dict().items()}}
