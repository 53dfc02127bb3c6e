"""Generate ``student_template/selfcheck_data.json``: the expected outputs of the self-check's public examples.

    python -m autograder kit            # (re)write the data file (and the kit's pack.py block)
    python -m autograder kit --check    # exit 1 if anything is out of date

Every case names a harness in ``student_template/selfcheck.py`` (``RUNNERS``) and
its fixed arguments. The expected output is that very harness run on the
reference module, so the student's side and the reference side call the code in
exactly the same way. Only VISIBLE rubric checks are included (cases of hidden
or unknown checks are dropped), and no reference code is written out: only
inputs, outputs, rubric titles/points and the message templates.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import sys
import tomllib
from pathlib import Path
from typing import Any

import numpy as np

from autograder import __version__
from autograder.config import PROJECT_ROOT

TEMPLATE = PROJECT_ROOT / "student_template"
OUT = TEMPLATE / "selfcheck_data.json"
MESSAGE_KEYS = ("passed", "not_implemented", "raised", "missing_module", "syntax_error", "import_error", "timeout", "shape", "nonfinite", "mismatch", "value", "diagnosis")


def _r(seed: int, *shape: int, scale: float = 1.0) -> list:
    """Fixed inputs, rounded so the JSON stays short (exactly representable after rounding)."""
    return np.round(np.random.default_rng(seed).standard_normal(shape) * scale, 3).tolist()


def _sym(n: int, seed: int) -> list:
    a = np.abs(np.random.default_rng(seed).standard_normal((n, n)))
    return np.round((a + a.T) / 2 + np.eye(n), 3).tolist()


def _blocks(n_per: int, k: int, seed: int) -> list:
    """A matrix whose top-k left singular vectors separate k clear groups."""
    rng = np.random.default_rng(seed)
    n = n_per * k
    M = np.full((n, n), 0.02) + rng.uniform(0, 0.01, (n, n))
    for b in range(k):
        M[b * n_per : (b + 1) * n_per, b * n_per : (b + 1) * n_per] += 1.0 + 0.3 * b
    return np.round(M, 4).tolist()


def _centred(m: int, n: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n)) * np.linspace(3, 0.5, m)[:, None]
    return np.round(X - X.mean(axis=1, keepdims=True), 4).tolist()


FACT_PRED = [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]
FACT_Y = [[-1.1, -1.2, -1.3], [-1.4, -1.5, -1.6]]
A3 = [[1.0, 0.5, 0.25], [0.5, 1.0, 2.0], [0.25, 2.0, 1.0]]


def cases() -> list[dict[str, Any]]:
    """(check, runner, args, labels, compare) for every public example."""
    c: list[dict[str, Any]] = []

    def add(check: str, runner: str, what: str, args: dict, labels: dict | None = None, compare: dict | None = None, **extra) -> None:
        c.append({"check": check, "runner": runner, "what": what, "args": args, "labels": labels or {}, "compare": compare or {}, **extra})

    # 1a
    add("1a.1", "rnn_layer_params", "RNNLayer(2, 3)", {"input_size": 2, "hidden_size": 3}, {"count": "number of parameters of RNNLayer(2, 3) (3*2 + 3*3 + 3: one bias vector)", "attributes": "RNNLayer(2, 3) attributes [input_size, hidden_size]"}, {"count": "equal", "attributes": "equal"})
    add("1a.1", "rnn_layer_params", "RNNLayer(4, 1)", {"input_size": 4, "hidden_size": 1}, {"count": "number of parameters of RNNLayer(4, 1)"}, {"count": "equal", "attributes": "equal"})
    add("1a.2", "rnn_layer_const", "RNNLayer(1, 1)", {"input_size": 1, "hidden_size": 1, "nonlinearity": "tanh", "value": 0.1, "x": [[[1.0]]]}, {"all_h": "all_h of RNNLayer(1, 1) with every parameter 0.1 on input ones(1,1,1) (tanh(0.2))", "last_h": "last_h of the same layer"})
    for i, nl in enumerate(("tanh", "relu", "identity")):
        add("1a.3", "rnn_layer_const", f"RNNLayer(2, 3, {nl})", {"input_size": 2, "hidden_size": 3, "nonlinearity": nl, "value": 0.15, "x": _r(10 + i, 2, 4, 2)}, {"all_h": f"all_h of RNNLayer(2, 3, {nl}) with every parameter 0.15 on a (2, 4, 2) input", "last_h": f"last_h of RNNLayer(2, 3, {nl})"})
    add("1a.4", "rnn_layer_h_list", "RNNLayer(2, 3)", {"input_size": 2, "hidden_size": 3, "value": 0.2, "x": _r(20, 2, 3, 2), "weights": _r(21, 2, 3, 3)}, {"length": "len(layer.h_list) after a forward pass over 3 steps", "grads": "gradient of sum(all_h * w) w.r.t. h_list"}, {"length": "equal", "grads": "close_list"})
    # 1b
    add("1b.1", "regression_params", "RecurrentRegressionModel(RNNLayer(2, 3), output_dim=4)", {"input_size": 2, "hidden_size": 3, "output_dim": 4}, {"count": "number of parameters of RecurrentRegressionModel(RNNLayer(2, 3), output_dim=4)"}, {"count": "equal"})
    add("1b.2", "regression_const", "RecurrentRegressionModel(RNNLayer(2, 3), output_dim=2)", {"net": "layer", "input_size": 2, "hidden_size": 3, "output_dim": 2, "value": 0.1, "x": _r(30, 2, 4, 2)}, {"out": "out (the read-out applied to every step's hidden state), every parameter 0.1", "all_h": "all_h (the recurrent net's first output)"})
    add("1b.3", "regression_const", "RecurrentRegressionModel(RNN(3, 4, 2), output_dim=2)", {"net": "rnn", "input_size": 3, "hidden_size": 4, "output_dim": 2, "value": 0.1, "x": _r(31, 2, 4, 3)}, {"out": "out when wrapping RNN(3, 4, 2), every parameter 0.1", "all_h": "all_h when wrapping RNN(3, 4, 2)"})
    # 1c
    add("1c.1", "loss", "loss_fn", {"pred": FACT_PRED, "y": FACT_Y, "last_timestep_only": False}, {"loss": "loss_fn(pred, y, last_timestep_only=False) on the homework's example"})
    add("1c.1", "loss", "loss_fn", {"pred": _r(40, 3, 5, 1), "y": _r(41, 3, 5, 1), "last_timestep_only": False}, {"loss": "loss_fn on inputs of shape (3, 5, 1), last_timestep_only=False"})
    add("1c.2", "loss", "loss_fn", {"pred": FACT_PRED, "y": FACT_Y, "last_timestep_only": True}, {"loss": "loss_fn(pred, y, last_timestep_only=True) on the homework's example"})
    add("1c.2", "loss", "loss_fn", {"pred": _r(42, 3, 5), "y": _r(43, 3, 5), "last_timestep_only": True}, {"loss": "loss_fn on inputs of shape (3, 5), last_timestep_only=True"})
    y = _r(44, 2, 4, 1)
    add("1c.3", "loss", "loss_fn", {"pred": y, "y": y, "last_timestep_only": False}, {"loss": "loss_fn(y, y, last_timestep_only=False) (a perfect prediction)"})
    moved = (np.asarray(y) + np.array([3.0, 3.0, 3.0, 0.0]).reshape(1, 4, 1)).tolist()
    add("1c.3", "loss", "loss_fn", {"pred": moved, "y": y, "last_timestep_only": True}, {"loss": "last-step loss when only earlier predictions are wrong (must be 0)"})
    # 1d
    for last, check in ((False, "1d.1"), (True, "1d.2")):
        add(check, "grad_norms", "hidden_grad_norms", {"input_size": 2, "hidden_size": 3, "value": 0.3, "x": _r(50, 2, 5, 2), "y": _r(51, 2, 5, 1), "last_timestep_only": last}, {"norms": f"hidden_grad_norms(..., last_timestep_only={last}) (||dL/dh_t|| for t = 1..5) of the autograder's stand-in model (a diagonal recurrence, a tanh read-out, a cubic loss), so that only hidden_grad_norms is checked"})
    add("1d.3", "scale", "scale_parameters", {"weight_scale": 2.0, "bias_scale": -0.5}, {"params": "parameters after scale_parameters(model, 2.0, -0.5) (names with 'weight' x2, 'bias' x-0.5, others unchanged)"}, {"params": "close_dict"})
    add("1d.3", "scale_layer", "scale_parameters on your RNNLayer", {"input_size": 2, "hidden_size": 3, "weight_scale": 2.0, "bias_scale": 3.0}, {"matrices": "how the matrix parameters of your own RNNLayer(2, 3) changed under scale_parameters(layer, 2.0, 3.0) (custom parameters count too, whatever their names)", "vectors": "how its vector parameters (the bias) changed"})
    wh = np.round(np.random.default_rng(60).standard_normal((3, 3)) * 0.5, 3).tolist()
    add("1d.4", "recurrent_weight", "recurrent_weight", {"input_size": 1, "hidden_size": 3, "value": 0.1, "wh": wh, "x": _r(61, 1, 4, 1)}, {"shape": "shape of recurrent_weight(RNNLayer(1, 3))", "all_h": "all_h after writing a known W^h into recurrent_weight(layer) (it must be the very matrix forward uses, oriented as W^h @ h)"}, {"shape": "equal"})
    add("1d.5", "linear_norms", "hidden_grad_norms of a linear RNN", {"hidden_size": 3, "value": 0.2, "x": _r(63, 2, 6, 1), "y": _r(64, 2, 6, 1)}, {"norms": "gradient norms of the autograder's linear stand-in RNN (diagonal W^h = 0.9 I), last-step loss"}, rtol=1e-3, atol=1e-6)
    # 1h
    for layers in (1, 3):
        add("1h.1", "rnn_stack", f"RNN(2, 3, {layers})", {"input_size": 2, "hidden_size": 3, "num_layers": layers, "value": 0.1, "x": _r(70 + layers, 2, 3, 2)}, {"layers": f"number of RNNLayer modules inside RNN(2, 3, {layers})", "count": f"number of parameters of RNN(2, 3, {layers})", "out": f"RNN(2, 3, {layers}) output, every parameter 0.1", "last": f"RNN(2, 3, {layers}) last_step_h (num_layers, B, H)"}, {"layers": "equal", "count": "equal"})
    add("1h.2", "rnn_stack", "RNN(3, 4, 2)", {"input_size": 3, "hidden_size": 4, "num_layers": 2, "value": -0.2, "x": _r(75, 2, 5, 3)}, {"out": "RNN(3, 4, 2) output, every parameter -0.2", "last": "RNN(3, 4, 2) last_step_h"}, {"layers": "equal", "count": "equal"})
    # 2
    add("2.1", "letter_to_index", "letterToIndex", {"letters": "abcxyzABCXYZ .,;'"}, {"indices": "letterToIndex(c) for c in \"abcxyzABCXYZ .,;'\" (positions in all_letters)"}, {"indices": "equal"})
    add("2.2", "classifier_state", "RecurrentClassifier(11, 13, 17, 2, 0.1, 'rnn')", {"args": [11, 13, 17, 2, 0.1]}, {"keys": "state_dict keys of RecurrentClassifier(11, 13, 17, 2, 0.1, 'rnn'), in order (embedding, rnn, drop, output)", "shapes": "state_dict shapes of the same model"}, {"keys": "equal", "shapes": "equal"})
    x = [[0, 1, 2, 57, 57], [3, 4, 5, 6, 7], [8, 57, 57, 57, 57]]
    add("2.3", "classifier_forward", "RecurrentClassifier(58, 8, 18, 1, 0.0, 'rnn')", {"args": [58, 8, 18, 1, 0.0], "seed": 3, "x": x, "last_pos": [2, 4, 0]}, {"logits": "logits of RecurrentClassifier(58, 8, 18) right after torch.manual_seed(3), eval mode, on a padded batch (read each name's output at last_pos, not at the padding)"})
    add("2.3", "classifier_forward", "RecurrentClassifier(58, 6, 5, 2, 0.0, 'rnn')", {"args": [58, 6, 5, 2, 0.0], "seed": 4, "x": x, "last_pos": [2, 4, 0]}, {"logits": "logits of a 2-layer RecurrentClassifier(58, 6, 5, 2) right after torch.manual_seed(4)"})
    # 3a
    add("3a.1", "ae_state", "Autoencoder(7, [5, 4])", {"input_size": 7, "hidden_sizes": [5, 4], "seed": 2017}, {"keys": "state_dict() keys of Autoencoder(7, [5, 4])", "values": "state_dict() values right after torch.manual_seed(2017) (decoder Linear layers created in order, from the latent side)"}, {"keys": "equal", "values": "close_list"})
    add("3a.2", "ae_forward", "Autoencoder(6, [4, 2], Tanh)", {"input_size": 6, "hidden_sizes": [4, 2], "seed": 5, "x": _r(80, 3, 6)}, {"out": "Autoencoder(6, [4, 2], nn.Tanh)(x) right after torch.manual_seed(5) (decoder(encoder(x)))", "x_after": "x after forward (forward must not modify its input)"})
    add("3a.3", "ae_loss_fact", "Autoencoder.loss", {"model_seed": 2017, "x_seed": 2022}, {"loss": "Autoencoder.loss(x, x_hat) on the homework's example (seeds 2017 and 2022): squared error summed over features, averaged over the batch"})
    add("3a.3", "ae_loss", "Autoencoder.loss", {"x": _r(81, 4, 3), "x_hat": _r(82, 4, 3)}, {"loss": "Autoencoder.loss(x, x_hat) for a batch of shape (4, 3)"})
    for kind, check in (("denoising", "3a.4"), ("masked", "3a.5")):
        knob = "noise_std=0" if kind == "denoising" else "mask_prob=0"
        add(check, "ae_step", f"{kind} train_step", {"kind": kind, "input_size": 5, "hidden_sizes": [3], "seed": 9, "x": _r(83, 8, 5), "lr": 0.1}, {"loss": f"loss returned by {kind.capitalize()}Autoencoder(5, [3], {knob}).train_step (with no corruption, and the model's loss replaced by a mean absolute error, it is that loss)", "x_after": "x after train_step (corrupt a copy; never modify x in place)", "params": "parameters after one SGD step (lr 0.1) on that loss: zero_grad, backward, step"}, {"params": "close_list"})
    add("3a.6", "ae_accuracy_fact", "Experiment._get_model_accuracy", {}, {"accuracy": "Experiment._get_model_accuracy(nn.Linear(4, 2)) on the homework's example (set_seed(2017), SyntheticDataset(7, 800, [0.4, 0.1, 0.5], 2, 15, 10))"}, rtol=0.0, atol=1e-6)
    add("3a.7", "plot_single", "plot_single", {"values": [[0.5, 0.7, 0.8, 0.9], [0.4, 0.75, 0.7, 0.95], [0.6, 0.65, 0.9, 0.85]], "feats_dim": 20}, {"line_x": "x data of the line (epochs 1..4)", "line_y": "y data of the line (mean over runs)", "label": "the line's label (str(feats_dim))", "marker": "a marker on every epoch", "bands": "number of fill_between bands"}, {"label": "equal", "marker": "equal", "bands": "equal"})
    # 3b
    add("3b.1", "lae_gradients", "linear_ae_gradients", {"W1": _r(90, 2, 4), "W2": _r(91, 4, 2), "X": _r(92, 4, 6)}, {"dW1": "dL/dW1 from linear_ae_gradients (W1 2x4, W2 4x2, X 4x6; L = ||X - W2 W1 X||_F^2)", "dW2": "dL/dW2 from linear_ae_gradients"})
    add("3b.2", "pca_projector", "pca_solution", {"X": _centred(4, 9, 93), "k": 2}, {"W1_shape": "shape of W1 from pca_solution(X, 2) (k x m)", "W2_shape": "shape of W2 (m x k)", "W2W1": "W2 @ W1: the projector onto the top-2 eigenvectors of X X^T (any basis is accepted)", "W2W2T": "W2 @ W2.T (the same projector)"}, {"W1_shape": "equal", "W2_shape": "equal"}, atol=1e-6)
    # 5
    X5 = np.round(np.random.default_rng(100).standard_normal((6, 2)), 3).tolist()
    add("5c.1", "adjacency", "get_adjacency_matrix", {"gamma": 0.5, "X": X5}, {"A": "get_adjacency_matrix(0.5, X) for 6 points in the plane (A_ij = exp(-gamma ||x_i - x_j||^2))"})
    add("5c.2", "adjacency", "get_adjacency_matrix", {"gamma": 7.5, "X": np.round(np.random.default_rng(101).uniform(-1, 1, (5, 3)), 3).tolist()}, {"A": "get_adjacency_matrix(7.5, X) for 5 points in 3-D (symmetric, unit diagonal)"})
    add("5d.1", "degree", "get_degree_matrix", {"A": A3}, {"D": "get_degree_matrix(A) for A = [[1, 0.5, 0.25], [0.5, 1, 2], [0.25, 2, 1]] (diag of column sums; D^(-1/2) is accepted too)"}, {"D": "any_of"})
    add("5e.1", "normalize", "normalize_adjacency", {"A": A3}, {"M": "normalize_adjacency(A) for A = [[1, 0.5, 0.25], [0.5, 1, 2], [0.25, 2, 1]] (M = D^-1/2 A D^-1/2)"})
    add("5e.1", "normalize", "normalize_adjacency", {"A": _sym(5, 102)}, {"M": "normalize_adjacency(A) for a symmetric 5x5 weight matrix"})
    blocks = _blocks(4, 3, 103)
    add("5f.1", "cluster", "cluster_data", {"M": blocks, "n_clusters": 3, "seed": 170}, {"embedding_shape": "shape of cluster_data(M, 3, 170)[0] (n rows, one column per cluster)", "projector": "projector onto the span of the embedding, against the top-3 LEFT singular vectors of M (any basis is accepted)"}, {"embedding_shape": "equal"}, atol=1e-6)
    add("5f.2", "cluster", "cluster_data", {"M": blocks, "n_clusters": 3, "seed": 170}, {"partition": "cluster_data(M, 3, 170)[1]: the labels, up to renaming the clusters (KMeans on the embedding rows)"}, {"partition": "equal"}, only=["partition"])
    add("5g.1", "stochastic", "stochastic_matrix_converter", {"M": [[1.0, 2.0], [3.0, 4.0]]}, {"S": "stochastic_matrix_converter(M) for M = [[1, 2], [3, 4]] (each COLUMN divided by its sum)"})
    add("5g.1", "stochastic", "stochastic_matrix_converter", {"M": np.round(np.random.default_rng(104).uniform(0, 2, (4, 4)), 3).tolist()}, {"S": "stochastic_matrix_converter(M) for a non-symmetric 4x4 M"})
    return c


def load_selfcheck():
    spec = importlib.util.spec_from_file_location("hw7_selfcheck", TEMPLATE / "selfcheck.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reference_module(name: str):
    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))
    return importlib.import_module(f"reference.{name}")


def _degree_alternatives(D: list) -> list:
    d = np.diag(np.asarray(D, dtype=np.float64))
    return [D, np.diag(d ** -0.5).tolist()]


def _run_mutant(selfcheck, sources: dict[str, str], name: str, module_name: str, case: dict, seed: int) -> dict:
    import random
    import types

    import torch

    from autograder.diagnosis import quietly

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    module = types.ModuleType(module_name)
    saved = sys.modules.get(module_name)
    sys.modules[module_name] = module
    try:
        with quietly():
            exec(compile(sources[module_name], f"<{name}>/{module_name}.py", "exec"), module.__dict__)
            return selfcheck.plain(selfcheck.RUNNERS[case["runner"]](module, **case["args"]))
    finally:
        if saved is None:
            sys.modules.pop(module_name, None)
        else:
            sys.modules[module_name] = saved


def _mistakes(selfcheck, msg, check, case: dict) -> list[dict]:
    """The outputs of the catalogued mistakes of this check on this example (autograder/diagnosis.py's
    suspects), for the self-check's hints. Left out: those that pass the example (no hint to give)
    and those whose outputs change with the random state (nobody's would equal them)."""
    from autograder.diagnosis import mutant_sources, suspects_for

    out = []
    for suspect in suspects_for(case["check"]):
        if suspect.module != check.module or not suspect.hint:
            continue
        sources = mutant_sources(PROJECT_ROOT / "reference", suspect, check.module)
        try:
            got, again = (_run_mutant(selfcheck, sources, suspect.name, check.module, case, seed) for seed in (0, 1))
        except Exception:  # noqa: BLE001 - a mistake that raises here is told by its exception, not its outputs
            continue
        if json.dumps(got, sort_keys=True, default=str) != json.dumps(again, sort_keys=True, default=str):
            continue  # its outputs depend on the random state: nobody's outputs would equal them
        output = {k: got.get(k) for k in case["expected"]}
        if case["compare"].get("D") == "any_of":
            output["D"] = [output["D"]]
        try:
            selfcheck.compare(msg, case, got, check.rtol, check.atol)
            continue  # passes this example: no hint to give here
        except selfcheck.Failed:
            pass
        except Exception:  # noqa: BLE001 - a reply the comparison cannot read is not a hint either
            continue
        out.append({"mistake": suspect.family, "hint": suspect.hint, "output": output})
    return out


def generate(rubric_path: Path | None = None, log=lambda s: print(s, file=sys.stderr)) -> dict[str, Any]:
    """Build the data (does not write it)."""
    from autograder import rubric as rubric_mod

    rubric = rubric_mod.load(rubric_path or rubric_mod.default_path())
    visible = {c.id: c for c in rubric.checks if c.visibility == "visible"}
    hidden = {c.id for c in rubric.checks if c.visibility != "visible"}
    selfcheck = load_selfcheck()
    messages = tomllib.loads((PROJECT_ROOT / "autograder" / "messages.toml").read_text(encoding="utf-8"))
    out_cases = []
    dropped: dict[str, str] = {}
    for case in cases():
        check = visible.get(case["check"])
        if check is None:
            dropped[case["check"]] = "hidden" if case["check"] in hidden else "not in the rubric"
            continue
        if not (PROJECT_ROOT / "reference" / f"{check.module}.py").is_file():
            dropped[case["check"]] = f"reference/{check.module}.py is missing"
            continue
        module = reference_module(check.module)
        got = selfcheck.plain(selfcheck.RUNNERS[case["runner"]](module, **case["args"]))
        keep = case.pop("only", None)
        expected = {k: v for k, v in got.items() if keep is None or k in keep}
        if case["compare"].get("D") == "any_of":
            expected["D"] = _degree_alternatives(expected["D"])
        # the reference must pass its own example (guards against a harness bug)
        selfcheck.compare(selfcheck.Messages(messages), {**case, "expected": expected}, got, check.rtol, check.atol)
        mistakes = _mistakes(selfcheck, selfcheck.Messages(messages), check, {**case, "expected": expected}) if check.hints else []
        out_cases.append({**case, "expected": expected, **({"mistakes": mistakes} if mistakes else {})})
    by_reason: dict[str, list[str]] = {}
    for cid, why in dropped.items():
        by_reason.setdefault(why, []).append(cid)
    for why, ids in sorted(by_reason.items()):
        log(f"selfcheck_data: dropped the examples of {', '.join(ids)} ({why})")
    used = {c["check"] for c in out_cases}
    checks = [
        {"id": c.id, "title": c.title, "points": c.points, "module": c.module, "rtol": c.rtol, "atol": c.atol}
        for c in rubric.checks
        if c.visibility == "visible"
    ]
    missing = [c["id"] for c in checks if c["id"] not in used]
    if missing:
        log(f"selfcheck_data: visible checks without a local example (shown as 'not here'): {', '.join(missing)}")
    return {
        "about": "Expected outputs of the Homework 7 self-check's public examples. Generated by assignments/hw7/selfcheck_data.py (python -m autograder kit); do not edit.",
        "grader_version": __version__,
        "rubric_version": rubric.grader.version,
        "messages": {k: messages[k] for k in MESSAGE_KEYS},
        "checks": checks,
        "cases": out_cases,
    }


def same(a: Any, b: Any, rtol: float = 1e-9, atol: float = 1e-12) -> bool:
    """``a`` and ``b`` are the same data, floats equal to the last few bits.

    The reference's outputs differ in their last digits from one machine's BLAS to another's
    (AMD and Intel kernels sum in different orders), which no self-check tolerance notices:
    such a file is not out of date.
    """
    if isinstance(a, bool) or isinstance(b, bool) or isinstance(a, str) or a is None:
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if isinstance(a, int) and isinstance(b, int):
            return a == b
        return abs(a - b) <= atol + rtol * max(abs(a), abs(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same(a[k], b[k], rtol, atol) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y, rtol, atol) for x, y in zip(a, b))
    return False


def dumps(data: dict) -> str:
    return json.dumps(data, indent=1, sort_keys=False, allow_nan=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder kit", description="Generate student_template/selfcheck_data.json from the reference and the rubric.")
    parser.add_argument("--out", type=Path, default=OUT, help="where to write (default: student_template/selfcheck_data.json)")
    parser.add_argument("--rubric", type=Path, default=None, help="an alternative rubric.toml")
    parser.add_argument("--check", action="store_true", help="do not write: exit 1 if the file differs from what would be generated")
    args = parser.parse_args(argv)
    text = dumps(generate(args.rubric))
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.is_file() else ""
        try:
            fresh = current == text or same(json.loads(current), json.loads(text))
        except ValueError:  # not JSON at all
            fresh = False
        if not fresh:
            print(f"{args.out} is out of date: run python -m autograder kit", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date.")
        return 0
    args.out.write_text(text, encoding="utf-8")
    data = json.loads(text)
    print(f"Wrote {args.out}: {len(data['cases'])} cases for {len({c['check'] for c in data['cases']})} of {len(data['checks'])} visible checks ({len(text)} bytes).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
