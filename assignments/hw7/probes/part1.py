"""Worker-side probes for part 1 (q_rnn_and_grad): 1a, 1b, 1c, 1d, 1h.

The trusted side chooses every weight: a probe sets the student's modules to the
weights it was sent (whatever their parameter layout, see harness.impose) and
reports only what the student's code computed with them. Nothing a probe reports
is used to compute an expected value.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .convert import pair, plain
from .harness import (
    NONLINEARITIES,
    Recorder,
    affine_tensors,
    StandInRecurrentNet,
    StandInRegressionModel,
    StandInRNNLayer,
    StandInStackedNet,
    arg,
    as_array_dict,
    named_parameter_module,
    rnn_weight_tensors,
    run_layer,
    set_affine,
    set_rnn_weights,
    stand_in_loss,
    trainable,
)
from autograder.probes.registry import ProbeError, probe, student

MODULE = "q_rnn_and_grad"


def layer_size(weights: dict) -> tuple[int, int]:
    """(input_size, hidden_size) of a trusted weights dict {Wx: (H, in), Wh: (H, H), b: (H,)}."""
    hidden_size, input_size = np.shape(weights["Wx"])
    return int(input_size), int(hidden_size)


def _layer_with(weights: dict, observe_kept: bool = False) -> tuple[nn.Module, Recorder]:
    """The student's RNNLayer, observed through a recording nonlinearity, set to the trusted weights.

    With ``observe_kept``, a layer that ignores the nonlinearity it is given is observed through
    the one it keeps (for checks that grade something other than its forward, which 1a grades).
    """
    input_size, hidden_size = layer_size(weights)
    recorder = Recorder()
    torch.manual_seed(0)  # the blocks not pinned (and a read-out built next) start from the same values on every run
    layer = student(MODULE).RNNLayer(input_size, hidden_size, nonlinearity=recorder)
    if not isinstance(layer, nn.Module):
        raise ProbeError("bad_value", f"RNNLayer(...) should be an nn.Module; got {type(layer).__name__}")
    if observe_kept:
        _observe_kept(layer, recorder)
    set_rnn_weights(layer, recorder, weights)
    return layer, recorder


def _observe_kept(layer: nn.Module, recorder: Recorder) -> None:
    """If the layer dropped the recorder it was given (a hard-coded torch.tanh, say), observe the
    nonlinearity it keeps as .nonlinearity instead, so that only the checks of its forward fail."""
    if any(value is recorder for value in list(vars(layer).values()) + list(layer._modules.values())):
        return
    kept = getattr(layer, "nonlinearity", None)
    if callable(kept):
        recorder.reset(fn=kept)
        layer.nonlinearity = recorder


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
def rnn_forward(nonlinearity: str, x, weights: dict) -> dict:
    layer, recorder = _layer_with(weights)
    recorder.reset(fn=NONLINEARITIES[nonlinearity])
    all_h, last_h = run_layer(layer, arg(x), "RNNLayer.forward")
    return {"all_h": plain(all_h, "all_h"), "last_h": plain(last_h, "last_h")}


@probe("1a.h_list")
def rnn_h_list(x, weights: dict, loss_weights) -> dict:
    layer, recorder = _layer_with(weights)
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
    return {"length": len(h_list), "grads": grads}


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


def _head_on(stand_in: StandInRecurrentNet, output_dim: int, head: dict, what: str) -> nn.Module:
    """The student's RecurrentRegressionModel around a stand-in net, its read-out set to the trusted W, c."""
    model = student(MODULE).RecurrentRegressionModel(stand_in, output_dim=output_dim)

    def read_out(hidden: torch.Tensor) -> torch.Tensor:
        stand_in.hidden = hidden
        return _run_model(model, torch.zeros(hidden.shape[0], hidden.shape[1], stand_in.input_size))[0]

    set_affine(trainable(model, skip=(stand_in,)), read_out, stand_in.hidden_size, head, what)
    return model


@probe("1b.forward")
def head_forward(hidden, output_dim: int, head: dict) -> dict:
    hidden_t = arg(hidden)
    size = hidden_t.shape[-1]
    stand_in = StandInRecurrentNet(input_size=size, hidden_size=size)
    model = _head_on(stand_in, output_dim, head, "the read-out of your RecurrentRegressionModel")
    stand_in.hidden = hidden_t
    out, all_h = _run_model(model, torch.zeros(hidden_t.shape[0], hidden_t.shape[1], size))
    return {"out": plain(out, "out"), "all_h": plain(all_h, "all_h")}


@probe("1b.wraps")
def head_wraps(kind: str, input_size: int, num_layers: int, hidden, output_dim: int, head: dict) -> dict:
    hidden_t = arg(hidden)
    size = hidden_t.shape[-1]
    stand_in = StandInRecurrentNet(input_size, size) if kind == "layer" else StandInStackedNet(input_size, size, num_layers)
    what = "an RNNLayer" if kind == "layer" else f"an RNN with {num_layers} layers"
    model = _head_on(stand_in, output_dim, head, f"the read-out of your RecurrentRegressionModel around {what}")
    stand_in.hidden = hidden_t
    out, all_h = _run_model(model, torch.zeros(hidden_t.shape[0], hidden_t.shape[1], input_size))
    return {"out": plain(out, "out"), "all_h": plain(all_h, "all_h")}


@probe("1c.loss")
def loss(pred, y, last_timestep_only: bool, call: str = "keyword") -> dict:
    """The loss, what type it is, and its gradient with respect to pred (None when backward cannot reach pred).

    ``call``: "keyword" (the handout's test cell), "positional" (its training loop and
    update_plots), or "default" (no flag: the signature's default, False).
    """
    predictions = arg(pred).requires_grad_(True)
    fn = student(MODULE).loss_fn
    if call == "default":
        value = fn(predictions, arg(y))
    elif call == "positional":
        value = fn(predictions, arg(y), last_timestep_only)
    else:
        value = fn(predictions, arg(y), last_timestep_only=last_timestep_only)
    gradient = None
    if isinstance(value, torch.Tensor) and value.numel() == 1 and value.requires_grad:
        (found,) = torch.autograd.grad(value.sum(), predictions, allow_unused=True)
        gradient = plain(found, "the gradient of loss_fn(...) with respect to pred") if found is not None else None
    return {"loss": plain(value, "loss_fn(...)"), "type": type(value).__name__, "is_tensor": isinstance(value, torch.Tensor), "grad": gradient}


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


def _regression_model(weights: dict, head: dict | None, nonlinearity: str = "tanh", stand_ins: tuple = ()) -> nn.Module:
    """The student's layer inside the student's RecurrentRegressionModel, set to the trusted weights (and read-out, if given).

    A piece named in ``stand_ins`` ("RNNLayer", "RecurrentRegressionModel") is the grader's
    stand-in instead: its own check failed, and this check grades something else.
    """
    if "RNNLayer" in stand_ins:
        layer, recorder = StandInRNNLayer(*layer_size(weights), nonlinearity=NONLINEARITIES[nonlinearity]).load(weights), None
    else:
        layer, recorder = _layer_with(weights)
    if "RecurrentRegressionModel" in stand_ins:
        model = StandInRegressionModel(layer, head)
    else:
        model = student(MODULE).RecurrentRegressionModel(layer, output_dim=int(np.shape(head["W"])[0]) if head is not None else 1)
        if head is not None:
            read_out = _HeadOnly(model, layer)
            set_affine(trainable(model, skip=(layer,)), lambda h: _run_model(read_out, h)[0], layer_size(weights)[1], head, "the read-out of your RecurrentRegressionModel")
    if recorder is not None:
        recorder.reset(fn=NONLINEARITIES[nonlinearity])
    return model


def _norms(model: nn.Module, x, y, last_timestep_only: bool, stand_ins: tuple) -> dict:
    """hidden_grad_norms on the model, with the grader's stand-in loss_fn if ``stand_ins`` names it."""
    m = student(MODULE)
    original = getattr(m, "loss_fn", None)
    if "loss_fn" in stand_ins:
        m.loss_fn = stand_in_loss
    try:
        norms = m.hidden_grad_norms(model, arg(x), arg(y), last_timestep_only)
    finally:
        if "loss_fn" in stand_ins:
            m.loss_fn = original
    return {"norms": plain(norms, "hidden_grad_norms(...)")}


@probe("1d.norms")
def grad_norms(x, y, last_timestep_only: bool, weights: dict, head: dict, stand_ins: list | None = None) -> dict:
    stand_ins = tuple(stand_ins or ())
    return _norms(_regression_model(weights, head, stand_ins=stand_ins), x, y, last_timestep_only, stand_ins)


@probe("1d.scale")
def scale(weight_scale: float, bias_scale: float, before: dict) -> dict:
    module = named_parameter_module()
    if {name: tuple(p.shape) for name, p in module.named_parameters()} != {name: tuple(np.shape(v)) for name, v in before.items()}:
        raise ProbeError("grader", "1d.3: the check and its probe disagree on the test module's parameters")
    with torch.no_grad():
        for name, param in module.named_parameters():
            param.copy_(arg(before[name]))
    result = student(MODULE).scale_parameters(module, weight_scale, bias_scale)
    return {"after": as_array_dict(module), "returned_none": result is None}


@probe("1d.scale_layer")
def scale_layer(weight_scale: float, bias_scale: float, weights: dict) -> dict:
    """scale_parameters on the student's own RNNLayer: the effective W^x, W^h, b afterwards."""
    layer, recorder = _layer_with(weights, observe_kept=True)
    student(MODULE).scale_parameters(layer, weight_scale, bias_scale)
    input_size, hidden_size = layer_size(weights)
    # Not under torch.no_grad(): the handout's store_h_for_grad calls retain_grad() unconditionally.
    wx, wh, b = (t.detach() for t in rnn_weight_tensors(layer, recorder, input_size, hidden_size))
    return {"Wx": plain(wx, "W^x"), "Wh": plain(wh, "W^h"), "b": plain(b, "b")}


@probe("1d.update_plots")
def update_plots(weights: dict, last_timestep_only: bool, x, y, weight_val: float, bias_val: float, stand_ins: list | None = None) -> dict:
    """The notebook's 1d TODOs, inside the provided GradientVisualizer.update_plots: the effective
    W^x, W^h, b of the student's layer after update_plots(weight_val, bias_val), and the W it
    passed to biggest_eig_magnitude (recorded on the way, the real function still runs)."""
    import contextlib
    import io

    import matplotlib.pyplot as plt

    m = student(MODULE)
    layer, recorder = _layer_with(weights, observe_kept=True)
    seen: list[torch.Tensor] = []
    original = getattr(m, "biggest_eig_magnitude", None)

    def recording(matrix, *args, **kwargs):
        seen.append(torch.as_tensor(matrix).detach().clone())
        return original(matrix, *args, **kwargs) if callable(original) else 0.0

    m.biggest_eig_magnitude = recording
    loss = getattr(m, "loss_fn", None)
    if "loss_fn" in (stand_ins or ()):
        m.loss_fn = stand_in_loss  # update_plots runs the loss; 1c grades it
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            visualizer = m.GradientVisualizer(layer, last_timestep_only)
            visualizer.x, visualizer.y = arg(x), arg(y)
            visualizer.plot_visuals()
            visualizer.update_plots(weight_val, bias_val)
    finally:
        m.biggest_eig_magnitude = original
        if "loss_fn" in (stand_ins or ()):
            m.loss_fn = loss
        plt.close("all")
    input_size, hidden_size = layer_size(weights)
    wx, wh, b = (t.detach() for t in rnn_weight_tensors(layer, recorder, input_size, hidden_size))
    return {"Wx": plain(wx, "W^x"), "Wh": plain(wh, "W^h"), "b": plain(b, "b"), "W": plain(seen[0], "W") if seen else None}


@probe("1d.recurrent_weight")
def recurrent_weight(weights: dict) -> dict:
    layer, _ = _layer_with(weights, observe_kept=True)
    value = student(MODULE).recurrent_weight(layer)
    shares = isinstance(value, torch.Tensor) and any(
        value.untyped_storage().data_ptr() == p.untyped_storage().data_ptr() for p in layer.parameters()
    )
    return {"returned": plain(value, "recurrent_weight(layer)"), "shares_parameter": shares}


@probe("1d.linear_property")
def linear_property(x, y, weights: dict, head: dict, stand_ins: list | None = None) -> dict:
    stand_ins = tuple(stand_ins or ())
    return _norms(_regression_model(weights, head, nonlinearity="identity", stand_ins=stand_ins), x, y, True, stand_ins)


def stack_stand_in_map(index: int, input_size: int, hidden_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The fixed map (A, c) of the index-th stand-in layer an RNN creates; the trusted side recomputes it."""
    generator = torch.Generator().manual_seed(1000 + index)
    a = torch.randn(input_size, hidden_size, generator=generator) * 0.5
    c = torch.randn(hidden_size, generator=generator) * 0.5
    return a, c


class _StackStandIn(nn.Module):
    """Stands in for RNNLayer inside RNN: a known simple map, all_h = cumsum(x A) + c over time."""

    built: list[tuple[int, int]] = []

    def __init__(self, input_size: int, hidden_size: int, *args, **kwargs) -> None:
        super().__init__()
        index = len(_StackStandIn.built)
        _StackStandIn.built.append((int(input_size), int(hidden_size)))
        self.input_size = input_size
        self.hidden_size = hidden_size
        a, c = stack_stand_in_map(index, int(input_size), int(hidden_size))
        self.A = nn.Parameter(a)
        self.c = nn.Parameter(c)

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
        # The layers' maps follow their order inside the RNN (its ModuleList), not the order
        # they were created in: building from the top down and reversing is as good as any.
        placed = [mod for mod in rnn.modules() if isinstance(mod, _StackStandIn)] if isinstance(rnn, nn.Module) else []
        if len(placed) == len(built):
            built = []
            for position, layer in enumerate(placed):
                a, c = stack_stand_in_map(position, int(layer.input_size), int(layer.hidden_size))
                with torch.no_grad():
                    layer.A.data, layer.c.data = a, c
                built.append((int(layer.input_size), int(layer.hidden_size)))
        out, last = pair(rnn(arg(x)), "RNN.forward")
    finally:
        m.RNNLayer = original
    return {"built": [list(b) for b in built], "out": plain(out, "RNN output"), "last": plain(last, "RNN last_step_h")}


def _rnn_layers(rnn: nn.Module) -> list[nn.Module]:
    cls = student(MODULE).RNNLayer
    return [mod for mod in rnn.modules() if isinstance(mod, cls)]


def _observed_rnn(input_size: int, hidden_size: int, num_layers: int) -> tuple[nn.Module, dict[int, Recorder]]:
    """The student's RNN, whose RNNLayers are each built with a recording nonlinearity.

    The layers the RNN creates receive a Recorder in place of the nonlinearity they are given
    (or their default), which then applies that nonlinearity: the layers keep it under any
    attribute name they like, as a function or a module. Returns the RNN and, per layer (by id),
    its recorder.
    """
    import inspect

    m = student(MODULE)
    original = m.RNNLayer
    signature = inspect.signature(original)
    if "nonlinearity" not in signature.parameters:
        raise ProbeError("bad_value", "RNNLayer(input_size, hidden_size, nonlinearity=th.tanh) should accept the nonlinearity argument of the homework's signature")
    recorders: dict[int, Recorder] = {}

    class Observed(original):  # type: ignore[misc, valid-type]
        def __init__(self, *args, **kwargs) -> None:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            given = bound.arguments["nonlinearity"]
            recorder = Recorder(given if callable(given) else torch.tanh)
            bound.arguments["nonlinearity"] = recorder
            super().__init__(*bound.args, **bound.kwargs)
            recorders[id(self)] = recorder

    Observed.__name__ = Observed.__qualname__ = original.__name__
    m.RNNLayer = Observed
    try:
        rnn = m.RNN(input_size, hidden_size, num_layers)
    finally:
        m.RNNLayer = original
    for layer in _rnn_layers(rnn) if isinstance(rnn, nn.Module) else []:
        recorder = recorders.get(id(layer))
        if recorder is not None:
            _observe_kept(layer, recorder)
    return rnn, recorders


def _stacked_layers(rnn: nn.Module, recorders: dict[int, Recorder], layers: list[dict]) -> None:
    """Set each RNNLayer inside the student's RNN (in module order) to the trusted weights."""
    found = _rnn_layers(rnn)
    if len(found) != len(layers):
        raise ProbeError("bad_value", f"RNN(..., num_layers={len(layers)}) should hold {len(layers)} RNNLayer modules; found {len(found)}")
    for number, (layer, weights) in enumerate(zip(found, layers)):
        recorder = recorders.get(id(layer))
        if recorder is None:
            raise ProbeError("bad_value", f"layer {number} of your RNN was not built by RNN.__init__ (build the RNNLayers there, e.g. in an nn.ModuleList)")
        set_rnn_weights(layer, recorder, weights, f"layer {number} of your RNN")
        recorder.pause()


def _stand_in_rnn(layers: list[dict], nonlinearity: str = "tanh") -> nn.Module:
    """The student's RNN built from the grader's stand-in layers (their RNNLayer fails 1a), set to the trusted weights."""
    m = student(MODULE)
    input_size, hidden_size = layer_size(layers[0])
    original = m.RNNLayer
    m.RNNLayer = StandInRNNLayer
    try:
        rnn = m.RNN(input_size, hidden_size, len(layers))
    finally:
        m.RNNLayer = original
    found = [mod for mod in rnn.modules() if isinstance(mod, StandInRNNLayer)] if isinstance(rnn, nn.Module) else []
    if len(found) != len(layers):
        raise ProbeError("bad_value", f"RNN(..., num_layers={len(layers)}) should hold {len(layers)} RNNLayer modules; found {len(found)}")
    for layer, weights in zip(found, layers):
        layer.load(weights)
        layer.nonlinearity = NONLINEARITIES[nonlinearity]
    return rnn


@probe("1h.forward")
def stack_forward(x, layers: list, stand_ins: list | None = None) -> dict:
    if "RNNLayer" in (stand_ins or ()):
        rnn = _stand_in_rnn(layers)
    else:
        input_size, hidden_size = layer_size(layers[0])
        rnn, recorders = _observed_rnn(input_size, hidden_size, len(layers))
        _stacked_layers(rnn, recorders, layers)
    out, last = pair(rnn(arg(x)), "RNN.forward")
    return {"out": plain(out, "RNN output"), "last": plain(last, "RNN last_step_h")}


def _read_stacked(rnn: nn.Module, recorders: dict[int, Recorder], input_size: int, hidden_size: int) -> list[dict]:
    """The effective W^x, W^h, b of every RNNLayer inside the student's RNN, in module order."""
    found = []
    for number, layer in enumerate(_rnn_layers(rnn)):
        recorder = recorders[id(layer)]
        # Not under torch.no_grad(): the handout's store_h_for_grad calls retain_grad() unconditionally.
        wx, wh, b = (t.detach() for t in rnn_weight_tensors(layer, recorder, input_size if number == 0 else hidden_size, hidden_size))
        recorder.pause()
        found.append({"Wx": plain(wx, f"W^x of layer {number}"), "Wh": plain(wh, f"W^h of layer {number}"), "b": plain(b, f"b of layer {number}")})
    return found


@probe("1h.train")
def stack_train(lr: float, xs, ys, layers: list, head: dict, seed: int, stand_ins: list | None = None) -> dict:
    """Train the student's 2-layer RNN (the grader's loop) and return what it learned, as effective weights.

    The losses seen during training are not returned: the trusted side evaluates the learned
    weights itself, with the reference's modules, on sequences this worker never sees. A piece
    named in ``stand_ins`` is the grader's stand-in (its own check failed).
    """
    m = student(MODULE)
    stand_ins = tuple(stand_ins or ())
    torch.manual_seed(seed)
    hidden_size = layer_size(layers[0])[1]
    if "RNNLayer" in stand_ins:
        rnn, recorders = _stand_in_rnn(layers), {}
    else:
        rnn, recorders = _observed_rnn(1, hidden_size, len(layers))
        _stacked_layers(rnn, recorders, layers)
    if "RecurrentRegressionModel" in stand_ins:
        model = StandInRegressionModel(rnn, head)
    else:
        model = m.RecurrentRegressionModel(rnn, output_dim=1)
        read_out = _HeadOnly(model, rnn)
        set_affine(trainable(model, skip=(rnn,)), lambda h: _run_model(read_out, h)[0], hidden_size, head, "the read-out of your RecurrentRegressionModel")
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    xs_t, ys_t = arg(xs), arg(ys)
    for step in range(xs_t.shape[0]):
        out, _ = _run_model(model, xs_t[step])
        loss = ((out - ys_t[step]) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    if "RNNLayer" in stand_ins:
        learned = [{k: plain(v, f"{k} of layer {n}") for k, v in layer.effective().items()} for n, layer in enumerate(mod for mod in rnn.modules() if isinstance(mod, StandInRNNLayer))]
    else:
        learned = _read_stacked(rnn, recorders, 1, hidden_size)
    if "RecurrentRegressionModel" in stand_ins:
        learned_head = model.effective()
    else:
        with torch.no_grad():
            w, c = affine_tensors(lambda h: _run_model(read_out, h)[0], hidden_size)
        learned_head = {"W": plain(w, "read-out W"), "c": plain(c, "read-out c")}
    return {"layers": learned, "head": learned_head}
