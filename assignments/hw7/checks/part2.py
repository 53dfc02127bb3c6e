"""Part 2 (q_rnn_last_name): letterToIndex and the RecurrentClassifier surname model.

2.1 letterToIndex over the whole alphabet; 2.2 the layers, state_dict keys (in
order) and shapes; 2.3 forward against the reference, both holding seeded random
weights this side chooses (sent to the worker and loaded into the student's
model by 2.2's names), on padded batches; 2.4 a short seeded training run on the
real surnames with the grader's loop, scored on held-out names whose labels stay
on this side, against the reference trained by the same loop from the same
initial weights (the reference's own seeded initialisation, chosen here).

No expected value is computed from anything the worker reports: the student's
code shares the worker with the probes and could answer in their place.
"""
from __future__ import annotations


import numpy as np
import torch
from hypothesis import strategies as st

from autograder.checks import check
from autograder.checks.context import Ctx
from autograder.checks.memo import for_one_module, remembered
from autograder.secrets import secret_seed
from .reference import module, t64
from ..probes.part2 import fit, predict  # the grader's training loop, shared with the worker

MODULE = "q_rnn_last_name"
ATTRIBUTE_CLASSES = {"embedding": "Embedding", "rnn": "RNN", "drop": "Dropout", "output": "Linear"}

# RecurrentClassifier(11, 13, 17, 2, 0.1, 'rnn'): the homework's layer names, in state_dict order.
FACT_ARGS = (11, 13, 17, 2, 0.1)
FACT_STATE = [
    ("embedding.weight", [11, 13]),
    ("rnn.weight_ih_l0", [13, 13]),
    ("rnn.weight_hh_l0", [13, 13]),
    ("rnn.bias_ih_l0", [13]),
    ("rnn.bias_hh_l0", [13]),
    ("rnn.weight_ih_l1", [13, 13]),
    ("rnn.weight_hh_l1", [13, 13]),
    ("rnn.bias_ih_l1", [13]),
    ("rnn.bias_hh_l1", [13]),
    ("output.weight", [17, 13]),
    ("output.bias", [17]),
]


def ref():
    return module(MODULE)


def describe(args: tuple) -> str:
    return "RecurrentClassifier(" + ", ".join(repr(a) for a in args) + ", 'rnn')"


seeds = st.integers(min_value=0, max_value=2**16)
dropouts = st.sampled_from([0.0, 0.1, 0.25, 0.5])


# ----------------------------------------------------------------------------- 2.1


@check("2.1")
def letter_to_index(ctx: Ctx) -> None:
    letters = ref().all_letters
    out = ctx.call("2.letter_index", letters=letters)
    got = list(out["indices"])
    ctx.equal(len(got), len(letters), "number of letters indexed")
    for letter, value in zip(letters, got):
        expected = ref().letterToIndex(letter)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or value != expected:
            ctx.fail("value", what=f"letterToIndex({letter!r}) (its position in all_letters = ascii_letters + \" .,;'\")", expected=expected, got=value)


# ----------------------------------------------------------------------------- 2.2


def check_structure(ctx: Ctx, args: tuple, out: dict, keys: list[str], shapes: list[list[int]]) -> None:
    vocab_size, rnn_size, n_categories, num_layers, dropout = args
    what = describe(args)
    for name, cls in ATTRIBUTE_CLASSES.items():
        info = out["attributes"][name]
        if not info["present"]:
            ctx.fail("value", what=f"attribute {name!r} of {what}", expected=f"an nn.{cls}", got="no such attribute")
        if cls not in info["classes"]:
            ctx.fail("value", what=f"type of attribute {name!r} of {what}", expected=f"nn.{cls}", got=", ".join(info["classes"]) or "not a torch.nn module")
    ctx.equal(out["keys"], keys, f"state_dict keys of {what}, in order (create embedding, rnn, drop, output in that order)")
    for key, got, expected in zip(keys, out["shapes"], shapes):
        ctx.equal(list(got), list(expected), f"shape of state_dict entry {key!r} of {what}")
    # embedding.padding_idx is free: the handout does not fix it, and no output at last_pos depends on it.
    ctx.equal(out["attributes"]["drop"]["p"], float(dropout), f"drop.p of {what} (nn.Dropout(dropout))")
    if num_layers > 1:
        ctx.equal(out["attributes"]["rnn"]["dropout"], float(dropout), f"rnn.dropout of {what} (dropout between the {num_layers} RNN layers)")


def reference_state(args: tuple) -> tuple[list[str], list[list[int]]]:
    model = ref().RecurrentClassifier(*args, "rnn")
    state = model.state_dict()
    return list(state), [list(v.shape) for v in state.values()]


@check("2.2")
def classifier_structure(ctx: Ctx) -> None:
    out = ctx.call("2.structure", vocab_size=FACT_ARGS[0], rnn_size=FACT_ARGS[1], n_categories=FACT_ARGS[2], num_layers=FACT_ARGS[3], dropout=FACT_ARGS[4])
    check_structure(ctx, FACT_ARGS, out, [k for k, _ in FACT_STATE], [s for _, s in FACT_STATE])

    def test(ex):
        args = (ex["vocab_size"], ex["rnn_size"], ex["n_categories"], ex["num_layers"], ex["dropout"])
        got = ctx.call("2.structure", **ex)
        check_structure(ctx, args, got, *reference_state(args))

    ctx.for_all(
        st.fixed_dictionaries(
            {
                "vocab_size": st.integers(2, 60),
                "rnn_size": st.integers(1, 12),
                "n_categories": st.integers(1, 20),
                "num_layers": st.integers(1, 3),
                "dropout": dropouts,
            }
        ),
        test,
    )


# ----------------------------------------------------------------------------- 2.3


def padded_batch(vocab_size: int, batch: int, steps: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Letters 0..vocab-2 padded with vocab-1; at least one row ends before the last column."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, steps + 1, size=batch)
    lengths[rng.integers(batch)] = rng.integers(1, steps)  # last_pos <= T-2 for this row
    x = np.full((batch, steps), vocab_size - 1, dtype=np.int64)
    for row, length in enumerate(lengths):
        x[row, :length] = rng.integers(0, max(vocab_size - 1, 1), size=length)
    return x, (lengths - 1).astype(np.int64)


def random_state(args: tuple, seed: int) -> dict[str, np.ndarray]:
    """Seeded N(0, 0.5^2) float32 values for every state_dict entry of the reference classifier for ``args``.

    The grader chooses these weights and sends them to the worker, which loads them into the
    student's model by name (2.2's names): nothing the worker reports feeds the expected value.
    """
    rng = np.random.default_rng(seed)
    state = ref().RecurrentClassifier(*args, "rnn").state_dict()
    return {name: (rng.standard_normal(tuple(value.shape)) * 0.5).astype(np.float32) for name, value in state.items()}


def reference_with(args: tuple, state: dict[str, np.ndarray]) -> torch.nn.Module:
    """The reference classifier holding the grader's weights ``state`` (float64, eval mode)."""
    model = ref().RecurrentClassifier(*args, "rnn").double()
    model.load_state_dict({k: t64(v) for k, v in state.items()})
    return model.eval()


def forward_case(ctx: Ctx, args: tuple, x: np.ndarray, last_pos: np.ndarray, seed: int) -> None:
    vocab_size, rnn_size, n_categories, num_layers, dropout = args
    state = random_state(args, seed)
    out = ctx.call("2.forward", vocab_size=vocab_size, rnn_size=rnn_size, n_categories=n_categories, num_layers=num_layers, dropout=dropout, x=x, last_pos=last_pos, state=state)
    what = describe(args)
    model = reference_with(args, state)
    with torch.no_grad():
        expected = model(torch.as_tensor(x), torch.as_tensor(last_pos)).numpy()
    ctx.close(
        out["logits"],
        expected,
        f"logits of {what} holding the grader's random weights, in eval mode, on a padded batch of shape {x.shape}, last_pos={last_pos.tolist()} "
        "(each row's RNN output at last_pos, not at the padded end)",
    )


DROPOUT_DRAWS = 40
DROPOUT_P = 0.5


def dropout_in_train_mode(ctx: Ctx) -> None:
    """In train mode, dropout acts on the last-position RNN output, just before the read-out.

    The handout: "we add a dropout layer because neither nn.RNN nor nn.LSTM implements dropout
    after the last layer". With the grader's weights loaded, every train-mode logit vector must
    be output(m * h / (1 - p)) for the reference's h and a 0/1 mask m: solving for m from the
    logits (W has full column rank) shows where dropout sits, whatever order it draws in.
    """
    args = (58, 5, 12, 1, DROPOUT_P)
    x, last_pos = padded_batch(58, 4, 6, ctx.seed)
    state = random_state(args, ctx.seed)
    out = ctx.call("2.forward_train", vocab_size=58, rnn_size=5, n_categories=12, dropout=DROPOUT_P, x=x, last_pos=last_pos, state=state, draws=DROPOUT_DRAWS, seed=ctx.seed)
    model = reference_with(args, state)
    with torch.no_grad():
        rnn_out, _ = model.rnn(model.embedding(torch.as_tensor(x)))
        h = rnn_out[torch.arange(len(last_pos)), torch.as_tensor(last_pos)].numpy()
    w, b = np.asarray(state["output.weight"], dtype=np.float64), np.asarray(state["output.bias"], dtype=np.float64)
    what = f"{describe(args)} in train mode (dropout {DROPOUT_P}): its logits, {DROPOUT_DRAWS} forward passes on one batch"
    kept = []
    for logits in out["logits"]:
        logits = np.asarray(logits, dtype=np.float64)
        if logits.shape != (len(last_pos), 12):
            ctx.fail("shape", what=what, expected=(len(last_pos), 12), got=tuple(logits.shape))
        v, *_ = np.linalg.lstsq(w, (logits - b).T, rcond=None)
        residual = float(np.abs(w @ v - (logits - b).T).max())
        if residual > 1e-4:
            ctx.fail("value", what=f"{what}: distance of the logits from output(anything) (dropout applied after the read-out, to the logits?)", expected="0: dropout sits before output", got=residual)
        visible = np.abs(h) > 0.05  # a ratio to an output near 0 says nothing
        ratio = np.where(visible, v.T / np.where(visible, h, 1.0), 0.0)
        scaled = 1.0 / (1.0 - DROPOUT_P)
        bad = visible & ~(np.isclose(ratio, 0.0, atol=1e-3) | np.isclose(ratio, scaled, atol=1e-3))
        if bad.any():
            i, j = (int(k) for k in np.argwhere(bad)[0])
            ctx.fail(
                "value",
                what=f"{what}: each entry of the read-out's input divided by the last-position RNN output (row {i}, unit {j}); dropout must act there, on the RNN output at last_pos",
                expected=f"0 (dropped) or {scaled:g} (kept, scaled by 1/(1-p))",
                got=float(ratio[i, j]),
            )
        kept.append(np.isclose(ratio, scaled, atol=1e-3)[visible].mean())
    dropped = 1.0 - float(np.mean(kept))
    if abs(dropped - DROPOUT_P) > 0.12:
        ctx.fail("value", what=f"{what}: fraction of the last-position RNN outputs dropped", expected=f"{DROPOUT_P} +- 0.12", got=round(dropped, 3))


@check("2.3")
def classifier_forward(ctx: Ctx) -> None:
    # A fixed padded batch first: names of 6, 2 and 4 letters padded to 6 columns (pad token 57).
    last_pos = np.array([5, 1, 3], dtype=np.int64)
    x = np.full((3, 6), 57, dtype=np.int64)
    letters = np.random.default_rng(ctx.seed).integers(0, 57, size=(3, 6))
    for row, pos in enumerate(last_pos):
        x[row, : pos + 1] = letters[row, : pos + 1]
    forward_case(ctx, (58, 5, 4, 1, 0.0), x, last_pos, ctx.seed)

    def test(ex):
        args = (ex["vocab_size"], ex["rnn_size"], ex["n_categories"], ex["num_layers"], ex["dropout"])
        x, last_pos = padded_batch(ex["vocab_size"], ex["batch"], ex["steps"], ex["seed"])
        forward_case(ctx, args, x, last_pos, ex["seed"])

    ctx.for_all(
        st.fixed_dictionaries(
            {
                "vocab_size": st.integers(2, 60),
                "rnn_size": st.integers(1, 8),
                "n_categories": st.integers(1, 6),
                "num_layers": st.integers(1, 3),
                "dropout": dropouts,
                "batch": st.integers(1, 5),
                "steps": st.integers(2, 10),
                "seed": seeds,
            }
        ),
        test,
    )
    dropout_in_train_mode(ctx)


# ----------------------------------------------------------------------------- 2.4

# Budget: 8000 of the 16,059 training names, rnn_size 64, 3 epochs of Adam (lr 5e-3,
# batches of 32 equal-length names, gradients clipped to norm 1): about 2-3 s of CPU per side.
# Calibration (tests/parts/test_part2.py, slow; 2000 held-out names; the grader's seed and
# seeds 0-5): the reference reaches 73.5-75.6%; correct implementations trained from the
# same start (gather, arange indexing, a time-major RNN with a loop over rows, a packed
# sequence) differ from it by 0.0 points. Realistic bugs: embedding and RNN never trained
# (features detached) 59.5-62.2%, i.e. 7.6+ points under the threshold; reading the letter
# before last_pos (a forward bug, 2.3) 67.2-69.4%, around the threshold.
# Pass: at least the reference's accuracy less ACCURACY_MARGIN (5 points; correct code sits
# 5 points above it), and at least ACCURACY_FLOOR (60%, 13+ points under the reference;
# the majority class is 46%).
TRAIN_NAMES = 8000
EVAL_NAMES = 2000
TRAIN_HPARAMS = {"rnn_size": 64, "epochs": 3, "lr": 5e-3, "batch_size": 32, "max_grad_norm": 1.0}
ACCURACY_MARGIN = 0.05
ACCURACY_FLOOR = 0.60


@for_one_module
def datasets():
    return ref().load_datasets()


def initial_state(args: tuple, seed: int) -> dict[str, np.ndarray]:
    """The reference's own initial weights under torch.manual_seed(seed) (the grader's RNG state is restored)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        state = ref().RecurrentClassifier(*args, "rnn").state_dict()
    return {name: value.detach().numpy().astype(np.float32) for name, value in state.items()}


def learned_state(ctx: Ctx, out: dict, init: dict[str, np.ndarray], what: str) -> dict[str, torch.Tensor]:
    """The worker's learned state_dict: the grader's names and shapes, finite values (judged by evaluation here)."""
    state = out.get("state") if isinstance(out, dict) else None
    if not isinstance(state, dict) or sorted(state) != sorted(init):
        ctx.fail("value", what=f"the state_dict of the trained {what}", expected=sorted(init), got=sorted(state) if isinstance(state, dict) else type(state).__name__)
    learned = {}
    for key, start in init.items():
        value = np.asarray(state[key], dtype=np.float64)
        if value.shape != start.shape:
            ctx.fail("shape", what=f"state_dict()[{key!r}] of the trained {what}", expected=start.shape, got=value.shape)
        if not np.all(np.isfinite(value)):
            ctx.fail("value", what=f"state_dict()[{key!r}] of {what} after training", expected="finite numbers", got="NaN or Inf (training diverged)")
        learned[key] = torch.as_tensor(value, dtype=torch.float32)
    return learned


def training_accuracies(ctx: Ctx, seed: int) -> tuple[float, float]:
    """(student, reference) held-out accuracy after the grader's training loop, both from the grader's initial weights.

    The worker returns the weights the student's model learned; they are loaded here into the
    reference's RecurrentClassifier and scored on held-out names the worker never sees, drawn
    with a secret seed. No logits, loss or accuracy from the worker count.
    """
    q = ref()
    train_data, eval_data, categories = datasets()
    rng = np.random.default_rng(seed)
    train_index = np.sort(rng.choice(len(train_data.y), TRAIN_NAMES, replace=False))
    eval_index = np.random.default_rng(secret_seed("2.4 held-out")).choice(len(eval_data.y), EVAL_NAMES, replace=False)
    eval_last_pos = eval_data.last_pos[eval_index]
    eval_x = eval_data.x[eval_index, : int(eval_last_pos.max()) + 1]
    eval_y = eval_data.y[eval_index].numpy()
    hp = TRAIN_HPARAMS
    args = (q.vocab_size, hp["rnn_size"], len(categories), 1, 0.0)
    init = initial_state(args, seed)
    out = ctx.call(
        "2.train",
        alphabet=q.all_letters,
        pad=q.pad,
        vocab_size=q.vocab_size,
        rnn_size=hp["rnn_size"],
        train_index=train_index,
        epochs=hp["epochs"],
        lr=hp["lr"],
        batch_size=hp["batch_size"],
        max_grad_norm=hp["max_grad_norm"],
        seed=seed,
        init=init,
    )
    what = describe(args)
    trained = ref().RecurrentClassifier(*args, "rnn")
    trained.load_state_dict(learned_state(ctx, out, init, what))
    accuracy = float(np.mean(predict(trained, eval_x, eval_last_pos, len(categories)).numpy().argmax(axis=1) == eval_y))


    def reference_accuracy() -> float:
        model = ref().RecurrentClassifier(*args, "rnn")
        model.load_state_dict({k: torch.as_tensor(v) for k, v in init.items()})
        tx, tl, ty = (t[torch.as_tensor(train_index)] for t in train_data)
        torch.manual_seed(seed)
        fit(model, tx, tl, ty, len(categories), hp["epochs"], hp["lr"], hp["batch_size"], seed, hp["max_grad_norm"])
        expected = predict(model, eval_x, eval_last_pos, len(categories)).numpy()
        return float(np.mean(expected.argmax(axis=1) == eval_y))

    # The same for every submission: computed once per install (autograder/checks/memo.py).
    return accuracy, remembered("2.4 reference accuracy", {"seed": seed}, reference_accuracy)


def required_accuracy(reference_accuracy: float) -> float:
    return max(reference_accuracy - ACCURACY_MARGIN, ACCURACY_FLOOR)


@check("2.4")
def classifier_trains(ctx: Ctx) -> None:
    accuracy, reference_accuracy = training_accuracies(ctx, ctx.seed)
    hp = TRAIN_HPARAMS
    what = describe((ref().vocab_size, hp["rnn_size"], len(datasets()[2]), 1, 0.0))
    budget = f"{hp['epochs']} epochs of Adam (lr {hp['lr']}, batches of {hp['batch_size']}) on {TRAIN_NAMES} training surnames"
    needed = required_accuracy(reference_accuracy)
    if not accuracy >= needed:
        ctx.fail(
            "value",
            what=f"held-out accuracy on {EVAL_NAMES} surnames (not shown to your code) of your {what} after {budget} (the grader's training loop, not your train function), started from the same initial weights as the reference (the grader's, loaded by state_dict name); the weights it learned are scored by the grader",
            expected=f">= {needed:.1%} (reference: {reference_accuracy:.1%}, less {ACCURACY_MARGIN:.0%}, and at least {ACCURACY_FLOOR:.0%})",
            got=f"{accuracy:.1%}",
        )
