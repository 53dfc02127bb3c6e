"""Harness pieces shared by probes: seeded weights, a recording nonlinearity, stand-in modules.

None of these is a solution to a homework part: they are instruments that let
the trusted side observe the student's modules independently of how they lay
out their parameters.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from autograder.probes.registry import ProbeError

NONLINEARITIES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "identity": lambda z: z,
}


def randomize(module: nn.Module, seed: int, scale: float = 0.5, skip: tuple[nn.Module, ...] = ()) -> None:
    """Overwrite every parameter of ``module`` (except those of ``skip``) with seeded N(0, scale²) values."""
    generator = torch.Generator().manual_seed(int(seed))
    skipped = {id(p) for m in skip for p in m.parameters()}
    with torch.no_grad():
        for _, param in sorted(module.named_parameters(), key=lambda kv: kv[0]):
            if id(param) in skipped:
                continue
            param.copy_(torch.randn(param.shape, generator=generator, dtype=param.dtype) * scale)


class Recorder(nn.Module):
    """A nonlinearity that records its inputs and can replace the first step's output.

    With ``inject`` set, step 1 returns ``inject`` (kept connected to the graph),
    which lets a probe choose h_1 freely and read W^h from step 2's pre-activation.
    An nn.Module, so that a layer may keep it as a submodule under any attribute name
    (as it would keep an nn.Tanh()); ``fn`` may be a function or a module.
    """

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor] = NONLINEARITIES["identity"]) -> None:
        super().__init__()
        self.fn = fn
        self.inject: torch.Tensor | None = None
        self.inputs: list[torch.Tensor] = []
        self.recording = True

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if not self.recording:
            return self.fn(z)
        self.inputs.append(z.clone())  # kept in the graph: impose() differentiates through it
        if self.inject is not None and len(self.inputs) == 1:
            return z * 0 + self.inject
        return self.fn(z)

    def reset(self, fn: Callable[[torch.Tensor], torch.Tensor] | None = None, inject: torch.Tensor | None = None) -> None:
        if fn is not None:
            self.fn = fn
        self.inject = inject
        self.inputs = []
        self.recording = True

    def pause(self) -> None:
        """Only apply ``fn`` from now on (a long training run would otherwise keep every step's graph)."""
        self.reset()
        self.recording = False


def run_layer(layer: nn.Module, x: torch.Tensor, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    out = layer(x)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise ProbeError("bad_value", f"{what} should return a pair (all_h, last_h); got {type(out).__name__}")
    all_h, last_h = out
    if not isinstance(all_h, torch.Tensor) or not isinstance(last_h, torch.Tensor):
        raise ProbeError("bad_value", f"{what} should return torch tensors")
    return all_h, last_h


def _pre_activations(recorder: Recorder, steps: int, what: str) -> list[torch.Tensor]:
    if len(recorder.inputs) != steps:
        raise ProbeError(
            "bad_value",
            f"{what}: the layer's nonlinearity (the one passed to the constructor) should be called once per time step; "
            f"for a sequence of {steps} step(s) it was called {len(recorder.inputs)} time(s)",
        )
    return recorder.inputs


def rnn_weight_tensors(layer: nn.Module, recorder: Recorder, input_size: int, hidden_size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """W^x, W^h and b such that pre-activation = W^h h + W^x x + b, whatever the layout (differentiable)."""
    dtype = next((p.dtype for p in layer.parameters()), torch.float32)
    recorder.reset(inject=None)
    run_layer(layer, torch.zeros(1, 1, input_size, dtype=dtype), "RNNLayer.forward")
    b = _pre_activations(recorder, 1, "RNNLayer.forward")[0].reshape(-1)[:hidden_size].double()
    recorder.reset(inject=None)
    run_layer(layer, torch.eye(input_size, dtype=dtype).reshape(input_size, 1, input_size), "RNNLayer.forward")
    wx = (_pre_activations(recorder, 1, "RNNLayer.forward")[0].double() - b).T
    recorder.reset(inject=torch.eye(hidden_size, dtype=dtype))
    run_layer(layer, torch.zeros(hidden_size, 2, input_size, dtype=dtype), "RNNLayer.forward")
    chosen = _pre_activations(recorder, 2, "RNNLayer.forward")[1].double()
    # Step 2 from h_1 = 0 as the baseline (not b): a layer whose step 1 is wrong (h_0 = 1, say)
    # still shows the W^h it uses, so only the checks of its forward fail.
    recorder.reset(inject=torch.zeros(1, hidden_size, dtype=dtype))
    run_layer(layer, torch.zeros(1, 2, input_size, dtype=dtype), "RNNLayer.forward")
    wh = (chosen - _pre_activations(recorder, 2, "RNNLayer.forward")[1].double()).T
    recorder.reset(inject=None)
    return wx, wh, b


def affine_tensors(module: Callable[[torch.Tensor], torch.Tensor], in_features: int, dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """W, c of a per-step affine map f(h) = W h + c applied to (B, T, in) inputs (differentiable)."""
    zero = module(torch.zeros(1, 1, in_features, dtype=dtype)).double().reshape(-1)
    eye = module(torch.eye(in_features, dtype=dtype).reshape(in_features, 1, in_features)).double()
    return (eye.reshape(in_features, -1) - zero).T, zero


def trainable(module: nn.Module, skip: tuple[nn.Module, ...] = ()) -> list[nn.Parameter]:
    skipped = {id(p) for m in skip for p in m.parameters()}
    return [p for p in module.parameters() if p.requires_grad and id(p) not in skipped]


IMPOSE_ROUNDS = 4


def impose(params: list[nn.Parameter], measure: Callable[[], torch.Tensor], target: Any, what: str) -> None:
    """Change ``params`` so that ``measure()`` equals ``target``: the trusted side chooses the weights.

    ``measure`` returns the effective weights the student's module computes with (for
    example W^x, W^h, b read off its pre-activations); they are affine in the parameters
    for any linear layout (split or merged matrices, transposes, two biases), so a
    least-squares step on the Jacobian lands on the target, whatever the layout.
    """
    goal = torch.as_tensor(np.asarray(target, dtype=np.float64)).reshape(-1)
    tolerance = 1e-5 * (1.0 + (float(goal.abs().max()) if goal.numel() else 0.0))
    for round_ in range(IMPOSE_ROUNDS):
        value = measure().reshape(-1)
        if value.numel() != goal.numel():
            raise ProbeError("bad_value", f"{what}: its effective weights have {value.numel()} entries; expected {goal.numel()}")
        residual = goal - value.detach().double()
        if not torch.isfinite(residual).all():
            raise ProbeError("bad_value", f"{what}: its effective weights are not finite numbers")
        if residual.numel() == 0 or float(residual.abs().max()) <= tolerance:
            return
        if round_ == IMPOSE_ROUNDS - 1 or not value.requires_grad:
            break
        rows = []
        for i in range(value.numel()):
            grads = torch.autograd.grad(value[i], params, retain_graph=True, allow_unused=True)
            rows.append(torch.cat([(g if g is not None else torch.zeros_like(p)).reshape(-1).double() for g, p in zip(grads, params)]))
        jacobian = torch.stack(rows).numpy()
        delta = np.linalg.lstsq(jacobian, residual.numpy(), rcond=None)[0]
        offset = 0
        with torch.no_grad():
            for param in params:
                count = param.numel()
                param.add_(torch.as_tensor(delta[offset : offset + count]).reshape(param.shape).to(param.dtype))
                offset += count
    raise ProbeError(
        "bad_value",
        f"the grader could not set {what} to its test values through the module's parameters: "
        "the values forward computes with (read off the input of the nonlinearity) did not follow them. "
        "Keep every weight and the bias in nn.Parameters (or nn.Linear layers) that forward uses inside the nonlinearity.",
    )


RNN_BLOCKS = {"Wx": "W^x (the input weights)", "Wh": "W^h (the recurrent weights)", "b": "b (the bias)"}


def set_rnn_weights(layer: nn.Module, recorder: Recorder, weights: dict, what: str = "your RNNLayer") -> None:
    """Give the student's layer the effective W^x, W^h, b the trusted side chose.

    ``weights["pin"]`` (default: all three) names the blocks to set; the others keep the
    student's initial values, for checks whose expectation does not depend on them.
    """
    hidden_size, input_size = np.shape(weights["Wx"])
    blocks = [key for key in RNN_BLOCKS if key in weights.get("pin", list(RNN_BLOCKS))]
    target = np.concatenate([np.ravel(weights[key]) for key in blocks])

    def measure() -> torch.Tensor:
        wx, wh, b = rnn_weight_tensors(layer, recorder, input_size, hidden_size)
        if tuple(wx.shape) != (hidden_size, input_size) or tuple(wh.shape) != (hidden_size, hidden_size):
            raise ProbeError("bad_value", f"RNNLayer({input_size}, {hidden_size}): its pre-activation has shape {tuple(b.shape)} per sample; expected ({hidden_size},)")
        found = {"Wx": wx, "Wh": wh, "b": b}
        return torch.cat([found[key].reshape(-1) for key in blocks])

    impose(trainable(layer), measure, target, what + " (" + ", ".join(RNN_BLOCKS[key] for key in blocks) + " of its pre-activation)")
    recorder.reset(inject=None)


def set_affine(params: list[nn.Parameter], fn: Callable[[torch.Tensor], torch.Tensor], in_features: int, head: dict, what: str) -> None:
    """Give an affine read-out the W and c the trusted side chose."""
    target = np.concatenate([np.ravel(head["W"]), np.ravel(head["c"])])

    def measure() -> torch.Tensor:
        w, c = affine_tensors(fn, in_features)
        return torch.cat([w.reshape(-1), c.reshape(-1)])

    impose(params, measure, target, what)


class StandInRecurrentNet(nn.Module):
    """A recurrent net that returns hidden states chosen by the trusted side (isolates 1b)."""

    def __init__(self, input_size: int, hidden_size: int, hidden: torch.Tensor | None = None, extra_parameters: int = 0) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.hidden = hidden
        self.filler = nn.Parameter(torch.zeros(extra_parameters)) if extra_parameters else None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.hidden if self.hidden is not None else x
        return hidden, hidden[:, -1]


class StandInStackedNet(StandInRecurrentNet):
    """Like StandInRecurrentNet, with RNN's interface: num_layers, and last states of shape (num_layers, B, H)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int, hidden: torch.Tensor | None = None) -> None:
        super().__init__(input_size, hidden_size, hidden)
        self.num_layers = num_layers

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.hidden if self.hidden is not None else x
        lower = [hidden[:, 0] * (k + 2) for k in range(self.num_layers - 1)]  # distinct from every step's state
        return hidden, torch.stack(lower + [hidden[:, -1]])


# "gain" and "beta" contain neither "weight" nor "bias" (a match on the letter "b" is too loose).
NAMED_PARAMETERS: dict[str, tuple[int, ...]] = {"lin.weight": (2, 3), "lin.bias": (2,), "weight": (2,), "bias": (2,), "gain": (3,), "beta": (2,)}


def named_parameter_module() -> nn.Module:
    """A module whose parameter names exercise scale_parameters' by-name contract."""

    class Probe(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(3, 2)
            self.weight = nn.Parameter(torch.ones(2))
            self.bias = nn.Parameter(torch.ones(2))
            self.gain = nn.Parameter(torch.ones(3))
            self.beta = nn.Parameter(torch.ones(2))

    return Probe()


def as_array_dict(module: nn.Module) -> dict[str, np.ndarray]:
    return {name: p.detach().double().numpy().copy() for name, p in module.named_parameters()}


def arg(value: Any) -> torch.Tensor:
    return torch.as_tensor(np.asarray(value, dtype=np.float32)).clone()


# Stand-ins for part-1 pieces whose own check failed, so that a bug costs only that check.
# Each is deliberately *not* the homework's solution (a diagonal recurrence, a tanh read-out,
# a cubic loss): the trusted side runs the reference's code around the same stand-in, so the
# dependent check still measures only the student's code that it grades.


class StandInRNNLayer(nn.Module):
    """A diagonal recurrence h_t = f(W^x x_t + d * h_{t-1} + b), with RNNLayer's interface and h_list."""

    def __init__(self, input_size: int, hidden_size: int, nonlinearity: Callable[[torch.Tensor], torch.Tensor] = torch.tanh) -> None:
        super().__init__()
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.nonlinearity = nonlinearity
        self.W_x = nn.Parameter(torch.zeros(self.hidden_size, self.input_size))
        self.d = nn.Parameter(torch.full((self.hidden_size,), 0.5))
        self.b = nn.Parameter(torch.zeros(self.hidden_size))
        self.h_list: list[torch.Tensor] = []

    def load(self, weights: dict) -> "StandInRNNLayer":
        """Take W^x, the diagonal of W^h and b from a trusted weights dict."""
        with torch.no_grad():
            self.W_x.copy_(torch.as_tensor(np.asarray(weights["Wx"], dtype=np.float64)))
            self.d.copy_(torch.as_tensor(np.diag(np.asarray(weights["Wh"], dtype=np.float64)).copy()))
            self.b.copy_(torch.as_tensor(np.asarray(weights["b"], dtype=np.float64)))
        return self

    def effective(self) -> dict[str, np.ndarray]:
        """Its weights in the trusted dict form (W^h as the diagonal matrix it uses)."""
        d = self.d.detach().double().numpy()
        return {"Wx": self.W_x.detach().double().numpy().copy(), "Wh": np.diag(d), "b": self.b.detach().double().numpy().copy()}

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = x.new_zeros(x.shape[0], self.hidden_size)
        self.h_list = []
        for t in range(x.shape[1]):
            h = self.nonlinearity(x[:, t] @ self.W_x.T + self.d * h + self.b)
            if h.requires_grad:
                h.retain_grad()
            self.h_list.append(h)
        return torch.stack(self.h_list, dim=1), self.h_list[-1]


class StandInRegressionModel(nn.Module):
    """RecurrentRegressionModel's interface with a tanh read-out: out = W tanh(h_t) + c at every step."""

    def __init__(self, recurrent_net: nn.Module, head: dict) -> None:
        super().__init__()
        self.recurrent_net = recurrent_net
        w = np.asarray(head["W"], dtype=np.float64)
        self.output_dim = int(w.shape[0])
        self.W = nn.Parameter(torch.tensor(w, dtype=torch.float32))
        self.c = nn.Parameter(torch.tensor(np.asarray(head["c"], dtype=np.float64), dtype=torch.float32))

    def effective(self) -> dict[str, np.ndarray]:
        return {"W": self.W.detach().double().numpy().copy(), "c": self.c.detach().double().numpy().copy()}

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        all_h, _ = self.recurrent_net(x)
        return torch.tanh(all_h) @ self.W.T + self.c, all_h


def stand_in_loss(pred: torch.Tensor, y: torch.Tensor, last_timestep_only: bool = False) -> torch.Tensor:
    """loss_fn's interface with a mean cubic error (over all steps, or the last one)."""
    if pred.dim() == 2:
        pred = pred.unsqueeze(-1)
    if y.dim() == 2:
        y = y.unsqueeze(-1)
    if last_timestep_only:
        pred, y = pred[:, -1], y[:, -1]
    return (pred - y).abs().pow(3).mean()
