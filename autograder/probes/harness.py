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


class Recorder:
    """A nonlinearity that records its inputs and can replace the first step's output.

    With ``inject`` set, step 1 returns ``inject`` (kept connected to the graph),
    which lets a probe choose h_1 freely and read W^h from step 2's pre-activation.
    """

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor] = NONLINEARITIES["identity"]) -> None:
        self.fn = fn
        self.inject: torch.Tensor | None = None
        self.inputs: list[torch.Tensor] = []

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        self.inputs.append(z.detach().clone())
        if self.inject is not None and len(self.inputs) == 1:
            return z * 0 + self.inject
        return self.fn(z)

    def reset(self, fn: Callable[[torch.Tensor], torch.Tensor] | None = None, inject: torch.Tensor | None = None) -> None:
        if fn is not None:
            self.fn = fn
        self.inject = inject
        self.inputs = []


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


def effective_rnn_weights(layer: nn.Module, recorder: Recorder, input_size: int, hidden_size: int) -> dict[str, np.ndarray]:
    """Recover W^x, W^h and b such that pre-activation = W^h h + W^x x + b, whatever the layout."""
    dtype = next((p.dtype for p in layer.parameters()), torch.float32)
    recorder.reset(inject=None)
    run_layer(layer, torch.zeros(1, 1, input_size, dtype=dtype), "RNNLayer.forward")
    b = _pre_activations(recorder, 1, "RNNLayer.forward")[0].reshape(-1)[:hidden_size].double()
    recorder.reset(inject=None)
    run_layer(layer, torch.eye(input_size, dtype=dtype).reshape(input_size, 1, input_size), "RNNLayer.forward")
    wx = (_pre_activations(recorder, 1, "RNNLayer.forward")[0].double() - b).T
    recorder.reset(inject=torch.eye(hidden_size, dtype=dtype))
    run_layer(layer, torch.zeros(hidden_size, 2, input_size, dtype=dtype), "RNNLayer.forward")
    wh = (_pre_activations(recorder, 2, "RNNLayer.forward")[1].double() - b).T
    recorder.reset(inject=None)
    return {"Wx": wx.numpy(), "Wh": wh.numpy(), "b": b.numpy()}


def effective_affine(module: Callable[[torch.Tensor], torch.Tensor], in_features: int, dtype: torch.dtype = torch.float32) -> dict[str, np.ndarray]:
    """Recover W, c of a per-step affine map f(h) = W h + c applied to (B, T, in) inputs."""
    zero = module(torch.zeros(1, 1, in_features, dtype=dtype)).detach().double().reshape(-1)
    eye = module(torch.eye(in_features, dtype=dtype).reshape(in_features, 1, in_features)).detach().double()
    eye = eye.reshape(in_features, -1)
    return {"W": (eye - zero).T.numpy(), "c": zero.numpy()}


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


def named_parameter_module() -> nn.Module:
    """A module whose parameter names exercise scale_parameters' by-name contract."""

    class Probe(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(3, 2)
            self.weight = nn.Parameter(torch.ones(2))
            self.bias = nn.Parameter(torch.ones(2))
            self.gain = nn.Parameter(torch.ones(3))

    return Probe()


def as_array_dict(module: nn.Module) -> dict[str, np.ndarray]:
    return {name: p.detach().double().numpy().copy() for name, p in module.named_parameters()}


def arg(value: Any) -> torch.Tensor:
    return torch.as_tensor(np.asarray(value, dtype=np.float32)).clone()
