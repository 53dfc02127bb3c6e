"""Worker-side probes that run the student's own plotting code and return the PNG it drew.

Used by ``python -m autograder report --plots`` (``autograder/plots.py``), never by
grading. Each probe calls the homework's plotting function on inputs sent by the
trusted side, saves the figure into the worker's scratch folder and returns the
file's bytes as a uint8 array; the trusted side validates and re-encodes them.
Nothing here is a solution or an expected value.
"""
from __future__ import annotations

import inspect
import os
import tempfile
from typing import Any

import numpy as np

from autograder.probes.registry import ProbeError, probe, student

MAX_PNG_BYTES = 8 * 1024 * 1024


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _scratch(name: str) -> str:
    return os.path.join(tempfile.gettempdir(), name)


def _png(path: str, what: str) -> dict:
    if not os.path.isfile(path):
        raise ProbeError("bad_value", f"{what} did not write a PNG file")
    size = os.path.getsize(path)
    if size > MAX_PNG_BYTES:
        raise ProbeError("bad_value", f"{what} wrote {size} bytes, more than {MAX_PNG_BYTES}")
    with open(path, "rb") as handle:
        data = handle.read(MAX_PNG_BYTES + 1)
    return {"png": np.frombuffer(data, dtype=np.uint8).copy()}


def _function(module: str, name: str):
    fn = getattr(student(module), name, None)
    if not callable(fn):
        raise ProbeError("bad_value", f"{module} has no function {name}()")
    return fn


def _accepted(fn, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments ``fn`` accepts (a notebook version may take fewer)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return kwargs
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return kwargs
    return {k: v for k, v in kwargs.items() if k in params}


def _save_current(path: str, dpi: int) -> None:
    plt = _pyplot()
    numbers = plt.get_fignums()
    if not numbers:
        raise ProbeError("bad_value", "the plotting function drew no matplotlib figure")
    figure = plt.figure(numbers[-1])
    figure.savefig(path, dpi=dpi)


@probe("plots.gradient_flow")
def gradient_flow(hidden_size: int, weight_scales: list, seq_len: int, last_timestep_only: bool, seed: int) -> dict:
    """1d: q_rnn_and_grad.plot_gradient_flow (which runs the student's RNNLayer, scale_parameters, hidden_grad_norms)."""
    plt = _pyplot()
    plt.close("all")
    fn = _function("q_rnn_and_grad", "plot_gradient_flow")
    path = _scratch("gradient_flow.png")
    kwargs = _accepted(fn, {"hidden_size": hidden_size, "weight_scales": tuple(weight_scales), "seq_len": seq_len, "last_timestep_only": last_timestep_only, "path": path, "seed": seed})
    returned = fn(**kwargs)
    if "path" not in kwargs:
        if isinstance(returned, str) and os.path.isfile(returned):
            path = returned
        else:
            _save_current(path, 100)
    plt.close("all")
    return _png(path, "plot_gradient_flow(...)")


@probe("plots.latent_curves")
def latent_curves(curves: list, ylabel: str, title: str) -> dict:
    """3a: q_autoencoder.plot_single, once per latent size, on the current axes of one figure."""
    plt = _pyplot()
    plt.close("all")
    fn = _function("q_autoencoder", "plot_single")
    figure = plt.figure(figsize=(6.4, 4.2))
    for curve in curves:
        fn(np.asarray(curve["values"], dtype=np.float64), int(curve["latent"]))
    ax = figure.gca()
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(title="latent size")
    path = _scratch("latent_curves.png")
    figure.savefig(path, dpi=100)
    plt.close("all")
    return _png(path, "plot_single(...)")


@probe("plots.clusters")
def clusters(X: Any, gamma: float, n_clusters: int, seed: int, stochastic: bool, title: str) -> dict:
    """5f/5g: the student's graph pipeline on the point cloud X, drawn by their show_data_results.

    A = get_adjacency_matrix(gamma, X), M = normalize_adjacency(A), optionally
    M = stochastic_matrix_converter(M), labels = cluster_data(M, n_clusters, seed)[1].
    """
    plt = _pyplot()
    plt.close("all")
    points = np.asarray(X, dtype=np.float64)
    A = _function("q_graph_clustering", "get_adjacency_matrix")(gamma, points)
    M = _function("q_graph_clustering", "normalize_adjacency")(A)
    if stochastic:
        M = _function("q_graph_clustering", "stochastic_matrix_converter")(M)
    out = _function("q_graph_clustering", "cluster_data")(M, n_clusters, seed)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise ProbeError("bad_value", f"cluster_data(...) should return (embedding, labels); got {type(out).__name__}")
    labels = np.asarray(out[1])
    if labels.shape != (points.shape[0],):
        raise ProbeError("bad_value", f"cluster_data(...) labels should have shape ({points.shape[0]},); got {labels.shape}")
    fn = _function("q_graph_clustering", "show_data_results")
    path = _scratch("clusters.png")
    returned = fn(points, labels, path, **_accepted(fn, {"title": title}))
    if not os.path.isfile(path):
        if isinstance(returned, str) and os.path.isfile(returned):
            path = returned
        else:
            _save_current(path, 100)
    plt.close("all")
    return _png(path, "show_data_results(...)")
