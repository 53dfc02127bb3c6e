"""Implementing RNNs and watching gradients flow through time (HW7 problem 1).

Parts a student writes: 1a ``RNNLayer``, 1b ``RecurrentRegressionModel``,
1c ``loss_fn``, 1d ``scale_parameters`` / ``recurrent_weight`` /
``hidden_grad_norms`` and 1h the multi-layer ``RNN``. Everything else (the
running-mean data set, training loops and plots) is provided. All of it runs on
the CPU; nothing trains at import time.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Callable, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

Nonlinearity = Callable[[torch.Tensor], torch.Tensor]


# ---------------------------------------------------------------------------
# 1a: a single recurrent layer
# ---------------------------------------------------------------------------
class RNNLayer(nn.Module):
    """One Elman recurrent layer: h_t = nonlinearity(W^h h_{t-1} + W^x x_t + b), h_0 = 0."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        nonlinearity: Nonlinearity = torch.tanh,
    ) -> None:
        """1a: store input_size, hidden_size and nonlinearity as attributes and create the weights.

        The layer needs an input-to-hidden map W^x (hidden_size x input_size), a
        hidden-to-hidden map W^h (hidden_size x hidden_size) and exactly ONE bias
        vector of length hidden_size, so RNNLayer(2, 3) has 3*2 + 3*3 + 3 = 18
        parameters. Two nn.Linear modules (only one with a bias) are the easy way.
        """
        raise NotImplementedError("1a: implement RNNLayer.__init__")

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """1a: roll the layer over a (B, T, input_size) batch, starting from h_0 = 0.

        Call ``self.nonlinearity`` exactly once per time step on the (B, H)
        pre-activation W^h h_{t-1} + W^x x_t + b. Collect h_1..h_T (the very
        tensors fed into the next step) in a list and pass it to
        ``self.store_h_for_grad`` so part 1d can read their gradients. Return
        ``(all_h, last_h)`` with shapes (B, T, H) and (B, H).
        """
        raise NotImplementedError("1a: implement RNNLayer.forward")

    def store_h_for_grad(self, h_list: list[torch.Tensor]) -> None:
        """Keep the per-step hidden states as ``self.h_list`` and ask autograd to keep their grads."""
        for h in h_list:
            if h.requires_grad:
                h.retain_grad()
        self.h_list = h_list


# ---------------------------------------------------------------------------
# 1b: a regression head on every time step
# ---------------------------------------------------------------------------
class RecurrentRegressionModel(nn.Module):
    """A recurrent net followed by one shared linear read-out applied at every time step."""

    def __init__(self, recurrent_net: nn.Module, output_dim: int = 1) -> None:
        """1b: keep ``recurrent_net`` and ``output_dim`` and add one nn.Linear read-out.

        The read-out maps ``recurrent_net.hidden_size`` features to ``output_dim``
        and is shared by all time steps, so wrapping RNNLayer(2, 3) with
        output_dim=4 gives 18 + 3*4 + 4 = 34 parameters. It must work for both
        RNNLayer and the stacked RNN of part 1h.
        """
        raise NotImplementedError("1b: implement RecurrentRegressionModel.__init__")

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """1b: run the recurrent net on x (B, T, in) and read out every step.

        Return ``(out, all_h)``: out has shape (B, T, output_dim) and all_h is the
        first output of ``self.recurrent_net(x)``.
        """
        raise NotImplementedError("1b: implement RecurrentRegressionModel.forward")


# ---------------------------------------------------------------------------
# 1c: data set and loss
# ---------------------------------------------------------------------------
def generate_batch(seq_len: int = 10, batch_size: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw x ~ N(0, 1) of shape (B, T, 1) and its running mean y_t = mean(x_1..x_t)."""
    data = torch.randn(batch_size, seq_len, 1)
    counts = torch.arange(1, seq_len + 1, dtype=data.dtype).view(1, seq_len, 1)
    target = torch.cumsum(data, dim=1) / counts
    return data, target


def loss_fn(pred: torch.Tensor, y: torch.Tensor, last_timestep_only: bool = False) -> torch.Tensor:
    """1c: mean squared error between predictions and targets, as a scalar tensor.

    pred and y have shape (B, T, 1) or (B, T). Average over every time step, or,
    when ``last_timestep_only`` is True, over the last time step only.
    """
    raise NotImplementedError("1c: implement loss_fn")


# ---------------------------------------------------------------------------
# 1d: gradients through time
# ---------------------------------------------------------------------------
def scale_parameters(model: nn.Module, weight_scale: float, bias_scale: float) -> None:
    """1d: rescale a model's parameters in place, without recording autograd history.

    Every weight matrix is multiplied by ``weight_scale`` and every bias by
    ``bias_scale``. For nn.Linear layers (and any parameter named so) that means:
    a name in ``model.named_parameters()`` containing "weight" or "bias"; a
    parameter whose name contains neither is left unchanged. If your RNNLayer keeps
    custom parameters (say W, U, b), scale those too: the gradient-flow plot of 1d
    rescales your own layer with this function.
    """
    raise NotImplementedError("1d: implement scale_parameters")


def recurrent_weight(rnn_layer: RNNLayer) -> torch.Tensor:
    """1d: return the (H, H) hidden-to-hidden matrix W^h that ``rnn_layer.forward`` uses.

    Orient it so the pre-activation is W^h @ h_{t-1} for a column vector h_{t-1},
    and return the parameter itself (or a view of it), not a copy.
    """
    raise NotImplementedError("1d: implement recurrent_weight")


def hidden_grad_norms(
    model: RecurrentRegressionModel,
    x: torch.Tensor,
    y: torch.Tensor,
    last_timestep_only: bool,
) -> np.ndarray:
    """1d: norms of dL/dh_t for t = 1..T, where L = loss_fn(model(x)[0], y, last_timestep_only).

    ``model`` wraps an RNNLayer. Zero stale gradients, back-propagate L, then read
    each h_t's ``.grad`` from ``model.recurrent_net.h_list``. Return a float64
    numpy array of length T holding the Frobenius norm (over batch and hidden
    units) of each gradient, in time order.
    """
    raise NotImplementedError("1d: implement hidden_grad_norms")


def biggest_eig_magnitude(W: torch.Tensor) -> float:
    """Largest |eigenvalue| of a square matrix (the spectral radius), as a Python float."""
    eigvals = torch.linalg.eigvals(W.detach().to(torch.float64))
    return float(eigvals.abs().max())


def plot_gradient_flow(
    hidden_size: int = 16,
    weight_scales: Sequence[float] = (0.5, 1.0, 2.0, 4.0),
    bias_scale: float = 1.0,
    seq_len: int = 30,
    last_timestep_only: bool = True,
    batch_size: int = 1,
    path: str | Path = "gradient_flow.png",
    seed: int = 0,
) -> str:
    """Plot ||dL/dh_t|| (log scale) and ||h_t|| against t for RNNs with rescaled weights.

    For every weight scale a fresh RecurrentRegressionModel(RNNLayer(1, hidden_size))
    is built from ``seed``, its recurrent layer is rescaled with
    ``scale_parameters(layer, scale, bias_scale)``, and one batch from
    ``generate_batch`` is back-propagated. The legend reports the spectral radius
    of W^h. Writes a PNG to ``path`` and returns the path as a string.
    """
    fig, (ax_grad, ax_h) = plt.subplots(1, 2, figsize=(11, 4))
    steps = np.arange(1, seq_len + 1)
    for scale in weight_scales:
        torch.manual_seed(seed)
        model = RecurrentRegressionModel(RNNLayer(1, hidden_size))
        scale_parameters(model.recurrent_net, scale, bias_scale)
        x, y = generate_batch(seq_len, batch_size)
        grads = hidden_grad_norms(model, x, y, last_timestep_only)
        h_norms = [float(h.detach().norm()) for h in model.recurrent_net.h_list]
        radius = biggest_eig_magnitude(recurrent_weight(model.recurrent_net))
        label = f"weight x{scale:g} (|eig|max {radius:.2f})"
        ax_grad.plot(steps, np.maximum(grads, 1e-30), marker=".", label=label)
        ax_h.plot(steps, h_norms, marker=".", label=label)
    ax_grad.set_yscale("log")
    ax_grad.set_xlabel("time step t")
    ax_grad.set_ylabel("||dL/dh_t||")
    ax_grad.set_title("gradient norm" + (" (last-step loss)" if last_timestep_only else " (all-step loss)"))
    ax_h.set_xlabel("time step t")
    ax_h.set_ylabel("||h_t||")
    ax_h.set_title("hidden-state norm")
    for ax in (ax_grad, ax_h):
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    out = str(path)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


class GradientVisualizer:
    """The handout's 1d visualiser, provided: update_plots(weight_val, bias_val) rescales the
    layer with ``scale_parameters``, reports the spectral radius of ``recurrent_weight`` and
    draws ||h_t|| and ||dL/dh_t||. (The notebook writes these two TODOs inside update_plots; its
    slider widget, create_visualization, needs ipywidgets and is left to the notebook.)
    """

    def __init__(self, rnn: RNNLayer, last_timestep_only: bool) -> None:
        self.rnn = rnn
        self.last_timestep_only = last_timestep_only
        self.model = RecurrentRegressionModel(rnn)
        self.original_weights = copy.deepcopy(rnn.state_dict())
        self.x, self.y = generate_batch(seq_len=10)  # one batch, used for every update

    def plot_visuals(self) -> tuple:
        """The two plots that update_plots refreshes: hidden-state norms and gradient norms."""
        fig, (ax1, ax2) = plt.subplots(1, 2)
        ax1.set_title("RNN Outputs")
        ax1.set_xlabel("Unroll Timestep")
        ax1.set_ylabel("Hidden State Norm")
        ax2.set_title("Gradients")
        ax2.set_xlabel("Unroll Timestep")
        ax2.set_ylabel("dLoss/dh_t magnitude")
        ax2.set_yscale("log")
        steps = self.x.shape[1]
        (plt_1,) = ax1.plot(np.arange(1, steps + 1), np.ones(steps))
        (plt_2,) = ax2.plot(np.arange(steps), np.arange(steps) + 1.0)
        self.fig, self.plots = fig, [plt_1, plt_2]
        return plt_1, plt_2, fig

    def update_plots(self, weight_val: float = 0, bias_val: float = 0) -> None:
        """Reload the original weights, rescale them, and redraw both plots."""
        self.rnn.load_state_dict(copy.deepcopy(self.original_weights))
        scale_parameters(self.rnn, weight_val, bias_val)
        if isinstance(self.rnn, RNNLayer):
            print(f" Biggest eigenvalue magnitude: {biggest_eig_magnitude(recurrent_weight(self.rnn)):.3}")
        pred, h = self.model(self.x)
        loss = loss_fn(pred, self.y, self.last_timestep_only)
        n_steps = len(h[0])
        plt_1, plt_2 = self.plots
        plt_1.set_data(np.arange(1, n_steps + 1), torch.linalg.norm(h[0], dim=-1).detach().numpy())
        grads = [torch.linalg.norm(g).item() for g in torch.autograd.grad(loss, self.rnn.h_list)][::-1]
        plt_2.set_data(np.arange(n_steps), np.array(grads) + 1e-6)  # later steps first: the gradient flows backward
        self.fig.canvas.draw_idle()


# ---------------------------------------------------------------------------
# 1h: stacking layers
# ---------------------------------------------------------------------------
class RNN(nn.Module):
    """A stack of ``num_layers`` RNNLayers; each layer reads the hidden sequence of the one below."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1) -> None:
        """1h: build the stack from this module's ``RNNLayer`` and keep the sizes as attributes.

        Keep ``input_size``, ``hidden_size`` and ``num_layers``, and put the layers
        in an nn.ModuleList: layer 0 is RNNLayer(input_size, hidden_size), every
        later one RNNLayer(hidden_size, hidden_size).
        """
        raise NotImplementedError("1h: implement RNN.__init__")

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """1h: run the layers in order on x (B, T, input_size).

        Return ``(all_h, last_h)``: all_h (B, T, H) is the hidden sequence of the
        top layer and last_h (num_layers, B, H) stacks every layer's final hidden
        state, bottom layer first.
        """
        raise NotImplementedError("1h: implement RNN.forward")


def train(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    num_batches: int,
    last_timestep_only: bool,
    seq_len: int = 10,
    batch_size: int = 32,
) -> list[float]:
    """Train on fresh running-mean batches from ``generate_batch``; return every batch's loss."""
    model.train()
    losses = []
    for _ in range(num_batches):
        x, y = generate_batch(seq_len, batch_size)
        optimizer.zero_grad()
        pred, _ = model(x)
        loss = loss_fn(pred, y, last_timestep_only)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.item()))
    return losses


def train_all(
    hidden_size: int = 32,
    lr: float = 1e-4,
    num_batches: int = 5000,
    last_timestep_only: bool = False,
    seed: int = 0,
    seq_len: int = 10,
    batch_size: int = 32,
) -> dict[str, list[float]]:
    """Train a 1-layer and a 2-layer RNN regression model with Adam on the running-mean task.

    Each model is built right after ``torch.manual_seed(seed)``, so each run is
    reproducible on its own. Returns {"1 layer": losses, "2 layers": losses}, the
    per-batch training losses of each run (the homework judges the mean of the
    last 100).
    """
    results: dict[str, list[float]] = {}
    for num_layers, key in ((1, "1 layer"), (2, "2 layers")):
        torch.manual_seed(seed)
        model = RecurrentRegressionModel(RNN(1, hidden_size, num_layers))
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        results[key] = train(model, optimizer, num_batches, last_timestep_only, seq_len, batch_size)
    return results


def plot_losses(results: dict[str, list[float]], path: str | Path = "rnn_losses.png", window: int = 100) -> str:
    """Plot each run's per-batch loss and its moving average (log scale); write a PNG and return its path."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, losses in results.items():
        arr = np.asarray(losses, dtype=np.float64)
        ax.plot(arr, alpha=0.25)
        if len(arr) >= window:
            smooth = np.convolve(arr, np.ones(window) / window, mode="valid")
            ax.plot(np.arange(window - 1, len(arr)), smooth, label=f"{label} ({window}-batch mean)")
    ax.set_yscale("log")
    ax.set_xlabel("batch")
    ax.set_ylabel("MSE")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    out = str(path)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
