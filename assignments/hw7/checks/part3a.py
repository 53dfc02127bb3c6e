"""Part 3a (q_autoencoder): decoder, forward, loss, denoising/masked train_step, probe accuracy, plot, MNIST.

Every input is drawn here, and every verdict is made here from raw observations
the worker returns: the decoder's call trace, the encoder's actual input and the
decoder's actual output inside train_step, matplotlib artist data, accuracies and
linear-probe logits. Noise and masking are judged statistically with margins of
at least 6 standard errors. Where an expected value needs weights (3a.2 forward,
3a.6 accuracy), this side chooses them and sends them to the worker: the student's
code shares the worker with the probes, so nothing it reports feeds an expectation.
"""
from __future__ import annotations

import math
import re
from functools import lru_cache

import numpy as np
import torch
from hypothesis import strategies as st

from autograder.checks import check
from autograder.checks.compare import CheckFailed, as_array
from autograder.checks.context import Ctx
from autograder.checks.memo import for_one_module, remembered
from autograder.secrets import secret_seed
from .reference import module, t64
from autograder.messages import say

MODULE = "q_autoencoder"
FACT_MODEL_SEED = 2017
FACT_X_SEED = 2022
FACT_LOSS = 10.69554328918457  # homework test: seeds 2017 (model) and 2022 (x = randn(2, 7))
FACT_ACCURACY = 53.0  # homework test: set_seed(2017), SyntheticDataset(7, 800, [0.4, 0.1, 0.5], 2, 15, 10), Autoencoder(7, [5, 4])
SIGMAS = 8.0  # statistical margins, in standard errors (the brief asks for >= 6)


def ref():
    return module(MODULE)


def randn(seed: int, *shape: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def ref_loss(x, x_hat) -> float:
    return float(((np.asarray(x_hat, dtype=np.float64) - np.asarray(x, dtype=np.float64)) ** 2).sum(axis=1).mean())


def scalar(value, what: str) -> float:
    array = as_array(value, what)
    if array.size != 1:
        raise CheckFailed(say("shape", what=what, expected="a scalar", got=tuple(array.shape)))
    return float(array.reshape(()))


seeds = st.integers(min_value=0, max_value=2**16)
hidden_lists = st.lists(st.integers(1, 8), min_size=1, max_size=3)


# ----------------------------------------------------------------------------- 3a.1 decoder


def describe_trace(trace: list) -> str:
    parts = []
    for item in trace:
        if item[0] == "linear":
            parts.append(f"Linear({item[1]}->{item[2]})" + ("" if item[3] else " without bias"))
        elif item[0] == "activation":
            parts.append("activation_cls()")
        else:
            parts.append(f"{item[1]}()")
    return "[" + ", ".join(parts) + "]" if parts else "[] (no modules were called)"


def expected_decoder_trace(input_size: int, hidden_sizes: list[int]) -> list:
    """The reference decoder's layout, read off the reference module itself."""
    model = ref().Autoencoder(input_size, hidden_sizes, activation_cls=torch.nn.Tanh)
    trace = []
    for layer in model.decoder.modules():
        if list(layer.children()):
            continue
        if isinstance(layer, torch.nn.Linear):
            trace.append(["linear", layer.in_features, layer.out_features, layer.bias is not None])
        else:
            trace.append(["activation"])
    return trace


@check("3a.1")
def decoder_structure(ctx: Ctx) -> None:
    # The homework's fact: Autoencoder(7, [5, 4]) has encoder.0/2 and decoder.0/2 weights and biases,
    # and torch.manual_seed(2017) gives the homework's initial weights (the 10.6955 loss test relies on it).
    torch.manual_seed(FACT_MODEL_SEED)
    reference = ref().Autoencoder(7, [5, 4])
    expected_state = reference.state_dict()
    out = ctx.call("3a.seeded_init", input_size=7, hidden_sizes=[5, 4], seed=FACT_MODEL_SEED)
    keys = out["keys"]
    if sorted(keys) != sorted(expected_state):
        missing = sorted(set(expected_state) - set(keys))
        extra = sorted(set(keys) - set(expected_state))
        ctx.fail("value", what="state_dict() keys of Autoencoder(7, [5, 4]) (decoder: an nn.Sequential of Linear, activation, Linear)", expected=sorted(expected_state), got=f"{sorted(keys)} (missing {missing}, unexpected {extra})")
    values = dict(zip(keys, out["values"]))
    for key, value in expected_state.items():
        ctx.close(values[key], value.numpy(), f"{key} of Autoencoder(7, [5, 4]) right after torch.manual_seed(2017) (create the decoder's Linear layers in order, from the latent side to the output, as the homework's test expects)", rtol=1e-6, atol=1e-7)

    def test(ex):
        n, hidden = ex["input_size"], ex["hidden_sizes"]
        got = ctx.call("3a.structure", input_size=n, hidden_sizes=hidden, seed=ex["seed"])
        expected = expected_decoder_trace(n, hidden)
        what = f"modules the decoder of Autoencoder({n}, {hidden}, activation_cls=A) runs, in order (mirror the encoder back to input_size, A() between Linear layers, none after the last)"
        if got["calls"] != expected:
            ctx.fail("value", what=what, expected=describe_trace(expected), got=describe_trace(got["calls"]))
        ctx.equal(list(got["out_shape"]), [3, n], f"shape of the decoder's output for 3 latent codes of Autoencoder({n}, {hidden})")

    ctx.for_all(st.fixed_dictionaries({"input_size": st.integers(1, 12), "hidden_sizes": hidden_lists, "seed": seeds}), test)


# ----------------------------------------------------------------------------- 3a.2 forward


def stand_in_layers(rng: np.random.Generator, sizes: list[int]) -> list[list[np.ndarray]]:
    """Seeded [W, b] pairs (N(0, 0.5^2), float32) for a chain of Linear layers through ``sizes``."""
    return [
        [(rng.standard_normal((b, a)) * 0.5).astype(np.float32), (rng.standard_normal(b) * 0.5).astype(np.float32)]
        for a, b in zip(sizes[:-1], sizes[1:])
    ]


def stand_in_module(layers: list) -> torch.nn.Sequential:
    """This side's copy of the worker's stand-in (Linear layers with Tanh between), in float64."""
    modules: list[torch.nn.Module] = []
    for index, (weight, bias) in enumerate(layers):
        if index:
            modules.append(torch.nn.Tanh())
        linear = torch.nn.Linear(weight.shape[1], weight.shape[0]).double()
        with torch.no_grad():
            linear.weight.copy_(t64(weight))
            linear.bias.copy_(t64(bias))
        modules.append(linear)
    return torch.nn.Sequential(*modules)


@check("3a.2")
def forward(ctx: Ctx) -> None:
    # model.encoder and model.decoder are replaced by stand-ins whose weights (and, for the
    # decoder, sizes: it does not mirror the encoder) are chosen here, so forward is judged on
    # its own (decoder(encoder(x))), independently of the student's decoder (3a.1), and the
    # expected value is the reference's forward with the same stand-ins.
    def test(ex):
        n, hidden = ex["input_size"], ex["hidden_sizes"]
        x = randn(ex["seed"], ex["batch"], n)
        rng = np.random.default_rng(ex["seed"] + 1)
        encoder = stand_in_layers(rng, [n, *hidden])
        decoder = stand_in_layers(rng, [hidden[-1], ex["decoder_width"], n])
        out = ctx.call("3a.forward", input_size=n, hidden_sizes=hidden, x=x, encoder=encoder, decoder=decoder)
        with torch.random.fork_rng(devices=[]):
            reference = ref().Autoencoder(n, hidden).double()
        reference.encoder = stand_in_module(encoder)
        reference.decoder = stand_in_module(decoder)
        with torch.no_grad():
            expected = reference(t64(x)).numpy()
        ctx.close(
            out["out"],
            expected,
            f"Autoencoder({n}, {hidden}).forward(x) for x of shape {x.shape}, with model.encoder and model.decoder replaced by the grader's "
            "modules (should be model.decoder(model.encoder(x)))",
        )
        ctx.close(out["x_after"], x, "x after forward (forward must not modify its input)", rtol=0, atol=0)

    ctx.for_all(
        st.fixed_dictionaries(
            {"input_size": st.integers(1, 12), "hidden_sizes": hidden_lists, "decoder_width": st.integers(1, 8), "batch": st.integers(1, 6), "seed": seeds}
        ),
        test,
    )


# ----------------------------------------------------------------------------- 3a.3 loss


@check("3a.3")
def loss(ctx: Ctx) -> None:
    torch.manual_seed(FACT_MODEL_SEED)
    model = ref().Autoencoder(7, [5, 4])
    torch.manual_seed(FACT_X_SEED)
    x = torch.randn(2, 7)
    with torch.no_grad():
        x_hat = model(x)
    got = ctx.call("3a.loss", x=x.numpy(), x_hat=x_hat.numpy())
    ctx.close(scalar(got["loss"], "Autoencoder.loss(x, x_hat)"), FACT_LOSS, "Autoencoder.loss(x, x_hat) on the homework's example (seeds 2017 and 2022; expected 10.6955): squared error summed over features, averaged over the batch", rtol=1e-4, atol=1e-4)

    def test(ex):
        x = randn(ex["seed"], ex["batch"], ex["features"])
        x_hat = randn(ex["seed"] + 1, ex["batch"], ex["features"])
        got = ctx.call("3a.loss", x=x, x_hat=x_hat)
        ctx.close(scalar(got["loss"], "Autoencoder.loss(x, x_hat)"), ref_loss(x, x_hat), f"Autoencoder.loss(x, x_hat) for a batch of shape {x.shape} (sum over features, mean over the batch)")
        grad = 2.0 * (x_hat.astype(np.float64) - x) / ex["batch"]
        ctx.close(got["grad"], grad, "gradient of Autoencoder.loss(x, x_hat) with respect to x_hat")

    ctx.for_all(st.fixed_dictionaries({"batch": st.integers(1, 6), "features": st.integers(1, 10), "seed": seeds}), test)


# ----------------------------------------------------------------------------- 3a.4 / 3a.5 train_step

STEP_BATCH = 256
STEP_FEATURES = 16
STEP_HIDDEN = [8, 4]
STEP_LR = 1e-3


def check_step_loss(ctx: Ctx, out: dict, x: np.ndarray, what: str, kept: np.ndarray | None = None) -> None:
    """The returned loss must be the reconstruction loss of the observed x_hat against the clean x.

    With ``kept`` (the masked autoencoder's unmasked entries), the loss over those entries only is
    accepted too: the handout's prose says "the unmasked part of x", while its provided line,
    ``loss = self.loss(x, x_hat)``, and its test cell take all of x; a careful student may follow either.
    """
    returned = scalar(out["returned"], f"the loss returned by {what}")
    candidates = []
    for observed, own in zip(out["outputs"], out["own_losses"]):
        candidates.append(ref_loss(x, observed))
        own = float(np.asarray(own, dtype=np.float64).reshape(-1)[0])
        if math.isfinite(own):
            candidates.append(own)
        if kept is not None:
            observed = np.asarray(observed, dtype=np.float64)
            if observed.shape == x.shape:
                squared = (observed - x) ** 2 * kept
                candidates += [float(squared.sum(axis=1).mean()), float(squared.sum() / max(kept.sum(), 1))]
    if not any(abs(returned - c) <= 1e-4 * abs(c) + 1e-4 for c in candidates):
        ctx.fail(
            "value",
            what=f"the loss returned by {what}: it should be the reconstruction loss of the model's output against the CLEAN input x (not the corrupted copy)",
            expected=candidates[0],
            got=returned,
        )


def check_step_common(ctx: Ctx, out: dict, x: np.ndarray, what: str) -> np.ndarray:
    ctx.close(out["x_after"], x, f"the batch x after {what} (corrupt a copy; do not modify x in place)", rtol=0, atol=0)
    observed = as_array(out["inputs"][0], f"input the encoder received in {what}")
    if observed.shape != x.shape:
        ctx.fail("shape", what=f"input the encoder received in {what}", expected=x.shape, got=observed.shape)
    if not float(out["moved"]) > 0:
        ctx.fail("value", what=f"largest parameter change made by {what} with an SGD optimizer (lr {STEP_LR})", expected="> 0 (call optimizer.zero_grad(), loss.backward(), optimizer.step())", got=float(out["moved"]))
    if not out.get("has_item"):
        # The handout's Experiment.train does train_losses.append(loss.item()) with what it returns.
        ctx.fail("value", what=f"the type of what {what} returns (Experiment.train calls loss.item() on it)", expected="the loss tensor (return loss, not loss.item())", got=f"a {out.get('returned_type')}")
    repeat = out.get("repeat_input")
    if repeat is not None and np.array_equal(as_array(repeat, "encoder input"), observed) and not np.array_equal(observed, x):
        ctx.fail("value", what=f"the corrupted input of two calls of {what} in a row", expected="a fresh random draw each call", got="the same corruption twice (is the random generator re-seeded inside train_step, e.g. torch.manual_seed?)")
    return observed.astype(np.float64)


def within(got: float, expected: float, margin: float) -> bool:
    return abs(got - expected) <= margin


@check("3a.4")
def denoising_train_step(ctx: Ctx) -> None:
    rng = np.random.default_rng(ctx.seed)
    for noise_std in (0.3, 2.0):
        x = (rng.standard_normal((STEP_BATCH, STEP_FEATURES)) * 1.5).astype(np.float32)
        what = f"DenoisingAutoencoder(..., noise_std={noise_std}).train_step"
        out = ctx.call("3a.denoise", input_size=STEP_FEATURES, hidden_sizes=STEP_HIDDEN, noise_std=noise_std, x=x, seed=ctx.seed, lr=STEP_LR)
        noise = check_step_common(ctx, out, x, what) - x.astype(np.float64)
        n, (rows, cols) = noise.size, noise.shape
        # The noise must be zero-mean Gaussian with standard deviation noise_std, drawn independently per entry.
        mean = float(noise.mean())
        if not within(mean, 0.0, SIGMAS * noise_std / math.sqrt(n)):
            ctx.fail("value", what=f"mean of the noise added to the input by {what} (input the encoder received minus x)", expected=f"0 +- {SIGMAS * noise_std / math.sqrt(n):.3g}", got=mean)
        std = float(noise.std(ddof=1))
        margin = SIGMAS * noise_std / math.sqrt(2 * (n - 1))
        if not within(std, noise_std, margin):
            ctx.fail("value", what=f"standard deviation of the noise added to the input by {what}" + (" (no noise reached the encoder)" if std == 0 else ""), expected=f"{noise_std} +- {margin:.3g}", got=std)
        within_cols = math.sqrt(float(((noise - noise.mean(axis=0)) ** 2).sum()) / (cols * (rows - 1)))
        within_rows = math.sqrt(float(((noise - noise.mean(axis=1, keepdims=True)) ** 2).sum()) / (rows * (cols - 1)))
        for value, how in ((within_cols, "across the samples of one feature"), (within_rows, "across the features of one sample")):
            if not within(value, noise_std, 1.5 * margin):
                ctx.fail("value", what=f"standard deviation of the noise {how} in {what} (draw independent noise for every entry, e.g. torch.randn_like(x))", expected=f"{noise_std} +- {1.5 * margin:.3g}", got=value)
        inside = float((np.abs(noise) < noise_std).mean())
        gaussian = math.erf(1 / math.sqrt(2))
        margin_inside = SIGMAS * math.sqrt(gaussian * (1 - gaussian) / n)
        if not within(inside, gaussian, margin_inside):
            ctx.fail("value", what=f"fraction of noise entries within one noise_std of 0 in {what} (Gaussian noise: 0.6827)", expected=f"{gaussian:.4f} +- {margin_inside:.3g}", got=inside)
        check_step_loss(ctx, out, x, what)


@check("3a.5")
def masked_train_step(ctx: Ctx) -> None:
    rng = np.random.default_rng(ctx.seed)
    for mask_prob in (0.2, 0.65):
        magnitude = rng.uniform(0.5, 2.0, (STEP_BATCH, STEP_FEATURES))
        x = (magnitude * rng.choice([-1.0, 1.0], size=magnitude.shape)).astype(np.float32)  # no entry is 0
        what = f"MaskedAutoencoder(..., mask_prob={mask_prob}).train_step"
        out = ctx.call("3a.mask", input_size=STEP_FEATURES, hidden_sizes=STEP_HIDDEN, mask_prob=mask_prob, x=x, seed=ctx.seed, lr=STEP_LR)
        observed = check_step_common(ctx, out, x, what)
        masked = observed == 0
        kept = ~masked
        if kept.any():
            ctx.close(observed[kept], x[kept], f"entries of the input the encoder received in {what} that were not masked (they must equal x; masked entries must be exactly 0)", rtol=1e-6, atol=0)
        n, (rows, cols) = masked.size, masked.shape
        rate = float(masked.mean())
        margin = SIGMAS * math.sqrt(mask_prob * (1 - mask_prob) / n)
        if not within(rate, mask_prob, margin):
            ctx.fail("value", what=f"fraction of input entries set to exactly 0 by {what} (each entry is masked with probability mask_prob)", expected=f"{mask_prob} +- {margin:.3g}", got=rate)
        # Independent per entry: masks per sample / per feature vary like binomials, not like whole rows or columns.
        for axis, count, how in ((1, cols, "per sample"), (0, rows, "per feature")):
            spread = float(masked.sum(axis=axis).var(ddof=1))
            bound = 3.0 * count * mask_prob * (1 - mask_prob)
            if not spread <= bound:
                ctx.fail("value", what=f"variance of the number of masked entries {how} in {what} (mask each entry independently, not whole samples or features)", expected=f"<= {bound:.3g} (binomial: {bound / 3:.3g})", got=spread)
        check_step_loss(ctx, out, x, what, kept=kept.astype(np.float64))


# ----------------------------------------------------------------------------- 3a.6 accuracy


def ref_split(example: dict) -> tuple[np.ndarray, np.ndarray]:
    """The reference SyntheticDataset built under the same global NumPy seed; NumPy's global state is restored."""
    state = np.random.get_state()
    try:
        np.random.seed(example["seed"])
        dataset = ref().SyntheticDataset(example["input_size"], example["samples"], example["splits"], example["high_var_dims"], example["var_scale"], example["batch_size"], example["eval_batch_size"])
    finally:
        np.random.set_state(state)
    x, y = dataset._data[example["split"] or "test"]
    return x.numpy(), y.numpy()


def expected_accuracy_range(features: np.ndarray, weight: np.ndarray, bias: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Percent correct; samples whose two best logits are within rounding of each other may count either way."""
    logits = features.astype(np.float64) @ weight.astype(np.float64).T + bias.astype(np.float64)
    order = np.sort(logits, axis=1)
    gap = order[:, -1] - order[:, -2] if logits.shape[1] > 1 else np.full(len(logits), np.inf)
    scale = 1e-4 * (1 + np.abs(logits).max(axis=1))
    ambiguous = gap <= scale
    correct = (logits.argmax(axis=1) == labels) & ~ambiguous
    n = len(labels)
    return 100.0 * correct.sum() / n, 100.0 * (correct.sum() + ambiguous.sum()) / n


def accuracy_weights(example: dict) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """The encoder's state_dict and the classifier's (W, b), chosen here and sent to the worker.

    The homework's example (weights_seed None) uses the weights torch.manual_seed(seed) gives the
    reference Autoencoder and then nn.Linear (the 53.0 fact); other examples use seeded random values.
    """
    n, hidden, classes = example["input_size"], list(example["hidden_sizes"]), example["num_classes"]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(example["seed"])
        encoder = ref().Autoencoder(n, hidden).encoder.state_dict()
        classifier = torch.nn.Linear(hidden[-1], classes)
    if example["weights_seed"] is None:
        state = {k: v.detach().numpy().astype(np.float32) for k, v in encoder.items()}
        return state, classifier.weight.detach().numpy().astype(np.float32), classifier.bias.detach().numpy().astype(np.float32)
    rng = np.random.default_rng(example["weights_seed"])
    state = {k: (rng.standard_normal(tuple(v.shape)) * 0.5).astype(np.float32) for k, v in encoder.items()}
    rng = np.random.default_rng(example["weights_seed"] + 1)
    return state, rng.standard_normal((classes, hidden[-1])).astype(np.float32), rng.standard_normal(classes).astype(np.float32)


def reference_features(example: dict, state: dict[str, np.ndarray], inputs: np.ndarray) -> np.ndarray:
    """The reference encoder holding the grader's weights, applied to the reference split (float64)."""
    with torch.random.fork_rng(devices=[]):
        encoder = ref().Autoencoder(example["input_size"], list(example["hidden_sizes"])).encoder.double()
    encoder.load_state_dict({k: t64(v) for k, v in state.items()})
    with torch.no_grad():
        return encoder(t64(inputs)).numpy()


PERCENT_TOLERANCE = 0.005 + 1e-6


def accuracy_case(ctx: Ctx, example: dict, fact: bool = False) -> None:
    state, weight, bias = accuracy_weights(example)
    sent = {k: v for k, v in example.items() if k != "weights_seed"}
    out = ctx.call("3a.accuracy", **sent, encoder_state=state, W=weight, b=bias)
    inputs, labels = ref_split(example)
    split = example["split"] or "test"
    ctx.close(out["inputs"], inputs, f"the {split!r} split of SyntheticDataset (provided code: it must match the homework's)", rtol=1e-6, atol=1e-6)
    low, high = expected_accuracy_range(reference_features(example, state, inputs), weight, bias, labels)
    got = scalar(out["accuracy"], "Experiment._get_model_accuracy(classifier)")
    call = "_get_model_accuracy(classifier)" if example["split"] is None else f"_get_model_accuracy(classifier, split={example['split']!r})"
    example_text = " on the homework's example" + (" (53.0)" if low == high == FACT_ACCURACY else "")
    what = f"Experiment.{call}: percentage (0-100) of the {split!r} split classified correctly" + (example_text if fact else f" ({len(labels)} samples, evaluation batches of {example['eval_batch_size']}, the grader's random encoder and classifier weights)")
    # The handout states the accuracy to two decimals (np.allclose(..., 53.00)): a percentage
    # rounded to two decimals, or computed in float32, is as right as the exact one.
    if not (low - PERCENT_TOLERANCE <= got <= high + PERCENT_TOLERANCE):
        expected = f"{low:.4f}" if low == high else f"between {low:.4f} and {high:.4f}"
        ctx.fail("value", what=what, expected=f"{expected} (+- {PERCENT_TOLERANCE})", got=f"{got:.4f}")


FACT_EXAMPLE = {
    "seed": 2017, "input_size": 7, "samples": 800, "splits": [0.4, 0.1, 0.5], "high_var_dims": 2, "var_scale": 15.0,
    "batch_size": 10, "eval_batch_size": 200, "hidden_sizes": [5, 4], "num_classes": 2, "split": None, "weights_seed": None,
}


@check("3a.6")
def model_accuracy(ctx: Ctx) -> None:
    accuracy_case(ctx, FACT_EXAMPLE, fact=True)

    def test(ex):
        accuracy_case(ctx, ex)

    examples = st.fixed_dictionaries(
        {
            "seed": seeds,
            "input_size": st.integers(2, 8),
            # The handout's Experiment fixes eval_batch_size = 200 and evaluates
            # num_test_samples // 200 whole batches of the test split, whatever split is passed:
            # test splits of whole multiples of 200 samples, evaluated in batches of 200.
            "samples": st.just(0),
            "splits": st.sampled_from([(800, [0.4, 0.1, 0.5]), (1000, [0.6, 0.2, 0.2]), (2000, [0.5, 0.3, 0.2]), (2000, [0.7, 0.1, 0.2])]),
            "high_var_dims": st.just(2),
            "var_scale": st.sampled_from([1.0, 15.0, 100.0]),
            "batch_size": st.just(10),
            "eval_batch_size": st.just(200),
            "hidden_sizes": st.lists(st.integers(1, 6), min_size=1, max_size=2),
            "num_classes": st.integers(2, 4),
            "split": st.just(None),
            "weights_seed": seeds,
        }
    )
    ctx.for_all(examples.map(lambda ex: {**ex, "samples": ex["splits"][0], "splits": ex["splits"][1]}), test)


# ----------------------------------------------------------------------------- 3a.7 plot_single

NO_MARKER = ("None", "none", "", " ")


def band_covers(vertices: np.ndarray, x: np.ndarray, low: np.ndarray, high: np.ndarray) -> bool:
    if vertices.ndim != 2 or vertices.shape[1] != 2 or not len(vertices):
        return False
    tol = 1e-9 + 1e-9 * np.abs(vertices).max()
    for xi, lo, hi in zip(x, low, high):
        at = np.abs(vertices[:, 0] - xi) <= tol
        if not (np.any(at & (np.abs(vertices[:, 1] - lo) <= tol + 1e-9 * abs(lo))) and np.any(at & (np.abs(vertices[:, 1] - hi) <= tol + 1e-9 * abs(hi)))):
            return False
    ys = vertices[:, 1]
    return bool(np.all(ys >= low.min() - tol - 1e-9 * abs(low.min())) and np.all(ys <= high.max() + tol + 1e-9 * abs(high.max())))


def check_plot(ctx: Ctx, calls: list[tuple[np.ndarray, int]]) -> None:
    """Several plot_single calls on one axes (as the homework's sweep makes them); each must add its own curve."""
    out = ctx.call("3a.plot", calls=[[values, feats_dim] for values, feats_dim in calls])
    for number, ((values, feats_dim), added) in enumerate(zip(calls, out["calls"]), start=1):
        check_one_plot(ctx, values, feats_dim, added, f"call {number} of {len(calls)} on the same axes")


def check_one_plot(ctx: Ctx, values: np.ndarray, feats_dim: int, out: dict, which: str) -> None:
    runs, epochs = values.shape
    mean, low, high = values.mean(axis=0), values.min(axis=0), values.max(axis=0)
    call = f"plot_single(values of shape {values.shape}, {feats_dim}) ({which})"
    if not out["lines"] and not out["bands"]:
        where = " (it drew on another figure or axes: draw on the current axes, plt.gca())" if out["elsewhere"] else ""
        ctx.fail("value", what=f"artists {call} added to the current axes{where}", expected="a line and a fill_between band", got="nothing")
    labelled = [line for line in out["lines"] if names_dimension(line["label"], feats_dim)]
    if len(labelled) != 1:
        ctx.fail("value", what=f"lines added by {call} whose legend label names feats_dim = {feats_dim} (the handout: feats_dim is for the legend)", expected=1, got=f"{len(labelled)} (labels of the lines added: {[line['label'] for line in out['lines']]})")
    line = labelled[0]
    ctx.close(line["y"], mean, f"y data of the line labelled {line['label']!r} added by {call} (the mean over runs, one point per epoch)")
    x = np.asarray(line["x"], dtype=np.float64)
    if x.shape != (epochs,) or not np.all(np.isfinite(x)) or not np.all(np.diff(x) > 0):
        ctx.fail("value", what=f"x data of the mean line added by {call}", expected=f"{epochs} increasing epoch numbers", got=x)
    # "A filled area around it": min..max over runs, or mean +- one standard deviation.
    spreads = [(low, high)] + [(mean - values.std(axis=0, ddof=d), mean + values.std(axis=0, ddof=d)) for d in ((0, 1) if runs > 1 else (0,))]
    bands = [band for band in out["bands"] if band["poly"] and any(band_covers(np.asarray(band["vertices"], dtype=np.float64), x, lo, hi) for lo, hi in spreads)]
    if not bands:
        kinds = [band["kind"] for band in out["bands"]]
        ctx.fail("value", what=f"a filled area around the mean line added by {call} (fill_between(epochs, min over runs, max over runs), or mean +- std)", expected="a PolyCollection spanning it at every epoch", got=f"collections {kinds}" if kinds else "no fill_between band")
    for band in bands:
        face = np.asarray(band["facecolor"], dtype=np.float64).reshape(-1, 4)
        if len(face) and np.all((face[:, 3] > 0) & (face[:, 3] < 1)):
            return
    face = np.asarray(bands[0]["facecolor"], dtype=np.float64).reshape(-1, 4)
    ctx.fail("value", what=f"fill colour (RGBA) of the area around the line added by {call}: translucent, so that the curve stays visible (0 < alpha < 1)", expected="alpha < 1", got=np.round(face[0], 4).tolist() if len(face) else "no face colour")


def names_dimension(label: str, feats_dim: int) -> bool:
    """Whether a legend label names the feature dimension: '20', 'feats_dim = 20', 'dim 20' (not '200')."""
    return re.search(rf"(?<![\d.]){int(feats_dim)}(?![\d.])", str(label)) is not None


@check("3a.7")
def plot_single(ctx: Ctx) -> None:
    homework = np.array([[0.5, 0.7, 0.8, 0.9], [0.4, 0.75, 0.7, 0.95], [0.6, 0.65, 0.9, 0.85]])
    check_plot(ctx, [(homework, 5), (homework[::-1] * 0.9, 20)])

    def test(ex):
        rng = np.random.default_rng(ex["seed"])
        dims = rng.choice([5, 20, 50, 100], size=ex["curves"], replace=False)
        check_plot(ctx, [(rng.uniform(0, 100, (ex["runs"], ex["epochs"])).round(3), int(dim)) for dim in dims])

    ctx.for_all(st.fixed_dictionaries({"runs": st.integers(1, 4), "epochs": st.integers(1, 8), "curves": st.integers(1, 4), "seed": seeds}), test)


# ----------------------------------------------------------------------------- 3a.8 MNIST linear probe

MNIST_HIDDEN = [128, 16]
MNIST_TRAIN = 3000
MNIST_LABELLED = 500
MNIST_EVAL = 1000
MNIST_BUDGET = {"epochs": 2, "batch_size": 50, "lr": 2e-3}
PROBE_BUDGET = {"probe_steps": 300, "probe_lr": 1e-2}
MNIST_MARGIN = 0.12  # accuracy may fall this far below the reference's under the same budget (untrained: ~0.55)


@for_one_module
def mnist_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 digits (float32 in [0, 1]) and their labels; both stay on this side."""
    from ..datasets import mnist_pixels

    images, labels = mnist_pixels()
    pixels = (np.asarray(images, dtype=np.float64) / 255.0).astype(np.float32)
    return pixels, np.asarray(labels, dtype=np.int64)


def mnist_split(seed: int) -> dict:
    """Training digits (sent, shuffled, without indices), labelled probe digits (a subset of them,
    labels kept here) and evaluation digits (never sent), drawn with a seed the worker never learns."""
    images, _labels = mnist_digits()
    order = np.random.default_rng(seed).permutation(images.shape[0])
    train = order[:MNIST_TRAIN]
    return {"train_idx": train, "probe_idx": train[:MNIST_LABELLED], "eval_idx": order[-MNIST_EVAL:]}


def rebuild(learned: dict, what: str, input_size: int, output_size: int) -> torch.nn.Sequential:
    """The network a worker reported (leaf calls + Linear weights in call order) as trusted modules."""
    calls, linears = learned.get("calls"), learned.get("linears")
    if not isinstance(calls, list) or not isinstance(linears, list):
        _fail("value", what=what, expected="its layers", got="nothing usable")
    modules: list[torch.nn.Module] = []
    weights = iter(linears)
    size = input_size
    for call in calls:
        kind = call[0] if isinstance(call, list) and call else None
        if kind == "activation":
            modules.append(torch.nn.ReLU())
        elif kind == "linear":
            layer = next(weights, None)
            weight = np.asarray(layer.get("weight"), dtype=np.float64) if isinstance(layer, dict) else np.zeros(0)
            if weight.ndim != 2 or weight.shape[1] != size or not np.all(np.isfinite(weight)):
                _fail("value", what=f"a Linear layer of {what}", expected=f"finite weights taking {size} features", got=f"shape {weight.shape}")
            linear = torch.nn.Linear(weight.shape[1], weight.shape[0], bias=layer.get("bias") is not None).double()
            with torch.no_grad():
                linear.weight.copy_(torch.as_tensor(weight))
                if linear.bias is not None:
                    bias = np.asarray(layer["bias"], dtype=np.float64)
                    if bias.shape != (weight.shape[0],) or not np.all(np.isfinite(bias)):
                        _fail("value", what=f"a Linear bias of {what}", expected=f"{weight.shape[0]} finite numbers", got=f"shape {bias.shape}")
                    linear.bias.copy_(torch.as_tensor(bias))
            modules.append(linear)
            size = weight.shape[0]
        else:
            _fail("value", what=f"the layers of {what}", expected="nn.Linear layers and the activation_cls passed in", got=str(call)[:80])
    if size != output_size:
        _fail("value", what=f"the output size of {what}", expected=output_size, got=size)
    return torch.nn.Sequential(*modules)


def _fail(key: str, **fields) -> None:
    raise CheckFailed(say(key, **fields))


def probe_accuracy(encoder: torch.nn.Module, seed: int, split: dict) -> float:
    """Accuracy of a linear probe on the encoder's features: fitted and scored here, on digits the worker never labelled."""
    images, labels = mnist_digits()
    with torch.no_grad():
        train_feats = encoder(torch.as_tensor(images[split["probe_idx"]], dtype=torch.float64)).float()
        eval_feats = encoder(torch.as_tensor(images[split["eval_idx"]], dtype=torch.float64)).float()
    mean, std = train_feats.mean(dim=0), train_feats.std(dim=0) + 1e-6
    train_feats, eval_feats = (train_feats - mean) / std, (eval_feats - mean) / std
    generator = torch.Generator().manual_seed(seed + 1)
    linear = torch.nn.Linear(train_feats.shape[1], 10)
    with torch.no_grad():
        linear.weight.copy_(torch.randn(linear.weight.shape, generator=generator) * 0.01)
        linear.bias.zero_()
    targets = torch.as_tensor(labels[split["probe_idx"]])
    optimizer = torch.optim.Adam(linear.parameters(), lr=PROBE_BUDGET["probe_lr"])
    for _ in range(PROBE_BUDGET["probe_steps"]):
        loss = torch.nn.functional.cross_entropy(linear(train_feats), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        predicted = linear(eval_feats).argmax(dim=1).numpy()
    return float((predicted == labels[split["eval_idx"]]).mean())


@lru_cache(maxsize=4)
def reference_mnist(seed: int) -> float:
    """Probe accuracy of the reference's Autoencoder after the same training."""
    from ..probes.part3a import TraceActivation, layers_in_call_order, train_autoencoder

    split = mnist_split(seed)
    images, _labels = mnist_digits()
    state = torch.get_rng_state()
    try:
        torch.manual_seed(seed)
        model = ref().Autoencoder(784, list(MNIST_HIDDEN), activation_cls=TraceActivation)
        train_autoencoder(model, images[split["train_idx"]], seed=seed, **MNIST_BUDGET)
        encoder = layers_in_call_order(model.encoder, torch.zeros(1, 784))
    finally:
        torch.set_rng_state(state)
    return probe_accuracy(rebuild(encoder, "the reference", 784, MNIST_HIDDEN[-1]), seed, split)


@check("3a.8")
def mnist_probe(ctx: Ctx) -> None:
    """The student's Autoencoder is trained in the worker on digits sent there; its encoder comes back
    as weights and is evaluated here: a linear probe, fitted here with labels the worker never sees,
    scored on digits the worker never sees. No accuracy or loss the worker could claim counts."""
    seed = secret_seed("3a.8 split") % 100_000
    split = mnist_split(seed)
    images, _labels = mnist_digits()
    out = ctx.call("3a.mnist", hidden_sizes=MNIST_HIDDEN, images=images[split["train_idx"]], seed=seed, **MNIST_BUDGET)
    encoder = rebuild(out.get("encoder") or {}, f"the encoder of your trained Autoencoder(784, {MNIST_HIDDEN})", 784, MNIST_HIDDEN[-1])
    accuracy = probe_accuracy(encoder, seed, split)
    target = remembered("3a.8 reference probe accuracy", {"seed": seed}, lambda: reference_mnist(seed))  # once per install
    budget = f"{MNIST_BUDGET['epochs']} epochs of Adam on {MNIST_TRAIN} digits"
    threshold = target - MNIST_MARGIN
    if not accuracy >= threshold:
        ctx.fail("value", what=f"held-out accuracy of a linear probe ({MNIST_LABELLED} labelled digits) on the features of your Autoencoder(784, {MNIST_HIDDEN}) after the grader's short training ({budget})", expected=f">= {threshold:.3f} (reference: {target:.3f})", got=accuracy)
