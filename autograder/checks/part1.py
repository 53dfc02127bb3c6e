"""Part 1 (q_rnn_and_grad): 1a RNNLayer, 1b regression head, 1c loss, 1d gradients through time, 1h stacked RNN.

Modules are compared on random weights, independently of the student's parameter
layout: the worker recovers the effective W^x, W^h and b of the student's layer,
and the reference, loaded with those weights, must reproduce the student's outputs.
"""
from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st

from autograder.checks import check
from autograder.checks.context import Ctx
from autograder.checks.reference import NONLINEARITIES, module, t64

TANH_POINT_TWO = 0.19737532022490401


def ref():
    return module("q_rnn_and_grad")


def ref_layer(weights: dict, nonlinearity: str = "tanh") -> torch.nn.Module:
    wx, wh, b = (np.asarray(weights[k], dtype=np.float64) for k in ("Wx", "Wh", "b"))
    layer = ref().RNNLayer(wx.shape[1], wh.shape[0], nonlinearity=NONLINEARITIES[nonlinearity]).double()
    with torch.no_grad():
        layer.W_x.weight.copy_(t64(wx))
        layer.W_h.weight.copy_(t64(wh))
        layer.W_h.bias.copy_(t64(b))
    return layer


def ref_model(weights: dict, head_w, head_c, nonlinearity: str = "tanh") -> torch.nn.Module:
    model = ref().RecurrentRegressionModel(ref_layer(weights, nonlinearity), output_dim=int(np.shape(head_w)[0])).double()
    with torch.no_grad():
        model.output_layer.weight.copy_(t64(head_w))
        model.output_layer.bias.copy_(t64(head_c))
    return model


def ref_rnn(layer_weights: list[dict]) -> torch.nn.Module:
    first = layer_weights[0]
    rnn = ref().RNN(np.shape(first["Wx"])[1], np.shape(first["Wh"])[0], len(layer_weights)).double()
    for target, weights in zip(rnn.layers, layer_weights):
        with torch.no_grad():
            target.W_x.weight.copy_(t64(weights["Wx"]))
            target.W_h.weight.copy_(t64(weights["Wh"]))
            target.W_h.bias.copy_(t64(weights["b"]))
    return rnn


def randn(seed: int, *shape: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def check_layer_shape(ctx: Ctx, weights: dict, input_size: int, hidden_size: int) -> None:
    for key, shape in (("Wx", (hidden_size, input_size)), ("Wh", (hidden_size, hidden_size)), ("b", (hidden_size,))):
        if np.shape(weights[key]) != shape:
            ctx.fail("shape", what=f"pre-activation of RNNLayer({input_size}, {hidden_size}) ({key} part)", expected=shape, got=tuple(np.shape(weights[key])))


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
        out = ctx.call("1a.forward", input_size=ex["input_size"], hidden_size=ex["hidden_size"], nonlinearity=ex["nonlinearity"], x=x, seed=ex["seed"])
        check_layer_shape(ctx, out, ex["input_size"], ex["hidden_size"])
        all_h, last_h = ref_layer(out, ex["nonlinearity"])(t64(x))
        ctx.close(out["all_h"], all_h.detach().numpy(), "all_h")
        ctx.close(out["last_h"], last_h.detach().numpy(), "last_h")

    ctx.for_all(forward_examples(), test)


@check("1a.4")
def rnn_layer_h_list(ctx: Ctx) -> None:
    def test(ex):
        x = randn(ex["seed"], ex["batch"], ex["steps"], ex["input_size"])
        w = randn(ex["seed"] + 1, ex["batch"], ex["steps"], ex["hidden_size"])
        out = ctx.call("1a.h_list", input_size=ex["input_size"], hidden_size=ex["hidden_size"], x=x, seed=ex["seed"], loss_weights=w)
        ctx.equal(out["length"], ex["steps"], f"len(layer.h_list) after a forward pass over {ex['steps']} steps")
        layer = ref_layer(out, "tanh")
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
        out = ctx.call("1b.forward", hidden=hidden, output_dim=ex["output_dim"], seed=ex["seed"])
        if np.shape(out["W"]) != (ex["output_dim"], ex["hidden_size"]):
            ctx.fail("shape", what="read-out weight seen through forward (output_dim, hidden_size)", expected=(ex["output_dim"], ex["hidden_size"]), got=tuple(np.shape(out["W"])))
        expected = hidden.astype(np.float64) @ np.asarray(out["W"]).T + np.asarray(out["c"])
        ctx.close(out["out"], expected, "out (the read-out applied to every step's hidden state)")
        ctx.close(out["all_h"], hidden, "all_h (the recurrent net's first output, returned unchanged)")

    ctx.for_all(
        st.fixed_dictionaries({"hidden_size": sizes, "output_dim": sizes, "batch": st.integers(1, 3), "steps": st.integers(1, 5), "seed": seeds}),
        test,
    )


@check("1b.3")
def regression_wraps_layer_and_rnn(ctx: Ctx) -> None:
    for kind in ("layer", "rnn"):
        x = randn(7, 2, 4, 3)
        out = ctx.call("1b.wraps", kind=kind, input_size=3, hidden_size=4, output_dim=2, x=x, seed=11)
        what = "RNNLayer" if kind == "layer" else "RNN(3, 4, 2)"
        ctx.close(out["all_h"], out["net_all_h"], f"all_h returned when wrapping {what}")
        expected = np.asarray(out["net_all_h"], dtype=np.float64) @ np.asarray(out["W"]).T + np.asarray(out["c"])
        ctx.close(out["out"], expected, f"out when wrapping {what}")


# ----------------------------------------------------------------------------- 1c

LOSS_FACT_PRED = [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]
LOSS_FACT_Y = [[-1.1, -1.2, -1.3], [-1.4, -1.5, -1.6]]


def loss_examples():
    return st.fixed_dictionaries({"batch": st.integers(1, 4), "steps": st.integers(1, 6), "trailing": st.booleans(), "seed": seeds})


def ref_loss(pred, y, last: bool) -> float:
    return float(ref().loss_fn(t64(pred), t64(y), last_timestep_only=last))


def loss_check(ctx: Ctx, last: bool) -> None:
    got = ctx.call("1c.loss", pred=LOSS_FACT_PRED, y=LOSS_FACT_Y, last_timestep_only=last)
    ctx.close(got["loss"], 3.7 if last else 3.0066666666666664, f"loss_fn(pred, y, last_timestep_only={last}) on the homework's example", rtol=1e-4)

    def test(ex):
        shape = (ex["batch"], ex["steps"]) + ((1,) if ex["trailing"] else ())
        pred, y = randn(ex["seed"], *shape), randn(ex["seed"] + 1, *shape)
        got = ctx.call("1c.loss", pred=pred, y=y, last_timestep_only=last)
        ctx.close(got["loss"], ref_loss(pred, y, last), f"loss_fn on inputs of shape {shape}, last_timestep_only={last}")

    ctx.for_all(loss_examples(), test)


@check("1c.1")
def loss_all_steps(ctx: Ctx) -> None:
    loss_check(ctx, last=False)


@check("1c.2")
def loss_last_step(ctx: Ctx) -> None:
    loss_check(ctx, last=True)


@check("1c.3")
def loss_properties(ctx: Ctx) -> None:
    def test(ex):
        shape = (ex["batch"], ex["steps"]) + ((1,) if ex["trailing"] else ())
        pred, y = randn(ex["seed"], *shape), randn(ex["seed"] + 1, *shape)
        for last in (False, True):
            same = ctx.call("1c.loss", pred=y, y=y, last_timestep_only=last)
            ctx.close(same["loss"], 0.0, f"loss_fn(y, y, last_timestep_only={last}) (a perfect prediction)")
        base = ctx.call("1c.loss", pred=pred, y=y, last_timestep_only=True)
        changed = pred.copy()
        changed[:, :-1] += 3.0
        moved = ctx.call("1c.loss", pred=changed, y=y, last_timestep_only=True)
        ctx.close(moved["loss"], float(np.asarray(base["loss"])), "last-step loss after changing predictions before the last step (must not change)")

    ctx.for_all(loss_examples(), test)


# ----------------------------------------------------------------------------- 1d


def norms_check(ctx: Ctx, last: bool) -> None:
    def test(ex):
        x = randn(ex["seed"], ex["batch"], ex["steps"], ex["input_size"])
        y = randn(ex["seed"] + 1, ex["batch"], ex["steps"], 1)
        out = ctx.call("1d.norms", input_size=ex["input_size"], hidden_size=ex["hidden_size"], x=x, y=y, last_timestep_only=last, seed=ex["seed"])
        model = ref_model(out, out["headW"], out["headc"])
        expected = ref().hidden_grad_norms(model, t64(x), t64(y), last)
        ctx.close(out["norms"], np.asarray(expected, dtype=np.float64), f"hidden_grad_norms(..., last_timestep_only={last}) (||dL/dh_t|| for t = 1..T)")

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


@check("1d.3")
def scale_parameters_by_name(ctx: Ctx) -> None:
    def test(ex):
        out = ctx.call("1d.scale", **ex)
        for name, before in out["before"].items():
            factor = ex["weight_scale"] if "weight" in name else ex["bias_scale"] if "bias" in name else 1.0
            ctx.close(out["after"][name], np.asarray(before) * factor, f"parameter {name!r} after scale_parameters(model, {ex['weight_scale']}, {ex['bias_scale']})")

    scales = st.sampled_from([0.0, 0.5, 2.0, -1.0, 3.0])
    ctx.for_all(st.fixed_dictionaries({"weight_scale": scales, "bias_scale": scales, "seed": seeds}), test)


@check("1d.4")
def recurrent_weight_matrix(ctx: Ctx) -> None:
    def test(ex):
        out = ctx.call("1d.recurrent_weight", **ex)
        ctx.close(out["returned"], out["Wh"], "recurrent_weight(layer): the W^h that forward uses (pre-activation = W^h h_{t-1} + ...)")

    ctx.for_all(st.fixed_dictionaries({"input_size": sizes, "hidden_size": st.integers(2, 5), "seed": seeds}), test)


@check("1d.5")
def linear_rnn_gradient_scaling(ctx: Ctx) -> None:
    def test(ex):
        q, _ = np.linalg.qr(np.random.default_rng(ex["seed"]).standard_normal((ex["hidden_size"], ex["hidden_size"])))
        out = ctx.call("1d.linear_property", hidden_size=ex["hidden_size"], seq_len=ex["steps"], rho=ex["rho"], q=q.astype(np.float32), seed=ex["seed"])
        norms = np.asarray(out["norms"], dtype=np.float64)
        steps = ex["steps"]
        if norms.shape != (steps,):
            ctx.fail("shape", what="hidden_grad_norms(...)", expected=(steps,), got=tuple(norms.shape))
        expected = norms[-1] * ex["rho"] ** np.arange(steps - 1, -1, -1)
        ctx.close(norms, expected, f"gradient norms of a linear RNN with W^h = {ex['rho']}*Q (Q orthogonal), last-step loss: ||dL/dh_t|| = rho^(T-t) ||dL/dh_T||", rtol=1e-3, atol=1e-7)

    ctx.for_all(st.fixed_dictionaries({"hidden_size": st.integers(2, 4), "steps": st.integers(2, 6), "rho": st.sampled_from([0.5, 0.9, 1.5]), "seed": seeds}), test)


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
        for a, c in zip(out["A"], out["c"]):
            hidden = np.cumsum(hidden @ np.asarray(a), axis=1) + np.asarray(c)
            last.append(hidden[:, -1])
        ctx.close(out["out"], hidden, "RNN output (the last layer's hidden states, with each layer fed the previous layer's)")
        ctx.close(out["last"], np.stack(last), "RNN last_step_h (num_layers, B, H), in layer order")

    ctx.for_all(st.fixed_dictionaries({"input_size": sizes, "hidden_size": sizes, "num_layers": st.integers(1, 3), "seed": seeds}), test)


@check("1h.2")
def stacked_rnn_forward(ctx: Ctx) -> None:
    def test(ex):
        x = randn(ex["seed"], ex["batch"], ex["steps"], ex["input_size"])
        out = ctx.call("1h.forward", x=x, **{k: ex[k] for k in ("input_size", "hidden_size", "num_layers", "seed")})
        ctx.equal(len(out["layers"]), ex["num_layers"], "number of RNNLayer modules inside RNN")
        rnn = ref_rnn(out["layers"])
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
TRAIN_SLACK = 1.25  # final loss may exceed the reference's, from the same start, by this factor (+ 1e-3)


@check("1h.3")
def stacked_rnn_trains(ctx: Ctx) -> None:
    rng = np.random.default_rng(ctx.seed)
    xs = rng.standard_normal((TRAIN_BATCHES, 32, 10, 1)).astype(np.float32)
    ys = (np.cumsum(xs, axis=2) / np.arange(1, 11).reshape(1, 1, 10, 1)).astype(np.float32)
    out = ctx.call("1h.train", hidden_size=TRAIN_HIDDEN, lr=TRAIN_LR, xs=xs, ys=ys, seed=ctx.seed)
    ctx.equal(len(out["layers"]), 2, "number of RNNLayer modules inside RNN(1, H, 2)")
    model = ref_model(out["layers"][0], out["headW"], out["headc"])
    rnn = ref_rnn(out["layers"])
    model.recurrent_net = rnn.float()
    model = model.float()
    optimizer = torch.optim.Adam(model.parameters(), lr=TRAIN_LR)
    losses = []
    for step in range(TRAIN_BATCHES):
        pred, _ = model(torch.as_tensor(xs[step]))
        loss = ((pred - torch.as_tensor(ys[step])) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    got = np.asarray(out["losses"], dtype=np.float64)
    if got.shape != (TRAIN_BATCHES,) or not np.all(np.isfinite(got)):
        ctx.fail("value", what="training losses of your 2-layer RNN", expected=f"{TRAIN_BATCHES} finite values", got=f"shape {got.shape}")
    window = 20
    reached, target = float(got[-window:].mean()), float(np.mean(losses[-window:]))
    if not reached <= TRAIN_SLACK * target + 1e-3:
        ctx.fail("value", what=f"mean loss of the last {window} of {TRAIN_BATCHES} Adam steps (lr {TRAIN_LR}) of your 2-layer RNN, started from the same weights as the reference", expected=f"<= {TRAIN_SLACK * target + 1e-3:.4g} (reference: {target:.4g})", got=reached)
