"""Worker-side probes for part 1 (q_rnn_and_grad): 1a, 1b, 1c, 1d, 1h."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from autograder.probes.convert import pair, plain
from autograder.probes.harness import (
    NONLINEARITIES,
    Recorder,
    StandInRecurrentNet,
    arg,
    as_array_dict,
    effective_affine,
    effective_rnn_weights,
    named_parameter_module,
    randomize,
    run_layer,
)
from autograder.probes.registry import ProbeError, probe, student

MODULE = "q_rnn_and_grad"


def _layer(input_size: int, hidden_size: int, seed: int, recorder: Recorder | None = None) -> tuple[nn.Module, Recorder]:
    m = student(MODULE)
    recorder = recorder or Recorder()
    layer = m.RNNLayer(input_size, hidden_size, nonlinearity=recorder)
    if not isinstance(layer, nn.Module):
        raise ProbeError("bad_value", f"RNNLayer(...) should be an nn.Module; got {type(layer).__name__}")
    randomize(layer, seed)
    return layer, recorder


def _param_count(module: nn.Module) -> int:
    return int(sum(p.numel() for p in module.parameters()))


@probe("1a.param_count")
def rnn_param_count(input_size: int, hidden_size: int) -> dict:
    layer = student(MODULE).RNNLayer(input_size, hidden_size)
    return {
        "count": _param_count(layer),
        "attributes": [getattr(layer, "input_size", None), getattr(layer, "hidden_size", None)],
        "has_nonlinearity": hasattr(layer, "nonlinearity"),
    }


@probe("1a.constant")
def rnn_constant() -> dict:
    layer = student(MODULE).RNNLayer(1, 1)
    with torch.no_grad():
        for param in layer.parameters():
            param.fill_(0.1)
    all_h, last_h = run_layer(layer, torch.ones(1, 1, 1), "RNNLayer.forward")
    return {"all_h": plain(all_h, "all_h"), "last_h": plain(last_h, "last_h")}


@probe("1a.forward")
def rnn_forward(input_size: int, hidden_size: int, nonlinearity: str, x, seed: int) -> dict:
    layer, recorder = _layer(input_size, hidden_size, seed)
    weights = effective_rnn_weights(layer, recorder, input_size, hidden_size)
    recorder.reset(fn=NONLINEARITIES[nonlinearity])
    all_h, last_h = run_layer(layer, arg(x), "RNNLayer.forward")
    return {**weights, "all_h": plain(all_h, "all_h"), "last_h": plain(last_h, "last_h")}


@probe("1a.h_list")
def rnn_h_list(input_size: int, hidden_size: int, x, seed: int, loss_weights) -> dict:
    layer, recorder = _layer(input_size, hidden_size, seed)
    weights = effective_rnn_weights(layer, recorder, input_size, hidden_size)
    recorder.reset(fn=torch.tanh)
    all_h, _ = run_layer(layer, arg(x), "RNNLayer.forward")
    h_list = getattr(layer, "h_list", None)
    if not isinstance(h_list, (list, tuple)):
        raise ProbeError("bad_value", f"after forward, layer.h_list should be a list of tensors; got {type(h_list).__name__}")
    loss = (all_h * arg(loss_weights)).sum()
    loss.backward()
    grads = []
    for t, h in enumerate(h_list):
        if not isinstance(h, torch.Tensor):
            raise ProbeError("bad_value", f"layer.h_list[{t}] should be a tensor; got {type(h).__name__}")
        if h.grad is None:
            raise ProbeError("bad_value", f"layer.h_list[{t}].grad is None after backward: h_list must hold the very tensors used in the recurrence, with retain_grad() called on them")
        grads.append(plain(h.grad, f"h_list[{t}].grad"))
    return {**weights, "length": len(h_list), "grads": grads}


def _head_model(hidden_size: int, output_dim: int, seed: int, hidden: torch.Tensor | None = None, extra: int = 0):
    m = student(MODULE)
    stand_in = StandInRecurrentNet(input_size=hidden_size, hidden_size=hidden_size, hidden=hidden, extra_parameters=extra)
    model = m.RecurrentRegressionModel(stand_in, output_dim=output_dim)
    randomize(model, seed, skip=(stand_in,))
    return model, stand_in


def _run_model(model: nn.Module, x: torch.Tensor, what: str = "RecurrentRegressionModel.forward") -> tuple[torch.Tensor, torch.Tensor]:
    out = model(x)
    first, second = pair(out, what)
    if not isinstance(first, torch.Tensor) or not isinstance(second, torch.Tensor):
        raise ProbeError("bad_value", f"{what} should return (out, all_h) tensors")
    return first, second


@probe("1b.param_count")
def head_param_count(input_size: int, hidden_size: int, output_dim: int, recurrent_parameters: int) -> dict:
    stand_in = StandInRecurrentNet(input_size, hidden_size, extra_parameters=recurrent_parameters)
    model = student(MODULE).RecurrentRegressionModel(stand_in, output_dim=output_dim)
    return {"count": _param_count(model)}


@probe("1b.forward")
def head_forward(hidden, output_dim: int, seed: int) -> dict:
    hidden_t = arg(hidden)
    size = hidden_t.shape[-1]
    model, stand_in = _head_model(size, output_dim, seed)
    affine = effective_affine(lambda h: _run_model(model, h)[0], size)
    stand_in.hidden = hidden_t
    out, all_h = _run_model(model, torch.zeros(hidden_t.shape[0], hidden_t.shape[1], 1))
    return {**affine, "out": plain(out, "out"), "all_h": plain(all_h, "all_h")}


@probe("1b.wraps")
def head_wraps(kind: str, input_size: int, hidden_size: int, output_dim: int, x, seed: int) -> dict:
    m = student(MODULE)
    net = m.RNNLayer(input_size, hidden_size) if kind == "layer" else m.RNN(input_size, hidden_size, 2)
    model = m.RecurrentRegressionModel(net, output_dim=output_dim)
    randomize(model, seed)
    out, all_h = _run_model(model, arg(x))
    own_all_h, _ = pair(net(arg(x)), f"{type(net).__name__}.forward")
    head = [mod for name, mod in model.named_modules() if isinstance(mod, nn.Linear) and not name.startswith("recurrent_net")]
    affine = effective_affine(lambda h: _run_model(_replace_net(model, h), torch.zeros(h.shape[0], h.shape[1], 1))[0], hidden_size)
    return {"out": plain(out, "out"), "all_h": plain(all_h, "all_h"), "net_all_h": plain(own_all_h, "recurrent net all_h"), "linear_count": len(head), **affine}


def _replace_net(model: nn.Module, hidden: torch.Tensor) -> nn.Module:
    """The same model reading out given hidden states (swaps its recurrent net for a stand-in)."""
    for name, child in model.named_children():
        if isinstance(child, nn.Module) and hasattr(child, "hidden_size") and not isinstance(child, nn.Linear):
            setattr(model, name, StandInRecurrentNet(hidden.shape[-1], hidden.shape[-1], hidden=hidden))
            return model
    raise ProbeError("bad_value", "RecurrentRegressionModel should keep the recurrent net it wraps as a submodule")


@probe("1c.loss")
def loss(pred, y, last_timestep_only: bool) -> dict:
    value = student(MODULE).loss_fn(arg(pred), arg(y), last_timestep_only=last_timestep_only)
    array = plain(value, "loss_fn(...)")
    return {"loss": array}


def _regression_model(input_size: int, hidden_size: int, seed: int, nonlinearity: str = "tanh"):
    layer, recorder = _layer(input_size, hidden_size, seed)
    m = student(MODULE)
    model = m.RecurrentRegressionModel(layer, output_dim=1)
    randomize(model, seed + 1, skip=(layer,))
    weights = effective_rnn_weights(layer, recorder, input_size, hidden_size)
    recorder.reset(fn=NONLINEARITIES[nonlinearity])
    head = effective_affine(lambda h: _run_model(_HeadOnly(model, layer), h)[0], hidden_size)
    return model, layer, recorder, weights, head


class _HeadOnly(nn.Module):
    """Runs a model's read-out on given hidden states by temporarily swapping its recurrent net."""

    def __init__(self, model: nn.Module, layer: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.layer = layer

    def forward(self, hidden: torch.Tensor):
        names = [n for n, c in self.model.named_children() if c is self.layer]
        if not names:
            raise ProbeError("bad_value", "RecurrentRegressionModel should keep the recurrent net it wraps as a submodule")
        setattr(self.model, names[0], StandInRecurrentNet(hidden.shape[-1], hidden.shape[-1], hidden=hidden))
        try:
            return self.model(torch.zeros(hidden.shape[0], hidden.shape[1], 1))
        finally:
            setattr(self.model, names[0], self.layer)


@probe("1d.norms")
def grad_norms(input_size: int, hidden_size: int, x, y, last_timestep_only: bool, seed: int) -> dict:
    model, layer, recorder, weights, head = _regression_model(input_size, hidden_size, seed)
    norms = student(MODULE).hidden_grad_norms(model, arg(x), arg(y), last_timestep_only)
    return {**weights, "headW": head["W"], "headc": head["c"], "norms": plain(norms, "hidden_grad_norms(...)")}


@probe("1d.scale")
def scale(weight_scale: float, bias_scale: float, seed: int) -> dict:
    module = named_parameter_module()
    randomize(module, seed)
    before = as_array_dict(module)
    result = student(MODULE).scale_parameters(module, weight_scale, bias_scale)
    return {"before": before, "after": as_array_dict(module), "returned_none": result is None}


@probe("1d.recurrent_weight")
def recurrent_weight(input_size: int, hidden_size: int, seed: int) -> dict:
    layer, recorder = _layer(input_size, hidden_size, seed)
    weights = effective_rnn_weights(layer, recorder, input_size, hidden_size)
    value = student(MODULE).recurrent_weight(layer)
    return {"Wh": weights["Wh"], "returned": plain(value, "recurrent_weight(layer)")}


@probe("1d.linear_property")
def linear_property(hidden_size: int, seq_len: int, rho: float, q, seed: int) -> dict:
    model, layer, recorder, weights, head = _regression_model(1, hidden_size, seed, nonlinearity="identity")
    target = arg(q) * rho
    _set_recurrent(layer, recorder, target)
    weights = effective_rnn_weights(layer, recorder, 1, hidden_size)
    recorder.reset(fn=NONLINEARITIES["identity"])
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(4, seq_len, 1, generator=generator)
    y = torch.randn(4, seq_len, 1, generator=generator)
    norms = student(MODULE).hidden_grad_norms(model, x, y, True)
    return {"Wh": weights["Wh"], "norms": plain(norms, "hidden_grad_norms(...)")}


def _set_recurrent(layer: nn.Module, recorder: Recorder, target: torch.Tensor) -> None:
    """Write W^h into the layer through recurrent_weight(), or find it among the parameters."""
    hidden = target.shape[0]
    w = student(MODULE).recurrent_weight(layer)
    if isinstance(w, torch.Tensor) and tuple(w.shape) == (hidden, hidden):
        with torch.no_grad():
            w.copy_(target)
    current = torch.as_tensor(effective_rnn_weights(layer, recorder, 1, hidden)["Wh"]).float()
    if torch.allclose(current, target, atol=1e-6):
        return
    # recurrent_weight() returned a copy: locate W^h (or its transpose) inside a parameter by value.
    for param in layer.parameters():
        if param.dim() != 2:
            continue
        for matrix, candidate in ((current, target), (current.T, target.T)):
            rows, cols = matrix.shape
            for r in range(param.shape[0] - rows + 1):
                for c in range(param.shape[1] - cols + 1):
                    if torch.allclose(param.data[r : r + rows, c : c + cols], matrix, atol=1e-7):
                        with torch.no_grad():
                            param[r : r + rows, c : c + cols] = candidate
                        return
    raise ProbeError("bad_value", "could not set W^h in your RNNLayer: recurrent_weight(layer) did not return the matrix that forward uses")


class _StackStandIn(nn.Module):
    """Stands in for RNNLayer inside RNN: a known simple map, all_h = cumsum(x A) + c over time."""

    built: list[tuple[int, int]] = []

    def __init__(self, input_size: int, hidden_size: int, *args, **kwargs) -> None:
        super().__init__()
        index = len(_StackStandIn.built)
        _StackStandIn.built.append((int(input_size), int(hidden_size)))
        generator = torch.Generator().manual_seed(1000 + index)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.A = nn.Parameter(torch.randn(input_size, hidden_size, generator=generator) * 0.5)
        self.c = nn.Parameter(torch.randn(hidden_size, generator=generator) * 0.5)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        all_h = torch.cumsum(x @ self.A, dim=1) + self.c
        self.h_list = list(all_h.unbind(dim=1))  # like RNNLayer, for an RNN that reads h_list
        return all_h, all_h[:, -1]


@probe("1h.structure")
def stack_structure(input_size: int, hidden_size: int, num_layers: int, x) -> dict:
    m = student(MODULE)
    _StackStandIn.built = []
    original = m.RNNLayer
    m.RNNLayer = _StackStandIn
    try:
        rnn = m.RNN(input_size, hidden_size, num_layers)
        built = list(_StackStandIn.built)
        maps = [(layer.A.detach().double().numpy().copy(), layer.c.detach().double().numpy().copy()) for layer in rnn.modules() if isinstance(layer, _StackStandIn)]
        out, last = pair(rnn(arg(x)), "RNN.forward")
    finally:
        m.RNNLayer = original
    return {"built": [list(b) for b in built], "A": [a for a, _ in maps], "c": [c for _, c in maps], "out": plain(out, "RNN output"), "last": plain(last, "RNN last_step_h")}


def _rnn_layers(rnn: nn.Module) -> list[nn.Module]:
    cls = student(MODULE).RNNLayer
    return [mod for mod in rnn.modules() if isinstance(mod, cls)]


@probe("1h.forward")
def stack_forward(input_size: int, hidden_size: int, num_layers: int, x, seed: int) -> dict:
    m = student(MODULE)
    rnn = m.RNN(input_size, hidden_size, num_layers)
    randomize(rnn, seed)
    layers = _rnn_layers(rnn)
    weights = [_layer_weights(layer) for layer in layers]
    out, last = pair(rnn(arg(x)), "RNN.forward")
    return {"layers": weights, "out": plain(out, "RNN output"), "last": plain(last, "RNN last_step_h")}


def _layer_weights(layer: nn.Module) -> dict:
    """Effective weights of one of the student's layers, probing through a temporary recorder."""
    original = layer.nonlinearity
    recorder = Recorder()
    layer.nonlinearity = recorder
    try:
        return effective_rnn_weights(layer, recorder, layer.input_size, layer.hidden_size)
    finally:
        layer.nonlinearity = original


@probe("1h.train")
def stack_train(hidden_size: int, lr: float, xs, ys, seed: int) -> dict:
    m = student(MODULE)
    torch.manual_seed(seed)
    rnn = m.RNN(1, hidden_size, 2)
    model = m.RecurrentRegressionModel(rnn, output_dim=1)
    randomize(model, seed, scale=0.3)
    layers = _rnn_layers(rnn)
    init = [_layer_weights(layer) for layer in layers]
    head = effective_affine(lambda h: _run_model(_HeadOnly(model, rnn), h)[0], hidden_size)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    xs_t, ys_t = arg(xs), arg(ys)
    losses = []
    for step in range(xs_t.shape[0]):
        out, _ = _run_model(model, xs_t[step])
        loss = ((out - ys_t[step]) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return {"layers": init, "headW": head["W"], "headc": head["c"], "losses": np.asarray(losses)}
