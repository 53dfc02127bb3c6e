#!/usr/bin/env python3
"""Self-check for Homework 7: run the grader's public examples on your code, locally.

    python selfcheck.py              # every part whose module is in this folder
    python selfcheck.py 1a 5         # only some parts (prefixes of check ids)
    python selfcheck.py -v           # print every failing message in full
    python selfcheck.py --dir DIR    # your modules live in DIR

For each VISIBLE check of the autograder it calls your functions on a few fixed
inputs and compares with the expected outputs stored in ``selfcheck_data.json``
(produced once from the course's solution; no solution code is shipped). It
prints the same table as the autograder, with messages of the same kind.

Passing here is necessary, not sufficient: the autograder runs many more inputs
(random ones, and hidden checks) and some checks (training runs) are not
repeated here at all. Your code runs in this process, unsandboxed, on your
machine, exactly as when you run it yourself. Only .py modules are checked
(export a notebook to .py first).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import sys
import time
import traceback
import types
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
DATA = HERE / "selfcheck_data.json"
CASE_SECONDS = 60

RUNNERS: dict[str, Callable[..., dict]] = {}


def runner(name: str):
    """Register the harness that calls the student's functions for one kind of case."""

    def register(fn):
        RUNNERS[name] = fn
        return fn

    return register


# ----------------------------------------------------------------------------- plain data


def plain(value: Any) -> Any:
    """Tensors and arrays become nested lists of float/int/bool; tuples become lists."""
    try:
        import torch

        if isinstance(value, torch.Tensor):
            value = value.detach().cpu()
            if value.dtype in (torch.float16, torch.bfloat16):
                value = value.float()
            value = value.numpy()
    except ImportError:
        pass
    import numpy as np

    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            return value.astype(np.float64).tolist()
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def _tensor(x, dtype=None):
    import torch

    return torch.tensor(x, dtype=dtype or torch.float32)


def _fill(module, value: float) -> None:
    import torch

    with torch.no_grad():
        for param in module.parameters():
            param.fill_(value)


def _count(module) -> int:
    return int(sum(p.numel() for p in module.parameters()))


def _pair(out, what: str):
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise SelfcheckValueError(f"{what} should return a pair (2-tuple); got {type(out).__name__}")
    return out[0], out[1]


class SelfcheckValueError(Exception):
    """The student's function returned something of the wrong kind."""


def _nonlinearity(name: str):
    import torch

    return {"tanh": torch.tanh, "relu": torch.relu, "identity": lambda z: z}[name]


# ----------------------------------------------------------------------------- part 1: q_rnn_and_grad


@runner("rnn_layer_params")
def rnn_layer_params(m, input_size: int, hidden_size: int) -> dict:
    layer = m.RNNLayer(input_size, hidden_size)
    return {"count": _count(layer), "attributes": [getattr(layer, "input_size", None), getattr(layer, "hidden_size", None)]}


@runner("rnn_layer_const")
def rnn_layer_const(m, input_size: int, hidden_size: int, nonlinearity: str, value: float, x) -> dict:
    layer = m.RNNLayer(input_size, hidden_size, _nonlinearity(nonlinearity))
    _fill(layer, value)
    all_h, last_h = _pair(layer(_tensor(x)), "RNNLayer.forward")
    return {"all_h": plain(all_h), "last_h": plain(last_h)}


@runner("rnn_layer_h_list")
def rnn_layer_h_list(m, input_size: int, hidden_size: int, value: float, x, weights) -> dict:
    layer = m.RNNLayer(input_size, hidden_size)
    _fill(layer, value)
    all_h, _ = _pair(layer(_tensor(x)), "RNNLayer.forward")
    h_list = getattr(layer, "h_list", None)
    if not isinstance(h_list, (list, tuple)):
        raise SelfcheckValueError(f"after forward, layer.h_list should be a list of tensors; got {type(h_list).__name__}")
    (all_h * _tensor(weights)).sum().backward()
    grads = []
    for t, h in enumerate(h_list):
        if getattr(h, "grad", None) is None:
            raise SelfcheckValueError(f"layer.h_list[{t}].grad is None after backward: h_list must hold the very tensors used in the recurrence")
        grads.append(plain(h.grad))
    return {"length": len(h_list), "grads": grads}


@runner("regression_params")
def regression_params(m, input_size: int, hidden_size: int, output_dim: int) -> dict:
    return {"count": _count(m.RecurrentRegressionModel(m.RNNLayer(input_size, hidden_size), output_dim=output_dim))}


@runner("regression_const")
def regression_const(m, net: str, input_size: int, hidden_size: int, output_dim: int, value: float, x) -> dict:
    inner = m.RNNLayer(input_size, hidden_size) if net == "layer" else m.RNN(input_size, hidden_size, 2)
    model = m.RecurrentRegressionModel(inner, output_dim=output_dim)
    _fill(model, value)
    out, all_h = _pair(model(_tensor(x)), "RecurrentRegressionModel.forward")
    return {"out": plain(out), "all_h": plain(all_h)}


@runner("loss")
def loss(m, pred, y, last_timestep_only: bool) -> dict:
    return {"loss": plain(m.loss_fn(_tensor(pred), _tensor(y), last_timestep_only=last_timestep_only))}


def _stand_ins(m, input_size: int, hidden_size: int, value: float, nonlinearity=None):
    """The autograder's stand-ins for RNNLayer, the read-out and loss_fn (a diagonal recurrence, a
    tanh read-out, a cubic loss: deliberately not the homework's). 1d is checked with them, so a
    bug in 1a, 1b or 1c costs only its own check here, as it does in the autograder."""
    import torch
    from torch import nn

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.input_size, self.hidden_size = input_size, hidden_size
            self.nonlinearity = nonlinearity or torch.tanh
            self.W_x = nn.Parameter(torch.full((hidden_size, input_size), float(value)))
            self.d = nn.Parameter(torch.full((hidden_size,), 0.9))
            self.b = nn.Parameter(torch.full((hidden_size,), float(value)))

        def forward(self, x):
            h = x.new_zeros(x.shape[0], self.hidden_size)
            self.h_list = []
            for t in range(x.shape[1]):
                h = self.nonlinearity(x[:, t] @ self.W_x.T + self.d * h + self.b)
                h.retain_grad()
                self.h_list.append(h)
            return torch.stack(self.h_list, dim=1), h

    class Head(nn.Module):
        def __init__(self, recurrent_net) -> None:
            super().__init__()
            self.recurrent_net, self.output_dim = recurrent_net, 1
            self.W = nn.Parameter(torch.full((1, hidden_size), float(value)))
            self.c = nn.Parameter(torch.full((1,), float(value)))

        def forward(self, x):
            all_h, _ = self.recurrent_net(x)
            return torch.tanh(all_h) @ self.W.T + self.c, all_h

    def cubic_loss(pred, y, last_timestep_only=False):
        pred = pred.unsqueeze(-1) if pred.dim() == 2 else pred
        y = y.unsqueeze(-1) if y.dim() == 2 else y
        if last_timestep_only:
            pred, y = pred[:, -1], y[:, -1]
        return (pred - y).abs().pow(3).mean()

    return Head(Layer()), cubic_loss


def _norms_with_stand_ins(m, model, loss, x, y, last_timestep_only: bool):
    original = m.loss_fn
    m.loss_fn = loss
    try:
        return plain(m.hidden_grad_norms(model, _tensor(x), _tensor(y), last_timestep_only))
    finally:
        m.loss_fn = original


@runner("grad_norms")
def grad_norms(m, input_size: int, hidden_size: int, value: float, x, y, last_timestep_only: bool) -> dict:
    model, loss = _stand_ins(m, input_size, hidden_size, value)
    return {"norms": _norms_with_stand_ins(m, model, loss, x, y, last_timestep_only)}


@runner("scale_layer")
def scale_layer(m, input_size: int, hidden_size: int, weight_scale: float, bias_scale: float) -> dict:
    """scale_parameters on your own RNNLayer: how each matrix and each vector parameter changed."""
    import torch

    layer = m.RNNLayer(input_size, hidden_size)
    with torch.no_grad():
        for k, (_, param) in enumerate(sorted(layer.named_parameters())):
            param.copy_(torch.arange(1, param.numel() + 1, dtype=param.dtype).reshape(param.shape) * 0.1 + k)
    before = {name: p.detach().clone() for name, p in layer.named_parameters()}
    m.scale_parameters(layer, weight_scale, bias_scale)
    ratios = {"matrices": set(), "vectors": set()}
    for name, p in layer.named_parameters():
        ratio = round(float((p.detach() / before[name]).mean()), 6)
        ratios["matrices" if p.dim() >= 2 else "vectors"].add(ratio)
    return {key: sorted(values) for key, values in ratios.items()}


@runner("scale")
def scale(m, weight_scale: float, bias_scale: float) -> dict:
    import torch
    from torch import nn

    class Probe(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(3, 2)
            self.weight = nn.Parameter(torch.ones(2))
            self.bias = nn.Parameter(torch.ones(2))
            self.gain = nn.Parameter(torch.ones(3))
            self.beta = nn.Parameter(torch.ones(2))

    module = Probe()
    with torch.no_grad():
        for k, (_, param) in enumerate(sorted(module.named_parameters())):
            param.copy_(torch.arange(param.numel(), dtype=torch.float32).reshape(param.shape) * 0.5 + k)
    m.scale_parameters(module, weight_scale, bias_scale)
    return {"params": {name: plain(p) for name, p in sorted(module.named_parameters())}}


@runner("recurrent_weight")
def recurrent_weight(m, input_size: int, hidden_size: int, value: float, wh, x) -> dict:
    import torch

    layer = m.RNNLayer(input_size, hidden_size)
    _fill(layer, value)
    w = m.recurrent_weight(layer)
    shape = list(getattr(w, "shape", []))
    if shape == [hidden_size, hidden_size]:
        with torch.no_grad():
            w.copy_(_tensor(wh))
    all_h, _ = _pair(layer(_tensor(x)), "RNNLayer.forward")
    return {"shape": shape, "all_h": plain(all_h)}


@runner("linear_norms")
def linear_norms(m, hidden_size: int, value: float, x, y) -> dict:
    model, loss = _stand_ins(m, 1, hidden_size, value, nonlinearity=lambda z: z)
    return {"norms": _norms_with_stand_ins(m, model, loss, x, y, True)}


@runner("rnn_stack")
def rnn_stack(m, input_size: int, hidden_size: int, num_layers: int, value: float, x) -> dict:
    rnn = m.RNN(input_size, hidden_size, num_layers)
    layers = [mod for mod in rnn.modules() if isinstance(mod, m.RNNLayer)]
    _fill(rnn, value)
    out, last = _pair(rnn(_tensor(x)), "RNN.forward")
    return {"layers": len(layers), "count": _count(rnn), "out": plain(out), "last": plain(last)}


# ----------------------------------------------------------------------------- part 2: q_rnn_last_name


@runner("letter_to_index")
def letter_to_index(m, letters: str) -> dict:
    return {"indices": [plain(m.letterToIndex(c)) for c in letters]}


@runner("classifier_state")
def classifier_state(m, args: list) -> dict:
    model = m.RecurrentClassifier(*args, "rnn")
    state = model.state_dict()
    return {"keys": list(state), "shapes": [list(v.shape) for v in state.values()]}


@runner("classifier_forward")
def classifier_forward(m, args: list, seed: int, x, last_pos) -> dict:
    import torch

    torch.manual_seed(seed)
    model = m.RecurrentClassifier(*args, "rnn")
    model.eval()
    with torch.no_grad():
        logits = model(torch.tensor(x, dtype=torch.long), torch.tensor(last_pos, dtype=torch.long))
    return {"logits": plain(logits)}


# ----------------------------------------------------------------------------- part 3a: q_autoencoder


@runner("ae_state")
def ae_state(m, input_size: int, hidden_sizes: list, seed: int) -> dict:
    import torch

    torch.manual_seed(seed)
    model = m.Autoencoder(input_size, hidden_sizes)
    state = model.state_dict()
    return {"keys": list(state), "values": [plain(v) for v in state.values()]}


@runner("ae_forward")
def ae_forward(m, input_size: int, hidden_sizes: list, seed: int, x) -> dict:
    import torch

    torch.manual_seed(seed)
    model = m.Autoencoder(input_size, hidden_sizes, torch.nn.Tanh)
    x_t = _tensor(x)
    with torch.no_grad():
        out = model(x_t)
    return {"out": plain(out), "x_after": plain(x_t)}


@runner("ae_loss")
def ae_loss(m, x, x_hat) -> dict:
    x = _tensor(x)
    return {"loss": plain(m.Autoencoder(x.shape[1], [2]).loss(x, _tensor(x_hat)))}


@runner("ae_loss_fact")
def ae_loss_fact(m, model_seed: int, x_seed: int) -> dict:
    import torch

    torch.manual_seed(model_seed)
    model = m.Autoencoder(7, [5, 4])
    torch.manual_seed(x_seed)
    x = torch.randn(2, 7)
    with torch.no_grad():
        return {"loss": plain(model.loss(x, model(x)))}


@runner("ae_step")
def ae_step(m, kind: str, input_size: int, hidden_sizes: list, seed: int, x, lr: float) -> dict:
    import torch

    torch.manual_seed(seed)
    if kind == "denoising":
        model = m.DenoisingAutoencoder(input_size, hidden_sizes, noise_std=0.0)
    else:
        model = m.MaskedAutoencoder(input_size, hidden_sizes, mask_prob=0.0)
    # The model's loss is replaced by a mean absolute error, as the autograder does: a bug in
    # Autoencoder.loss then costs only 3a.3, not the training steps too.
    model.loss = lambda x, x_hat: (x_hat - x).abs().sum(dim=1).mean()
    x_t = _tensor(x)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    returned = model.train_step(x_t, optimizer)
    if not callable(getattr(returned, "item", None)):
        raise Failed(f"{type(model).__name__}.train_step returned a {type(returned).__name__}: Experiment.train calls loss.item() on it, so return the loss tensor")
    return {"loss": plain(returned), "x_after": plain(x_t), "params": [plain(p) for _, p in sorted(model.state_dict().items())]}


@runner("ae_accuracy_fact")
def ae_accuracy_fact(m) -> dict:
    from torch import nn

    m.set_seed(2017)
    experiment = m.Experiment(m.SyntheticDataset(7, 800, [0.4, 0.1, 0.5], 2, 15, 10), m.Autoencoder(7, [5, 4]), 10, 2, 1e-3)
    classifier = nn.Linear(4, 2)
    return {"accuracy": plain(experiment._get_model_accuracy(classifier))}


@runner("plot_single")
def plot_single(m, values, feats_dim: int) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = plt.figure()
    try:
        m.plot_single(values, feats_dim)
        ax = plt.gca()
        lines = ax.get_lines()
        if not lines:
            raise SelfcheckValueError("plot_single drew no line on the current axes")
        line = lines[0]
        return {
            "line_x": plain(line.get_xdata()),
            "line_y": plain(line.get_ydata()),
            "label": str(line.get_label()),
            "marker": str(line.get_marker()) not in ("None", "none", "", " "),
            "bands": len(ax.collections),
        }
    finally:
        plt.close(figure)


# ----------------------------------------------------------------------------- part 3b: q_linear_autoencoder


@runner("lae_gradients")
def lae_gradients(m, W1, W2, X) -> dict:
    import numpy as np

    g1, g2 = _pair(m.linear_ae_gradients(np.array(W1), np.array(W2), np.array(X)), "linear_ae_gradients")
    return {"dW1": plain(np.asarray(g1)), "dW2": plain(np.asarray(g2))}


@runner("pca_projector")
def pca_projector(m, X, k: int) -> dict:
    import numpy as np

    W1, W2 = _pair(m.pca_solution(np.array(X), k), "pca_solution")
    W1, W2 = np.asarray(W1, dtype=float), np.asarray(W2, dtype=float)
    return {"W1_shape": list(W1.shape), "W2_shape": list(W2.shape), "W2W1": plain(W2 @ W1), "W2W2T": plain(W2 @ W2.T)}


# ----------------------------------------------------------------------------- part 5: q_graph_clustering


@runner("adjacency")
def adjacency(m, gamma: float, X) -> dict:
    import numpy as np

    return {"A": plain(np.asarray(m.get_adjacency_matrix(gamma, np.array(X)), dtype=float))}


@runner("degree")
def degree(m, A) -> dict:
    import numpy as np

    return {"D": plain(np.asarray(m.get_degree_matrix(np.array(A)), dtype=float))}


@runner("normalize")
def normalize(m, A) -> dict:
    import numpy as np

    return {"M": plain(np.asarray(m.normalize_adjacency(np.array(A)), dtype=float))}


@runner("cluster")
def cluster(m, M, n_clusters: int, seed: int) -> dict:
    import numpy as np

    embedding, labels = _pair(m.cluster_data(np.array(M), n_clusters, seed), "cluster_data")
    E = np.asarray(embedding, dtype=float)
    renamed: dict = {}
    partition = [renamed.setdefault(label, len(renamed)) for label in np.asarray(labels).tolist()]
    return {"embedding_shape": list(E.shape), "projector": plain(E @ np.linalg.pinv(E)) if E.ndim == 2 else None, "partition": partition}


@runner("stochastic")
def stochastic(m, M) -> dict:
    import numpy as np

    return {"S": plain(np.asarray(m.stochastic_matrix_converter(np.array(M)), dtype=float))}


# ----------------------------------------------------------------------------- comparing


def _grader_compare() -> types.ModuleType:
    """The grader's own compare core, shipped next to this file (generated: grader_compare.py)."""
    spec = importlib.util.spec_from_file_location("grader_compare", HERE / "grader_compare.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Failed(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Messages:
    """The grader's templates, filled as the grader fills them."""

    def __init__(self, templates: dict[str, str]) -> None:
        self.templates = templates
        self._core = _grader_compare()

    def say(self, key: str, **fields: Any) -> str:
        return self.templates[key].format(**{k: self._core.fmt(v) for k, v in fields.items()})


def assert_close(msg: Messages, got: Any, expected: Any, what: str, rtol: float, atol: float) -> None:
    """The grader's comparison (exact shape, finite, within tolerance) and its wording."""
    import numpy as np

    core = msg._core
    if isinstance(got, list):
        try:
            got = np.asarray(got)
        except ValueError:  # ragged: no array the grader could read either
            got = np.asarray(got, dtype=object)
    try:
        core.assert_close(got, expected, what, rtol, atol)
    except core.CheckFailed as exc:
        raise Failed(exc.message) from None


def assert_equal(msg: Messages, got: Any, expected: Any, what: str) -> None:
    core = msg._core
    try:
        core.assert_equal(got, expected, what)
    except core.CheckFailed as exc:
        raise Failed(exc.message) from None


def compare(msg: Messages, case: dict, got: dict, rtol: float, atol: float) -> None:
    how = case.get("compare", {})
    for key, expected in case["expected"].items():
        what = case.get("labels", {}).get(key) or f"{case.get('what', case['runner'])}: {key}"
        if key not in got:
            raise Failed(msg.say("value", what=what, expected="a value", got="nothing"))
        mode = how.get(key, "close")
        value = got[key]
        if mode == "equal":
            assert_equal(msg, value, expected, what)
        elif mode == "any_of":
            errors = []
            for alternative in expected:
                try:
                    assert_close(msg, value, alternative, what, rtol, atol)
                    break
                except Failed as exc:
                    errors.append(exc.message)
            else:
                raise Failed(errors[0])
        elif mode == "close_dict":
            for name in expected:
                assert_close(msg, value.get(name) if isinstance(value, dict) else None, expected[name], f"{what}: {name!r}", rtol, atol)
        elif mode == "close_list":
            if not isinstance(value, list) or len(value) != len(expected):
                raise Failed(msg.say("value", what=f"{what}: number of entries", expected=len(expected), got=len(value) if isinstance(value, list) else type(value).__name__))
            for i, (v, e) in enumerate(zip(value, expected)):
                assert_close(msg, v, e, f"{what} [{i}]", rtol, atol)
        else:
            assert_close(msg, value, expected, what, case.get("rtol", rtol), case.get("atol", atol))


# ----------------------------------------------------------------------------- running


class Timeout(Exception):
    pass


def _alarm(seconds: int):
    if not hasattr(signal, "SIGALRM"):
        return None

    def handler(signum, frame):
        raise Timeout()

    previous = signal.signal(signal.SIGALRM, handler)
    signal.alarm(seconds)
    return previous


def _disarm(previous) -> None:
    if previous is not None:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def load_module(folder: Path, name: str, msg: Messages) -> tuple[types.ModuleType | None, str]:
    path = folder / f"{name}.py"
    if not path.is_file():
        found = ", ".join(sorted(p.name for p in folder.glob("q_*.*"))) or "none of the homework modules"
        if (folder / f"{name}.ipynb").is_file():
            return None, f"{name}.ipynb is a notebook: the self-check reads .py files only (export it as {name}.py to check it here; the autograder grades the notebook itself)."
        return None, msg.say("missing_module", module=name, found=found)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        message = f"{path.name}, line {exc.lineno}: {exc.msg}"
        return None, msg.say("syntax_error", module=name, message=message, code=(exc.text or "").rstrip())
    except BaseException as exc:  # anything the module does at import time
        sys.modules.pop(name, None)
        return None, msg.say("import_error", message=f"importing {name} raised {type(exc).__name__}: {exc}")
    return module, ""


def describe(exc: BaseException, msg: Messages, folder: Path) -> str:
    if isinstance(exc, NotImplementedError):
        return msg.say("not_implemented", detail=str(exc))
    if isinstance(exc, SelfcheckValueError):
        return str(exc)
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if os.path.realpath(f.filename).startswith(str(folder.resolve()) + os.sep)]
    text = msg.say("raised", type=type(exc).__name__, message=str(exc)[:500])
    if frames:
        text += "\n" + "".join(traceback.format_list(frames[-3:])).rstrip()
    return text


def likely_mistake(msg: Messages, case: dict, got: Any, rtol: float, atol: float) -> str:
    """The hint of the one catalogued mistake whose outputs on this example equal yours (as the
    autograder names it), or "" when none or several do."""
    if got is None:
        return ""
    matched = {}
    for mistake in case.get("mistakes", []):
        try:
            compare(msg, {**case, "expected": mistake["output"]}, got, rtol, atol)
        except Exception:  # noqa: BLE001 - not this mistake
            continue
        matched[mistake["mistake"]] = mistake["hint"]
    return next(iter(matched.values())) if len(matched) == 1 else ""


def run_checks(folder: Path, prefixes: tuple[str, ...], verbose: bool, data: dict) -> int:
    import warnings

    warnings.filterwarnings("ignore")
    msg = Messages(data["messages"])
    cases_by_check: dict[str, list[dict]] = {}
    for case in data["cases"]:
        cases_by_check.setdefault(case["check"], []).append(case)
    modules: dict[str, tuple[types.ModuleType | None, str]] = {}
    rows = [("check", "title", "points", "status", "message")]
    details = []
    total = earned = 0.0
    for check in data["checks"]:
        cid, part = check["id"], check["id"].split(".")[0]
        if prefixes and not any(cid.startswith(p) or part == p for p in prefixes):
            continue
        cases = cases_by_check.get(cid, [])
        points = float(check["points"])
        if not cases:
            rows.append((cid, check["title"][:44], f"-/{points:g}", "not here", "not checked locally (the autograder runs it)"))
            continue
        total += points
        name = check["module"]
        if name not in modules:
            modules[name] = load_module(folder, name, msg)
        module, problem = modules[name]
        status, message = "passed", msg.say("passed")
        if module is None:
            status, message = "failed", problem
        else:
            for case in cases:
                previous = _alarm(CASE_SECONDS)
                got = None
                try:
                    got = plain(RUNNERS[case["runner"]](module, **case["args"]))
                    compare(msg, case, got, check["rtol"], check["atol"])
                except Failed as exc:
                    status, message = "failed", exc.message
                    hint = likely_mistake(msg, case, got, check["rtol"], check["atol"])
                    if hint:
                        message += "\n" + msg.say("diagnosis", hint=hint)
                except Timeout:
                    status, message = "failed", msg.say("timeout", seconds=CASE_SECONDS)
                except Exception as exc:  # the student's code raised
                    status, message = "failed", describe(exc, msg, folder)
                finally:
                    _disarm(previous)
                if status == "failed":
                    break
        score = points if status == "passed" else 0.0
        earned += score
        rows.append((cid, check["title"][:44], f"{score:g}/{points:g}", status, message.strip().splitlines()[0][:90] if message.strip() else ""))
        if status == "failed":
            details.append((cid, message))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4])
    if verbose and details:
        print()
        for cid, message in details:
            print(f"--- {cid}\n{message.strip()}\n")
    print(f"Total: {earned:g} / {total:g} on the local examples (the autograder runs more inputs and hidden checks).")
    if details and not verbose:
        print("Run with -v to see each failing message in full.")
    return 0 if not details else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python selfcheck.py", description="Run the autograder's public examples on your Homework 7 modules, locally.")
    parser.add_argument("parts", nargs="*", help="only these parts or checks, e.g. 1a 2 5f (default: all)")
    parser.add_argument("--dir", type=Path, default=HERE, help="folder holding your q_*.py modules (default: this folder)")
    parser.add_argument("--data", type=Path, default=DATA, help=argparse.SUPPRESS)
    parser.add_argument("-v", "--verbose", action="store_true", help="print every failing message in full")
    args = parser.parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")
    data = json.loads(args.data.read_text(encoding="utf-8"))
    started = time.monotonic()
    code = run_checks(args.dir, tuple(args.parts), args.verbose, data)
    print(f"({time.monotonic() - started:.1f} s; examples generated for grader {data.get('grader_version')}, rubric {data.get('rubric_version')})")
    return code


if __name__ == "__main__":
    sys.exit(main())
