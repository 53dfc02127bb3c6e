"""Worker-side probes for part 3a (q_autoencoder).

Instruments only: a recording activation class, hooks that observe what the
student's model actually receives and produces inside ``train_step``, a
matplotlib artist dump, and the grader's own short MNIST training loop. Verdicts
(noise level, masking rate, losses, accuracies) are made on the trusted side from
the raw data returned here. No MNIST data lives in this module: the trusted side
sends the training digits (shuffled, without indices or labels), and gets back the
trained encoder as plain weights, which it evaluates itself.
"""
from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch
from torch import nn

from .convert import load_state, plain
from .harness import arg, randomize
from autograder.probes.registry import ProbeError, probe, student

MODULE = "q_autoencoder"


class TraceActivation(nn.Module):
    """The activation_cls the grader passes in: ReLU that marks where activations sit."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x)


def _as_model(value: Any, what: str) -> nn.Module:
    if not isinstance(value, nn.Module):
        raise ProbeError("bad_value", f"{what} should be an nn.Module; got {type(value).__name__}")
    for attribute in ("encoder", "decoder"):
        if not isinstance(getattr(value, attribute, None), nn.Module):
            raise ProbeError("bad_value", f"{what} should have an nn.Module attribute .{attribute}; got {type(getattr(value, attribute, None)).__name__}")
    return value


def _describe_leaf(module: nn.Module) -> list:
    if isinstance(module, nn.Linear):
        return ["linear", int(module.in_features), int(module.out_features), module.bias is not None]
    if isinstance(module, TraceActivation):
        return ["activation"]
    params = [list(p.shape) for p in module.parameters(recurse=False)]
    return ["other", type(module).__name__, len(params)]


def trace(part: nn.Module, z: torch.Tensor) -> tuple[list, torch.Tensor]:
    """Run ``part`` on z and list the leaf modules it called, in call order."""
    calls: list = []
    handles = []
    for module in part.modules():
        if list(module.children()):
            continue
        handles.append(module.register_forward_hook(lambda mod, _inp, _out: calls.append(_describe_leaf(mod))))
    try:
        out = part(z)
    finally:
        for handle in handles:
            handle.remove()
    if not isinstance(out, torch.Tensor):
        raise ProbeError("bad_value", f"the decoder should return a tensor; got {type(out).__name__}")
    return calls, out


@probe("3a.structure")
def structure(input_size: int, hidden_sizes: list, seed: int) -> dict:
    m = student(MODULE)
    hidden = [int(h) for h in hidden_sizes]
    model = _as_model(m.Autoencoder(input_size, list(hidden), activation_cls=TraceActivation), f"Autoencoder({input_size}, {hidden}, activation_cls=...)")
    generator = torch.Generator().manual_seed(seed)
    z = torch.randn(3, hidden[-1], generator=generator)
    with torch.no_grad():
        calls, out = trace(model.decoder, z)
    return {"calls": calls, "out_shape": list(out.shape)}


@probe("3a.seeded_init")
def seeded_init(input_size: int, hidden_sizes: list, seed: int) -> dict:
    torch.manual_seed(seed)
    model = _as_model(student(MODULE).Autoencoder(input_size, [int(h) for h in hidden_sizes]), "Autoencoder(...)")
    state = model.state_dict()
    return {"keys": list(state.keys()), "values": [plain(v, f"state_dict()[{k!r}]") for k, v in state.items()]}


def stand_in(layers: list, what: str) -> nn.Sequential:
    """nn.Linear layers holding the trusted side's weights ([W, b] pairs), with nn.Tanh() between them.

    An instrument, not a solution: the trusted side chooses the sizes (its decoder does not
    mirror the encoder), and computes what the stand-ins give on its own side.
    """
    modules: list[nn.Module] = []
    for index, (weight, bias) in enumerate(layers):
        w, b = np.asarray(weight, dtype=np.float32), np.asarray(bias, dtype=np.float32)
        if w.ndim != 2 or b.shape != (w.shape[0],):
            raise ProbeError("grader", f"bad stand-in layer {index} for {what}")
        if index:
            modules.append(nn.Tanh())
        linear = nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w))
            linear.bias.copy_(torch.from_numpy(b))
        modules.append(linear)
    return nn.Sequential(*modules)


def _autoencoder(input_size: int, hidden_sizes: list) -> nn.Module:
    """The student's Autoencoder; with a stand-in (identity) decoder when building theirs fails (3a.1's business)."""
    m = student(MODULE)
    hidden = [int(h) for h in hidden_sizes]
    state = torch.get_rng_state()
    try:
        return _as_model(m.Autoencoder(input_size, list(hidden)), "Autoencoder(...)")
    except Exception:
        torch.set_rng_state(state)
        return _as_model(_without_decoder(m.Autoencoder)(input_size, list(hidden)), "Autoencoder(...)")


@probe("3a.forward")
def forward(input_size: int, hidden_sizes: list, x, encoder: list, decoder: list) -> dict:
    """The student's forward with model.encoder and model.decoder replaced by the trusted side's stand-ins."""
    model = _autoencoder(input_size, hidden_sizes)
    model.encoder = stand_in(encoder, "model.encoder")
    model.decoder = stand_in(decoder, "model.decoder")
    xt = arg(x)
    with torch.no_grad():
        out = model(xt)
    if not isinstance(out, torch.Tensor):
        raise ProbeError("bad_value", f"Autoencoder.forward should return a tensor; got {type(out).__name__}")
    return {"out": plain(out, "Autoencoder.forward(x)"), "x_after": plain(xt, "x after forward")}


@probe("3a.loss")
def loss(x, x_hat) -> dict:
    xt, target = arg(x), arg(x_hat)
    cls = student(MODULE).Autoencoder
    try:
        model = cls(xt.shape[1], [max(1, xt.shape[1] // 2)])
    except Exception:
        # The loss does not need the decoder: grade it even when building the model fails (see 3a.1).
        model = cls.__new__(cls)
        nn.Module.__init__(model)
    target.requires_grad_(True)
    value = model.loss(xt, target)
    if not isinstance(value, torch.Tensor):
        raise ProbeError("bad_value", f"Autoencoder.loss should return a torch tensor (train_step backpropagates through it); got {type(value).__name__}")
    if value.numel() != 1:
        raise ProbeError("bad_value", f"Autoencoder.loss should return a scalar; got a tensor of shape {tuple(value.shape)}")
    if not value.requires_grad:
        raise ProbeError("bad_value", "Autoencoder.loss(x, x_hat) is not differentiable with respect to x_hat (it must stay in torch, without .item() or numpy)")
    value.reshape(()).backward()
    grad = target.grad if target.grad is not None else torch.zeros_like(target)
    return {"loss": plain(value.detach().reshape(()), "Autoencoder.loss(x, x_hat)"), "grad": plain(grad, "d loss / d x_hat")}


def _train_step_observed(model: nn.Module, x: torch.Tensor, lr: float, seed: int, what: str) -> dict:
    """Run the student's train_step once, observing the encoder's input and the decoder's output."""
    seen_in: list[torch.Tensor] = []
    seen_out: list[torch.Tensor] = []
    h_in = model.encoder.register_forward_pre_hook(lambda _m, inputs: seen_in.append(inputs[0].detach().clone()))
    h_out = model.decoder.register_forward_hook(lambda _m, _i, output: seen_out.append(output.detach().clone()))
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    clean = x.clone()
    torch.manual_seed(seed)
    try:
        value = model.train_step(x, optimizer)
    finally:
        h_in.remove()
        h_out.remove()
    kind = type(value).__name__
    has_item = callable(getattr(value, "item", None))
    # A second step, without reseeding in between: its corruption must be a fresh draw.
    repeat: list[torch.Tensor] = []
    h_repeat = model.encoder.register_forward_pre_hook(lambda _m, inputs: repeat.append(inputs[0].detach().clone()))
    try:
        model.train_step(clean.clone(), optimizer)
    finally:
        h_repeat.remove()
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.detach().reshape(())
    returned = plain(value, f"the value returned by {what}")
    if returned.size != 1:
        raise ProbeError("bad_value", f"{what} should return the scalar loss; got an array of shape {returned.shape}")
    if not seen_in or not seen_out:
        raise ProbeError("bad_value", f"{what} did not run the model's encoder and decoder (model.encoder / model.decoder were not called)")
    moved = max(float((p.detach() - b).abs().max()) if p.numel() else 0.0 for p, b in zip(model.parameters(), before))
    own = []
    with torch.no_grad():
        for out in seen_out:
            try:
                own_value = model.loss(clean, out)
                own.append(plain(torch.as_tensor(own_value).detach().reshape(-1)[:1].reshape(()), "model.loss(x, x_hat)"))
            except Exception:
                own.append(np.asarray(np.nan))
    return {
        "returned": returned.reshape(()),
        "inputs": [plain(t, "encoder input") for t in seen_in],
        "outputs": [plain(t, "decoder output") for t in seen_out],
        "own_losses": own,
        "x_after": plain(x, "x after train_step"),
        "moved": moved,
        "returned_type": kind,
        "has_item": has_item,
        "repeat_input": plain(repeat[0], "encoder input") if repeat else None,
    }


@probe("3a.denoise")
def denoise(input_size: int, hidden_sizes: list, noise_std: float, x, seed: int, lr: float) -> dict:
    m = student(MODULE)
    model = _as_model(m.DenoisingAutoencoder(input_size, [int(h) for h in hidden_sizes], noise_std=noise_std), "DenoisingAutoencoder(...)")
    randomize(model, seed, scale=0.3)
    return _train_step_observed(model, arg(x), lr, seed, "DenoisingAutoencoder.train_step(x, optimizer)")


@probe("3a.mask")
def mask(input_size: int, hidden_sizes: list, mask_prob: float, x, seed: int, lr: float) -> dict:
    m = student(MODULE)
    model = _as_model(m.MaskedAutoencoder(input_size, [int(h) for h in hidden_sizes], mask_prob=mask_prob), "MaskedAutoencoder(...)")
    randomize(model, seed, scale=0.3)
    return _train_step_observed(model, arg(x), lr, seed, "MaskedAutoencoder.train_step(x, optimizer)")


def _without_decoder(cls: type) -> type:
    """The student's Autoencoder with a stand-in (identity) decoder; only its encoder is used."""

    class StandInDecoder(cls):  # type: ignore[misc, valid-type]
        def _build_decoder(self) -> nn.Module:
            return nn.Identity()

    return StandInDecoder


def _split_inputs(dataset: Any, split: str) -> torch.Tensor:
    """The split's inputs, read through the handout's SyntheticDataset API only (get_num_samples,
    get_batch and eval_batch_size), never through a method this project's own copy adds."""
    size = int(dataset.eval_batch_size if split != "train" else dataset.batch_size)
    count = int(dataset.get_num_samples(split=split))
    batches = [torch.as_tensor(dataset.get_batch(idx, split=split)[0]) for idx in range(-(-count // size))]
    return torch.cat(batches) if batches else torch.zeros(0)


@probe("3a.accuracy")
def accuracy(seed: int, input_size: int, samples: int, splits: list, high_var_dims: int, var_scale: float, batch_size: int,
             eval_batch_size: int, hidden_sizes: list, num_classes: int, split: str | None, encoder_state: dict, W, b) -> dict:
    """_get_model_accuracy with the trusted side's encoder weights and classifier (W, b)."""
    m = student(MODULE)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    dataset = m.SyntheticDataset(input_size, samples, list(splits), high_var_dims, var_scale, batch_size, eval_batch_size)
    # Accuracy needs only the encoder: when the student's decoder cannot be built (see 3a.1),
    # _get_model_accuracy is graded with a stand-in decoder instead of failing it too.
    model = _autoencoder(input_size, hidden_sizes)
    load_state(model.encoder, encoder_state, "model.encoder", "the encoder is built by the provided Autoencoder.__init__: keep its nn.Sequential of Linear and activation layers unchanged")
    experiment = m.Experiment(dataset, model, batch_size, num_classes, 1e-3)
    classifier = nn.Linear(int(hidden_sizes[-1]), num_classes)
    with torch.no_grad():
        classifier.weight.copy_(arg(W))
        classifier.bias.copy_(arg(b))
    name = split or "test"
    inputs = _split_inputs(dataset, name)
    value = experiment._get_model_accuracy(classifier) if split is None else experiment._get_model_accuracy(classifier, split=split)
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.detach().reshape(())
    return {"accuracy": plain(value, "Experiment._get_model_accuracy(classifier)"), "inputs": plain(inputs, "split inputs")}


def _rgba(color: Any) -> np.ndarray:
    from matplotlib.colors import to_rgba_array

    try:
        return np.asarray(to_rgba_array(color), dtype=np.float64)
    except (ValueError, TypeError):
        return np.zeros((0, 4))


def _float_data(values: Any) -> np.ndarray:
    try:
        array = np.ma.filled(np.ma.asarray(values, dtype=np.float64), np.nan)
    except (ValueError, TypeError):
        return np.full(0, np.nan)
    return np.asarray(array, dtype=np.float64).reshape(-1)


def _line_data(line: Any) -> dict:
    return {
        "x": _float_data(line.get_xdata()),
        "y": _float_data(line.get_ydata()),
        "color": _rgba(line.get_color()),
        "marker": str(line.get_marker()),
        "markevery": str(line.get_markevery()),
        "label": str(line.get_label()),
    }


def _band_data(collection: Any) -> dict:
    from matplotlib.collections import PolyCollection

    vertices = [np.asarray(path.vertices, dtype=np.float64) for path in collection.get_paths()]
    return {
        "kind": type(collection).__name__,
        "poly": isinstance(collection, PolyCollection),
        "vertices": np.concatenate(vertices) if vertices else np.zeros((0, 2)),
        "facecolor": _rgba(collection.get_facecolor()),
        "label": str(collection.get_label()),
    }


@probe("3a.plot")
def plot(calls: list) -> dict:
    """Call plot_single once per (values, feats_dim) on one fresh current axes; return what each call added."""
    import matplotlib.pyplot as plt

    plt.close("all")
    figure = plt.figure()
    axes = figure.add_subplot(1, 1, 1)
    plt.sca(axes)
    added = []
    try:
        for values, feats_dim in calls:
            lines_before, bands_before = len(axes.get_lines()), len(axes.collections)
            student(MODULE).plot_single(np.array(values, dtype=np.float64), int(feats_dim))
            elsewhere = sum(len(ax.get_lines()) + len(ax.collections) for number in plt.get_fignums() for ax in plt.figure(number).axes if ax is not axes)
            added.append(
                {
                    "lines": [_line_data(line) for line in list(axes.get_lines())[lines_before:]],
                    "bands": [_band_data(collection) for collection in list(axes.collections)[bands_before:]],
                    "elsewhere": int(elsewhere),
                }
            )
            plt.sca(axes)
    finally:
        plt.close("all")
    return {"calls": added}


# ----------------------------------------------------------------------------- MNIST


def train_autoencoder(model: nn.Module, images: np.ndarray, epochs: int, batch_size: int, lr: float, seed: int) -> None:
    """The grader's own loop: a short Adam fit of the autoencoder (MSE; Adam makes its scale irrelevant).

    Shared by the worker (the student's model) and the trusted side (the reference's).
    """
    data = torch.as_tensor(np.asarray(images), dtype=torch.float32)
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(data.shape[0], generator=generator)
        for start in range(0, data.shape[0], batch_size):
            batch = data[order[start : start + batch_size]]
            out = model(batch)
            if not isinstance(out, torch.Tensor) or tuple(out.shape) != tuple(batch.shape):
                raise ProbeError("bad_value", f"Autoencoder.forward on a batch of shape {tuple(batch.shape)} should return a tensor of the same shape; got {getattr(out, 'shape', type(out).__name__)}")
            loss = nn.functional.mse_loss(out, batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()


def layers_in_call_order(part: nn.Module, z: torch.Tensor) -> dict:
    """What ``part`` computes, as plain data: its leaf calls (trace) and the weights of its Linear layers, in call order."""
    linears: list[nn.Linear] = []
    handles = [m.register_forward_hook(lambda mod, _inp, _out: linears.append(mod)) for m in part.modules() if isinstance(m, nn.Linear)]
    try:
        with torch.no_grad():
            calls, _ = trace(part, z)
    finally:
        for handle in handles:
            handle.remove()
    weights = [
        {"weight": plain(linear.weight, "a Linear layer's weight"), "bias": plain(linear.bias, "a Linear layer's bias") if linear.bias is not None else None}
        for linear in linears
    ]
    return {"calls": calls, "linears": weights}


@probe("3a.mnist")
def mnist(hidden_sizes: list, images, epochs: int, batch_size: int, lr: float, seed: int) -> dict:
    """Train the student's Autoencoder on the digits sent, and return what its encoder learned."""
    images = np.asarray(images, dtype=np.float32)
    torch.manual_seed(seed)
    hidden = [int(h) for h in hidden_sizes]
    model = _as_model(student(MODULE).Autoencoder(images.shape[1], hidden, activation_cls=TraceActivation), f"Autoencoder({images.shape[1]}, {hidden})")
    train_autoencoder(model, images, epochs, batch_size, lr, seed)
    return {"encoder": layers_in_call_order(model.encoder, torch.zeros(1, images.shape[1]))}
