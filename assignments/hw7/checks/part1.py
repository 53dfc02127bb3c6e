"""Part 1 (q_rnn_and_grad): 1a RNNLayer, 1b regression head, 1c loss, 1d gradients through time, 1h stacked RNN.

Modules are compared on random weights that this side chooses, independently of the
student's parameter layout: the probe sets the student's layer to the effective W^x,
W^h and b it is sent, and the reference, loaded with the same weights, must reproduce
the student's outputs. No expected value is computed from anything the worker reports.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import numpy as np
import torch
from hypothesis import strategies as st

from autograder.checks import check
from autograder.checks.context import Ctx
from autograder.checks.memo import remembered
from .reference import NONLINEARITIES, module, t64
from ..probes.harness import NAMED_PARAMETERS, StandInRegressionModel, StandInRNNLayer, stand_in_loss
from ..probes.part1 import stack_stand_in_map
from autograder.secrets import secret_seed

TANH_POINT_TWO = 0.19737532022490401


def ref():
    return module("q_rnn_and_grad")


def ref_layer(weights: dict, nonlinearity: str = "tanh", stand_ins: tuple = ()) -> torch.nn.Module:
    wx, wh, b = (np.asarray(weights[k], dtype=np.float64) for k in ("Wx", "Wh", "b"))
    if "RNNLayer" in stand_ins:
        return StandInRNNLayer(wx.shape[1], wh.shape[0], nonlinearity=NONLINEARITIES[nonlinearity]).load(weights).double()
    layer = ref().RNNLayer(wx.shape[1], wh.shape[0], nonlinearity=NONLINEARITIES[nonlinearity]).double()
    with torch.no_grad():
        layer.W_x.weight.copy_(t64(wx))
        layer.W_h.weight.copy_(t64(wh))
        layer.W_h.bias.copy_(t64(b))
    return layer


def ref_head(net: torch.nn.Module, head: dict, stand_ins: tuple = ()) -> torch.nn.Module:
    """The reference's RecurrentRegressionModel around ``net`` with read-out W, c (or the stand-in read-out)."""
    if "RecurrentRegressionModel" in stand_ins:
        return StandInRegressionModel(net, head).double()
    model = ref().RecurrentRegressionModel(net, output_dim=int(np.shape(head["W"])[0])).double()
    with torch.no_grad():
        model.output_layer.weight.copy_(t64(head["W"]))
        model.output_layer.bias.copy_(t64(head["c"]))
    return model


def ref_model(weights: dict, head_w, head_c, nonlinearity: str = "tanh", stand_ins: tuple = ()) -> torch.nn.Module:
    return ref_head(ref_layer(weights, nonlinearity, stand_ins), {"W": head_w, "c": head_c}, stand_ins)


def ref_rnn(layer_weights: list[dict], stand_ins: tuple = ()) -> torch.nn.Module:
    first = layer_weights[0]
    rnn = ref().RNN(np.shape(first["Wx"])[1], np.shape(first["Wh"])[0], len(layer_weights)).double()
    if "RNNLayer" in stand_ins:
        rnn.layers = torch.nn.ModuleList([ref_layer(weights, stand_ins=stand_ins) for weights in layer_weights])
        return rnn
    for target, weights in zip(rnn.layers, layer_weights):
        with torch.no_grad():
            target.W_x.weight.copy_(t64(weights["Wx"]))
            target.W_h.weight.copy_(t64(weights["Wh"]))
            target.W_h.bias.copy_(t64(weights["b"]))
    return rnn


# Pieces a later check runs, and the checks that grade them: when one of those failed, the later
# check runs the grader's stand-in for the piece (see harness.StandInRNNLayer), so that a bug
# in RNNLayer, the read-out or the loss costs only its own checks.
PIECES = {"RNNLayer": ("1a.3", "1a.4"), "RecurrentRegressionModel": ("1b.2", "1b.3")}


def stand_ins(ctx: Ctx, loss_check: str | None = None, layer_default: bool = False) -> tuple[str, ...]:
    """The pieces this check runs as the grader's stand-ins (their own checks failed earlier).
    ``layer_default``: the student's code builds RNNLayer with its default nonlinearity, which 1a.2 grades."""
    graded = {**PIECES, "RNNLayer": PIECES["RNNLayer"] + (("1a.2",) if layer_default else ())}
    pieces = [piece for piece, graded_by in graded.items() if ctx.stand_in(piece, graded_by)]
    if loss_check is not None and ctx.stand_in("loss_fn", (loss_check,)):
        pieces.append("loss_fn")
    return tuple(pieces)


@contextmanager
def reference_loss(pieces: tuple) -> Iterator[None]:
    """The reference module's loss_fn, or the stand-in loss if ``pieces`` names it (for its hidden_grad_norms)."""
    r = ref()
    original = r.loss_fn
    if "loss_fn" in pieces:
        r.loss_fn = stand_in_loss
    try:
        yield
    finally:
        r.loss_fn = original


def ref_norms(model: torch.nn.Module, x, y, last: bool, pieces: tuple) -> np.ndarray:
    with reference_loss(pieces):
        return np.asarray(ref().hidden_grad_norms(model, t64(x), t64(y), last), dtype=np.float64)


def randn(seed: int, *shape: int, scale: float = 1.0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


def rnn_weights(seed: int, input_size: int, hidden_size: int, scale: float = 0.5, bias: bool = False) -> dict:
    """Effective RNNLayer weights chosen here: pre-activation = W^x x + W^h h + b.

    Only 1a.3 draws a random b: elsewhere b = 0, so that a layer without a bias (which
    1a.1, 1a.2 and 1a.3 catch) can still be set up, and costs no other check.
    """
    rng = np.random.default_rng([seed, 1])
    draw = lambda *shape: (rng.standard_normal(shape) * scale).astype(np.float32)  # noqa: E731
    wx, wh, b = draw(hidden_size, input_size), draw(hidden_size, hidden_size), draw(hidden_size)
    return {"Wx": wx, "Wh": wh, "b": b if bias else np.zeros(hidden_size, dtype=np.float32)}


def head_weights(seed: int, hidden_size: int, output_dim: int, scale: float = 0.5) -> dict:
    """Read-out weights chosen here: out = W h + c at every step."""
    rng = np.random.default_rng([seed, 2])
    return {"W": (rng.standard_normal((output_dim, hidden_size)) * scale).astype(np.float32), "c": (rng.standard_normal(output_dim) * scale).astype(np.float32)}


sizes = st.integers(min_value=1, max_value=5)
seeds = st.integers(min_value=0, max_value=2**16)


# ----------------------------------------------------------------------------- 1a


@check("1a.1")
def rnn_layer_parameter_count(ctx: Ctx) -> None:
    def test(ex):
        out = ctx.call("1a.param_count", **ex)
        n, h = ex["input_size"], ex["hidden_size"]
        ctx.equal(out["count"], h * n + h * h + h, f"number of parameters of RNNLayer({n}, {h}) (H*in + H*H + H: one bias vector)")
        ctx.equal(out["attributes"], [n, h], "RNNLayer attributes [input_size, hidden_size]")

    ctx.for_all(st.fixed_dictionaries({"input_size": sizes, "hidden_size": sizes}), test)


@check("1a.2")
def rnn_layer_constant_weights(ctx: Ctx) -> None:
    out = ctx.call("1a.constant")
    ctx.close(out["all_h"], [[[TANH_POINT_TWO]]], "all_h of RNNLayer(1, 1) with every parameter 0.1 on input ones(1,1,1) (tanh(0.2))")
    ctx.close(out["last_h"], [[TANH_POINT_TWO]], "last_h of the same layer")


def forward_examples():
    return st.fixed_dictionaries(
        {
            "input_size": sizes,
            "hidden_size": sizes,
            "batch": st.integers(1, 3),
            "steps": st.integers(1, 6),
            "nonlinearity": st.sampled_from(["tanh", "relu", "identity"]),
            "seed": seeds,
        }
    )


@check("1a.3")
def rnn_layer_forward(ctx: Ctx) -> None:
    def test(ex):
        x = randn(ex["seed"], ex["batch"], ex["steps"], ex["input_size"])
        weights = rnn_weights(ex["seed"], ex["input_size"], ex["hidden_size"], bias=True)
        out = ctx.call("1a.forward", nonlinearity=ex["nonlinearity"], x=x, weights=weights)
        all_h, last_h = ref_layer(weights, ex["nonlinearity"])(t64(x))
        ctx.close(out["all_h"], all_h.detach().numpy(), "all_h")
        ctx.close(out["last_h"], last_h.detach().numpy(), "last_h")

    ctx.for_all(forward_examples(), test)


@check("1a.4")
def rnn_layer_h_list(ctx: Ctx) -> None:
    def test(ex):
        x = randn(ex["seed"], ex["batch"], ex["steps"], ex["input_size"])
        w = randn(ex["seed"] + 1, ex["batch"], ex["steps"], ex["hidden_size"])
        weights = rnn_weights(ex["seed"], ex["input_size"], ex["hidden_size"])
        out = ctx.call("1a.h_list", x=x, weights=weights, loss_weights=w)
        ctx.equal(out["length"], ex["steps"], f"len(layer.h_list) after a forward pass over {ex['steps']} steps")
        layer = ref_layer(weights, "tanh")
        all_h, _ = layer(t64(x))
        (all_h * t64(w)).sum().backward()
        for t, (got, h) in enumerate(zip(out["grads"], layer.h_list)):
            ctx.close(got, h.grad.numpy(), f"gradient of the loss w.r.t. h_list[{t}]")

    ctx.for_all(forward_examples().map(lambda ex: {k: v for k, v in ex.items() if k != "nonlinearity"}), test)


# ----------------------------------------------------------------------------- 1b


@check("1b.1")
def regression_parameter_count(ctx: Ctx) -> None:
    out = ctx.call("1b.param_count", input_size=2, hidden_size=3, output_dim=4, recurrent_parameters=18)
    ctx.equal(out["count"], 34, "number of parameters of RecurrentRegressionModel(RNNLayer(2, 3), output_dim=4)")

    def test(ex):
        got = ctx.call("1b.param_count", input_size=1, recurrent_parameters=0, **ex)
        h, o = ex["hidden_size"], ex["output_dim"]
        ctx.equal(got["count"], h * o + o, f"parameters of the read-out alone (hidden_size={h}, output_dim={o}): one nn.Linear")

    ctx.for_all(st.fixed_dictionaries({"hidden_size": sizes, "output_dim": sizes}), test)


@check("1b.2")
def regression_head_every_step(ctx: Ctx) -> None:
    def test(ex):
        hidden = randn(ex["seed"], ex["batch"], ex["steps"], ex["hidden_size"])
        head = head_weights(ex["seed"], ex["hidden_size"], ex["output_dim"])
        out = ctx.call("1b.forward", hidden=hidden, output_dim=ex["output_dim"], head=head)
        expected = hidden.astype(np.float64) @ head["W"].T.astype(np.float64) + head["c"]
        ctx.close(out["out"], expected, "out (the read-out applied to every step's hidden state)")
        ctx.close(out["all_h"], hidden, "all_h (the recurrent net's first output, returned unchanged)")

    ctx.for_all(
        st.fixed_dictionaries({"hidden_size": sizes, "output_dim": sizes, "batch": st.integers(1, 3), "steps": st.integers(1, 5), "seed": seeds}),
        test,
    )


@check("1b.3")
def regression_wraps_layer_and_rnn(ctx: Ctx) -> None:
    for kind, layers in (("layer", 1), ("rnn", 2), ("rnn", 3)):
        hidden, head = randn(7 + layers, 2, 4, 4), head_weights(11 + layers, 4, 1)
        out = ctx.call("1b.wraps", kind=kind, input_size=3, num_layers=layers, hidden=hidden, output_dim=1, head=head)
        what = "an RNNLayer(3, 4)" if kind == "layer" else f"an RNN(3, 4, {layers}) (whose last_step_h has shape ({layers}, B, 4))"
        ctx.close(out["all_h"], hidden, f"all_h returned when wrapping {what}: the net's all_h, unchanged")
        expected = hidden.astype(np.float64) @ head["W"].T.astype(np.float64) + head["c"]
        ctx.close(out["out"], expected, f"out when wrapping {what}: the read-out applied to every step of the net's all_h")


# ----------------------------------------------------------------------------- 1c

LOSS_FACT_PRED = [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]
LOSS_FACT_Y = [[-1.1, -1.2, -1.3], [-1.4, -1.5, -1.6]]


def loss_examples():
    return st.fixed_dictionaries({"batch": st.integers(1, 4), "steps": st.integers(1, 6), "trailing": st.booleans(), "seed": seeds})


def ref_loss(pred, y, last: bool) -> float:
    return float(ref().loss_fn(t64(pred), t64(y), last_timestep_only=last))


def one_number(ctx: Ctx, value, what: str) -> float:
    """The single number a scalar-valued function returned (a 0-d or one-element array)."""
    array = np.asarray(value, dtype=np.float64)
    if array.size != 1:
        ctx.fail("shape", what=what, expected="a scalar", got=tuple(array.shape))
    return float(array.reshape(-1)[0])


def ref_loss_grad(pred, y, last: bool) -> np.ndarray:
    predictions = t64(pred).requires_grad_(True)
    ref().loss_fn(predictions, t64(y), last_timestep_only=last).backward()
    return predictions.grad.numpy()


def check_loss(ctx: Ctx, got: dict, pred, y, last: bool, what: str, expected: float | None = None) -> None:
    """One loss value: a 0-d tensor (the handout's test cell asserts it), equal to the reference's, and
    a gradient with respect to pred that is the reference's (the training loops backpropagate it)."""
    value = np.asarray(got["loss"], dtype=np.float64)
    if not got.get("is_tensor"):
        ctx.fail("value", what=f"{what}: the type returned", expected="a torch tensor the training loop can call .backward() on", got=f"a {got.get('type')} (did you call .item() or compute it with numpy?)")
    if value.shape != ():
        ctx.fail("value", what=f"{what}: the shape returned", expected="a 0-dimensional tensor (the homework's test cell asserts loss.shape == torch.Size([]))", got=f"shape {tuple(value.shape)} (reduce with .mean(), or use F.mse_loss / nn.MSELoss)")
    if expected is None:
        ctx.close(value, ref_loss(pred, y, last), what)
    else:
        ctx.close(value, expected, what, rtol=1e-4)
    if got.get("grad") is None:
        ctx.fail("value", what=f"{what}: backward() from the loss", expected="a gradient reaching pred", got="none: the loss is not connected to pred (detached, rebuilt with torch.tensor(...), or computed outside autograd)")
    ctx.close(got["grad"], ref_loss_grad(pred, y, last), f"{what}: the gradient of the loss with respect to pred (what training backpropagates)")


def loss_check(ctx: Ctx, last: bool) -> None:
    got = ctx.call("1c.loss", pred=LOSS_FACT_PRED, y=LOSS_FACT_Y, last_timestep_only=last)
    check_loss(ctx, got, LOSS_FACT_PRED, LOSS_FACT_Y, last, f"loss_fn(pred, y, last_timestep_only={last}) on the homework's example", expected=3.7 if last else 3.0066666666666664)
    # The handout's training loop and update_plots pass the flag positionally; its signature's
    # default is False.
    got = ctx.call("1c.loss", pred=LOSS_FACT_PRED, y=LOSS_FACT_Y, last_timestep_only=last, call="positional")
    check_loss(ctx, got, LOSS_FACT_PRED, LOSS_FACT_Y, last, f"loss_fn(pred, y, {last}) on the homework's example (the flag passed positionally, as the training loop does)", expected=3.7 if last else 3.0066666666666664)
    if not last:
        got = ctx.call("1c.loss", pred=LOSS_FACT_PRED, y=LOSS_FACT_Y, last_timestep_only=False, call="default")
        check_loss(ctx, got, LOSS_FACT_PRED, LOSS_FACT_Y, False, "loss_fn(pred, y) on the homework's example (the signature's default, last_timestep_only=False)", expected=3.0066666666666664)

    def test(ex):
        shape = (ex["batch"], ex["steps"]) + ((1,) if ex["trailing"] else ())
        pred, y = randn(ex["seed"], *shape), randn(ex["seed"] + 1, *shape)
        got = ctx.call("1c.loss", pred=pred, y=y, last_timestep_only=last)
        check_loss(ctx, got, pred, y, last, f"loss_fn on inputs of shape {shape}, last_timestep_only={last}")

    ctx.for_all(loss_examples(), test)


@check("1c.1")
def loss_all_steps(ctx: Ctx) -> None:
    loss_check(ctx, last=False)


@check("1c.2")
def loss_last_step(ctx: Ctx) -> None:
    loss_check(ctx, last=True)


@check("1c.3")
def loss_properties(ctx: Ctx) -> None:
    """Properties of an MSE, each paired with values: a loss that is zero everywhere has them too.

    Beyond "zero when equal" and "the last-step loss ignores earlier steps", the loss must be
    the reference MSE up to a factor that depends only on the shapes (so a normalisation bug,
    graded by 1c.1 and 1c.2, costs nothing here): on the same shapes, the ratio to the
    reference is the same positive number for every input.
    """

    def test(ex):
        shape = (ex["batch"], ex["steps"]) + ((1,) if ex["trailing"] else ())
        pred, y = randn(ex["seed"], *shape), randn(ex["seed"] + 1, *shape)
        for last in (False, True):
            same = one_number(ctx, ctx.call("1c.loss", pred=y, y=y, last_timestep_only=last)["loss"], f"loss_fn(y, y, last_timestep_only={last})")
            ctx.close(same, 0.0, f"loss_fn(y, y, last_timestep_only={last}) (a perfect prediction)")
            ratios = []
            for k, scale in enumerate((1.0, 0.3, 2.5)):
                other = randn(ex["seed"] + 7 + k, *shape, scale=scale)
                got = one_number(ctx, ctx.call("1c.loss", pred=other, y=y, last_timestep_only=last)["loss"], f"loss_fn(pred, y, last_timestep_only={last})")
                expected = ref_loss(other, y, last)
                if not (np.isfinite(got) and got > 0):
                    ctx.fail("value", what=f"loss_fn(pred, y, last_timestep_only={last}) with pred != y, shape {shape}", expected="a positive number", got=got)
                ratios.append(got / expected)
            ctx.close(
                np.asarray(ratios[1:]),
                np.full(2, ratios[0]),
                f"loss_fn(pred, y, last_timestep_only={last}) divided by the mean squared error, for three predictions of shape {shape} "
                "(it must be the same number: the loss is a squared error, however it is normalised)",
                rtol=1e-4,
            )
        base = one_number(ctx, ctx.call("1c.loss", pred=pred, y=y, last_timestep_only=True)["loss"], "loss_fn(pred, y, last_timestep_only=True)")
        changed = pred.copy()
        changed[:, :-1] += 3.0
        moved = one_number(ctx, ctx.call("1c.loss", pred=changed, y=y, last_timestep_only=True)["loss"], "loss_fn(pred, y, last_timestep_only=True)")
        ctx.close(moved, base, "last-step loss after changing predictions before the last step (must not change)")

    ctx.for_all(loss_examples(), test)


# ----------------------------------------------------------------------------- 1d


def norms_check(ctx: Ctx, last: bool) -> None:
    pieces = stand_ins(ctx, loss_check="1c.2" if last else "1c.1")

    def test(ex):
        x = randn(ex["seed"], ex["batch"], ex["steps"], ex["input_size"])
        y = randn(ex["seed"] + 1, ex["batch"], ex["steps"], 1)
        weights, head = rnn_weights(ex["seed"], ex["input_size"], ex["hidden_size"]), head_weights(ex["seed"], ex["hidden_size"], 1)
        out = ctx.call("1d.norms", x=x, y=y, last_timestep_only=last, weights=weights, head=head, stand_ins=list(pieces))
        expected = ref_norms(ref_model(weights, head["W"], head["c"], stand_ins=pieces), x, y, last, pieces)
        ctx.close(out["norms"], expected, f"hidden_grad_norms(..., last_timestep_only={last}) (||dL/dh_t|| for t = 1..T)")

    ctx.for_all(
        st.fixed_dictionaries({"input_size": sizes, "hidden_size": sizes, "batch": st.integers(1, 3), "steps": st.integers(1, 6), "seed": seeds}),
        test,
    )


@check("1d.1")
def grad_norms_all_steps(ctx: Ctx) -> None:
    norms_check(ctx, last=False)


@check("1d.2")
def grad_norms_last_step(ctx: Ctx) -> None:
    norms_check(ctx, last=True)


def update_plots(ctx: Ctx, seed: int, weight_val: float, bias_val: float) -> tuple[dict, dict]:
    """The notebook's GradientVisualizer.update_plots on the student's RNNLayer(1, 4) holding trusted weights."""
    weights = rnn_weights(seed, 1, 4, bias=True)
    pieces = ["loss_fn"] if ctx.stand_in("loss_fn", ("1c.1", "1c.2")) else []
    out = ctx.call("1d.update_plots", weights=weights, last_timestep_only=True, x=randn(seed, 1, 10, 1), y=randn(seed + 1, 1, 10, 1), weight_val=weight_val, bias_val=bias_val, stand_ins=pieces)
    return weights, out


@check("1d.3")
def scale_parameters_by_name(ctx: Ctx) -> None:
    if ctx.notebook:
        # The notebook's TODO inside the provided GradientVisualizer.update_plots: "Scale all W
        # matrixes by weight_val, and all bias matrices by bias_val" (custom layers included).
        def scaled(ex):
            weights, out = update_plots(ctx, ex["seed"], ex["weight_scale"], ex["bias_scale"])
            call = f"GradientVisualizer(rnn, True).update_plots(weight_val={ex['weight_scale']}, bias_val={ex['bias_scale']}) with your RNNLayer(1, 4)"
            for key, factor, what in (("Wx", ex["weight_scale"], "W^x"), ("Wh", ex["weight_scale"], "W^h"), ("b", ex["bias_scale"], "b")):
                ctx.close(out[key], weights[key].astype(np.float64) * factor, f"the {what} that forward uses after {call} (scale every weight matrix by weight_val and every bias by bias_val)")

        ctx.for_all(st.fixed_dictionaries({"weight_scale": st.sampled_from([0.5, 2.0, 3.0]), "bias_scale": st.sampled_from([0.0, 0.5, 2.0]), "seed": seeds}), scaled, examples=4)
        return

    def test(ex):
        before = {name: randn(ex["seed"] + number, *shape) for number, (name, shape) in enumerate(NAMED_PARAMETERS.items())}
        out = ctx.call("1d.scale", weight_scale=ex["weight_scale"], bias_scale=ex["bias_scale"], before=before)
        call = f"scale_parameters(model, {ex['weight_scale']}, {ex['bias_scale']})"
        ctx.equal(sorted(out["after"]), sorted(before), f"parameter names of the test model after {call}")
        for name, values in before.items():
            factor = ex["weight_scale"] if "weight" in name else ex["bias_scale"] if "bias" in name else 1.0
            ctx.close(out["after"][name], values.astype(np.float64) * factor, f"parameter {name!r} after {call}")

    scales = st.sampled_from([0.0, 0.5, 2.0, -1.0, 3.0])
    ctx.for_all(st.fixed_dictionaries({"weight_scale": scales, "bias_scale": scales, "seed": seeds}), test)
    if ctx.stand_in("RNNLayer", PIECES["RNNLayer"]):
        return  # the part on their own layer needs a working RNNLayer; the named test module stood in

    def own_layer(ex):
        # The handout: "if you're using custom layers, modify this block": whatever the layer's
        # parameters are called, its W^x and W^h scale with weight_scale and its b with bias_scale.
        weights = rnn_weights(ex["seed"], 2, 3, bias=True)
        out = ctx.call("1d.scale_layer", weight_scale=ex["weight_scale"], bias_scale=ex["bias_scale"], weights=weights)
        call = f"scale_parameters(layer, {ex['weight_scale']}, {ex['bias_scale']}) on your own RNNLayer(2, 3)"
        for key, factor, what in (("Wx", ex["weight_scale"], "W^x"), ("Wh", ex["weight_scale"], "W^h"), ("b", ex["bias_scale"], "b")):
            ctx.close(out[key], weights[key].astype(np.float64) * factor, f"the {what} that forward uses after {call} (custom parameters must be scaled too, whatever their names)")

    ctx.for_all(st.fixed_dictionaries({"weight_scale": st.sampled_from([0.5, 2.0, 3.0]), "bias_scale": st.sampled_from([0.0, 0.5, 2.0]), "seed": seeds}), own_layer, examples=3)


@check("1d.4")
def recurrent_weight_matrix(ctx: Ctx) -> None:
    if ctx.notebook:
        # The notebook's TODO inside update_plots: "Set W = the weight which most affects
        # exploding/vanishing gradients", read as the matrix it hands to biggest_eig_magnitude,
        # against the W^h its forward uses afterwards (either orientation: same eigenvalues).
        def chosen(ex):
            _, out = update_plots(ctx, ex["seed"], ex["weight_scale"], 1.0)
            what = f"W set in GradientVisualizer.update_plots(weight_val={ex['weight_scale']}, bias_val=1.0) (the matrix passed to biggest_eig_magnitude)"
            if out["W"] is None:
                ctx.fail("value", what=what, expected="a (4, 4) matrix: W^h, the hidden-to-hidden weight", got="biggest_eig_magnitude was never called")
            W, wh = np.asarray(out["W"], dtype=np.float64), np.asarray(out["Wh"], dtype=np.float64)
            if W.shape == wh.shape and np.allclose(W, wh.T, rtol=1e-4, atol=1e-5):
                return
            ctx.close(W, wh, f"{what}: W^h, the hidden-to-hidden weight forward uses (W^h or its transpose)")

        ctx.for_all(st.fixed_dictionaries({"weight_scale": st.sampled_from([1.0, 2.0]), "seed": seeds}), chosen, examples=3)
        return

    def test(ex):
        weights = {**rnn_weights(ex["seed"], ex["input_size"], ex["hidden_size"]), "pin": ["Wh"]}
        out = ctx.call("1d.recurrent_weight", weights=weights)
        ctx.close(out["returned"], weights["Wh"], "recurrent_weight(layer): the W^h that forward uses (pre-activation = W^h h_{t-1} + ...)")
        if not out.get("shares_parameter"):
            ctx.fail("value", what="recurrent_weight(layer): whether it is the layer's parameter (or a view of it)", expected="the parameter itself or a view (writing into it changes the layer, as the gradient-flow study does)", got="a copy (.clone(), .detach().numpy(), torch.tensor(...)?)")

    ctx.for_all(st.fixed_dictionaries({"input_size": sizes, "hidden_size": st.integers(2, 5), "seed": seeds}), test)


@check("1d.5")
def linear_rnn_gradient_scaling(ctx: Ctx) -> None:
    """Gradient norms through a linear RNN with a last-step loss, compared with the reference.

    W^h = rho*Q (Q orthogonal) shows the textbook law ||dL/dh_t|| = rho^(T-t) ||dL/dh_T||, but a
    law that simple can be computed from the weights without any backpropagation; general
    random W^h of the same spectral scale are mixed in, and every value is the reference's.
    """

    pieces = stand_ins(ctx, loss_check="1c.2")

    def test(ex):
        h, steps, rho = ex["hidden_size"], ex["steps"], ex["rho"]
        rng = np.random.default_rng([ex["seed"], 5])
        if ex["kind"] == "rho*Q":
            q, _ = np.linalg.qr(rng.standard_normal((h, h)))
            wh = rho * q
        else:
            wh = rng.standard_normal((h, h)) * (rho / np.sqrt(h))
        weights = {**rnn_weights(ex["seed"], 1, h), "Wh": wh.astype(np.float32)}
        head = head_weights(ex["seed"], h, 1)
        x, y = randn(ex["seed"] + 1, 4, steps, 1), randn(ex["seed"] + 2, 4, steps, 1)
        out = ctx.call("1d.linear_property", x=x, y=y, weights=weights, head=head, stand_ins=list(pieces))
        norms = np.asarray(out["norms"], dtype=np.float64)
        if norms.shape != (steps,):
            ctx.fail("shape", what="hidden_grad_norms(...)", expected=(steps,), got=tuple(norms.shape))
        expected = ref_norms(ref_model(weights, head["W"], head["c"], nonlinearity="identity", stand_ins=pieces), x, y, True, pieces)
        law = " (for this W^h, ||dL/dh_t|| = rho^(T-t) ||dL/dh_T||)" if ex["kind"] == "rho*Q" else ""
        ctx.close(norms, expected, f"gradient norms ||dL/dh_t||, t = 1..T, of a linear RNN with W^h = {ex['kind']}, rho = {rho}, last-step loss{law}", rtol=1e-3, atol=1e-7)

    ctx.for_all(
        st.fixed_dictionaries(
            {"kind": st.sampled_from(["rho*Q", "random"]), "hidden_size": st.integers(2, 4), "steps": st.integers(2, 6), "rho": st.sampled_from([0.5, 0.9, 1.5]), "seed": seeds}
        ),
        test,
    )


# ----------------------------------------------------------------------------- 1h


@check("1h.1")
def stacked_rnn_structure(ctx: Ctx) -> None:
    def test(ex):
        n, h, layers = ex["input_size"], ex["hidden_size"], ex["num_layers"]
        x = randn(ex["seed"], 2, 3, n)
        out = ctx.call("1h.structure", input_size=n, hidden_size=h, num_layers=layers, x=x)
        expected_built = [[n, h]] + [[h, h]] * (layers - 1)
        ctx.equal(out["built"], expected_built, f"RNNLayer(input_size, hidden_size) calls made by RNN({n}, {h}, {layers})")
        hidden = x.astype(np.float64)
        last = []
        for index, (size_in, size_out) in enumerate(expected_built):
            a, c = (v.double().numpy() for v in stack_stand_in_map(index, size_in, size_out))
            hidden = np.cumsum(hidden @ a, axis=1) + c
            last.append(hidden[:, -1])
        ctx.close(out["out"], hidden, "RNN output (the last layer's hidden states, with each layer fed the previous layer's)")
        ctx.close(out["last"], np.stack(last), "RNN last_step_h (num_layers, B, H), in layer order")

    ctx.for_all(st.fixed_dictionaries({"input_size": sizes, "hidden_size": sizes, "num_layers": st.integers(1, 3), "seed": seeds}), test)


@check("1h.2")
def stacked_rnn_forward(ctx: Ctx) -> None:
    pieces = tuple(p for p in stand_ins(ctx, layer_default=True) if p == "RNNLayer")

    def test(ex):
        x = randn(ex["seed"], ex["batch"], ex["steps"], ex["input_size"])
        layers = [rnn_weights(ex["seed"] + k, ex["input_size"] if k == 0 else ex["hidden_size"], ex["hidden_size"]) for k in range(ex["num_layers"])]
        out = ctx.call("1h.forward", x=x, layers=layers, stand_ins=list(pieces))
        rnn = ref_rnn(layers, pieces)
        expected_out, expected_last = rnn(t64(x))
        ctx.close(out["out"], expected_out.detach().numpy(), "RNN output")
        ctx.close(out["last"], expected_last.detach().numpy(), "RNN last_step_h")

    ctx.for_all(
        st.fixed_dictionaries({"input_size": sizes, "hidden_size": sizes, "num_layers": st.integers(1, 3), "batch": st.integers(1, 3), "steps": st.integers(1, 5), "seed": seeds}),
        test,
    )


TRAIN_BATCHES = 150
TRAIN_HIDDEN = 12
TRAIN_LR = 1e-2
TRAIN_SLACK = 1.25  # held-out loss may exceed the reference's, trained from the same start, by this factor (+ 1e-3)
TRAIN_INIT_SCALE = 0.3
HELD_OUT_BATCHES = 8


def running_average_batches(seed: int, batches: int) -> tuple[np.ndarray, np.ndarray]:
    """Sequences of the homework's task (targets: the running average of the inputs)."""
    xs = np.random.default_rng(seed).standard_normal((batches, 32, 10, 1)).astype(np.float32)
    ys = (np.cumsum(xs, axis=2) / np.arange(1, 11).reshape(1, 1, 10, 1)).astype(np.float32)
    return xs, ys


def held_out_loss(layer_weights: list[dict], head: dict, xs: np.ndarray, ys: np.ndarray, pieces: tuple = ()) -> float:
    """Mean squared error of the reference's stacked RNN and read-out (or their stand-ins), set to the given weights."""
    model = ref_head(ref_rnn(layer_weights, pieces), head, pieces)
    with torch.no_grad():
        errors = [float(((model(t64(x))[0] - t64(y)) ** 2).mean()) for x, y in zip(xs, ys)]
    return float(np.mean(errors))


def learned_weights(ctx: Ctx, out: dict, layers: list[dict], head: dict) -> tuple[list[dict], dict]:
    """The effective weights the worker reports, checked for shape and finiteness (their values are judged by evaluation)."""
    found = out.get("layers")
    what = "the effective weights of your trained RNN"
    if not isinstance(found, list) or len(found) != len(layers):
        ctx.fail("value", what=what, expected=f"{len(layers)} layers", got=type(found).__name__ if not isinstance(found, list) else len(found))
    checked = []
    for number, (got, start) in enumerate(zip(found, layers)):
        checked.append({key: finite_array(ctx, got.get(key) if isinstance(got, dict) else None, np.shape(start[key]), f"{key} of layer {number}") for key in ("Wx", "Wh", "b")})
    got_head = out.get("head") if isinstance(out.get("head"), dict) else {}
    return checked, {key: finite_array(ctx, got_head.get(key), np.shape(head[key]), f"read-out {key}") for key in ("W", "c")}


def finite_array(ctx: Ctx, value, shape: tuple, what: str) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64) if value is not None else np.zeros(0)
    if array.shape != tuple(shape):
        ctx.fail("shape", what=what, expected=tuple(shape), got=tuple(array.shape))
    if not np.all(np.isfinite(array)):
        ctx.fail("value", what=what, expected="finite numbers", got="inf or nan")
    return array


@check("1h.3")
def stacked_rnn_trains(ctx: Ctx) -> None:
    """The student's 2-layer RNN is trained by the grader's loop in the worker, which returns the
    learned weights; this side sets the reference's modules to them and measures the loss on
    sequences drawn from a secret seed. A loss the worker reports counts for nothing."""
    pieces = stand_ins(ctx, layer_default=True)
    xs, ys = running_average_batches(ctx.seed, TRAIN_BATCHES)
    layers = [rnn_weights(ctx.seed + k, 1 if k == 0 else TRAIN_HIDDEN, TRAIN_HIDDEN, scale=TRAIN_INIT_SCALE) for k in range(2)]
    head = head_weights(ctx.seed, TRAIN_HIDDEN, 1, scale=TRAIN_INIT_SCALE)
    out = ctx.call("1h.train", lr=TRAIN_LR, xs=xs, ys=ys, layers=layers, head=head, seed=ctx.seed, stand_ins=list(pieces))
    learned, learned_head = learned_weights(ctx, out, layers, head)
    test_xs, test_ys = running_average_batches(secret_seed("1h.3 held-out"), HELD_OUT_BATCHES)
    reached = held_out_loss(learned, learned_head, test_xs, test_ys, pieces)
    # The same for every submission that needs the same stand-ins: computed once per install.
    target = remembered("1h.3 reference held-out loss", {"seed": ctx.seed, "stand_ins": list(pieces)}, lambda: reference_held_out_loss(xs, ys, layers, head, test_xs, test_ys, pieces))
    start = held_out_loss(layers, head, test_xs, test_ys, pieces)
    high = TRAIN_SLACK * target + 1e-3
    if not reached <= high:
        what = f"held-out loss (new sequences) of your 2-layer RNN after {TRAIN_BATCHES} Adam steps (lr {TRAIN_LR}) from the same weights as the reference"
        ctx.fail("value", what=what, expected=f"at most {high:.4g} (reference: {target:.4g}; before training: {start:.4g})", got=reached)


def reference_held_out_loss(xs, ys, layers: list[dict], head: dict, test_xs, test_ys, pieces: tuple = ()) -> float:
    """The same training, with the reference's modules (or the same stand-ins), then the same evaluation."""
    model = ref_head(ref_rnn(layers, pieces), head, pieces).float()
    optimizer = torch.optim.Adam(model.parameters(), lr=TRAIN_LR)
    for step in range(TRAIN_BATCHES):
        pred, _ = model(torch.as_tensor(xs[step]))
        loss = ((pred - torch.as_tensor(ys[step])) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    trained = [
        layer.effective()
        if isinstance(layer, StandInRNNLayer)
        else {"Wx": layer.W_x.weight.detach().double().numpy(), "Wh": layer.W_h.weight.detach().double().numpy(), "b": layer.W_h.bias.detach().double().numpy()}
        for layer in model.recurrent_net.layers
    ]
    if isinstance(model, StandInRegressionModel):
        trained_head = model.effective()
    else:
        trained_head = {"W": model.output_layer.weight.detach().double().numpy(), "c": model.output_layer.bias.detach().double().numpy()}
    return held_out_loss(trained, trained_head, test_xs, test_ys, pieces)
