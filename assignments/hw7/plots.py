"""Homework 7's demonstration plots for ``report --plots``: each draws with the student's own code.

1d gradient flow (``plot_gradient_flow``), 3a latent-size curves (``plot_single``), 5f/5g
cluster scatter plots (``show_data_results`` of the student's own adjacency ->
normalisation -> [stochastic] -> ``cluster_data`` pipeline). The probes are in
``probes/plots.py``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from autograder.plots import PlotSpec


def _latent_args(kind: str) -> dict[str, Any]:
    """Fixed demonstration curves (3 runs x 10 epochs per latent size): the plot shows how plot_single draws."""
    rng = np.random.default_rng(7)
    epochs = np.arange(1, 11)
    curves = []
    for latent, level in ((5, 0.55), (20, 0.35), (50, 0.25), (100, 0.2)):
        base = level + 0.6 * np.exp(-epochs / 3.0) if kind == "loss" else 95 - 40 * level - 30 * np.exp(-epochs / 3.0)
        runs = base + rng.normal(0, 0.03 if kind == "loss" else 1.5, size=(3, epochs.size))
        curves.append({"latent": latent, "values": runs})
    ylabel = "validation loss" if kind == "loss" else "linear-probe accuracy (%)"
    return {"curves": curves, "ylabel": ylabel, "title": f"plot_single on fixed demonstration curves ({ylabel})"}


def _blobs(n: int = 1500, seed: int = 170) -> np.ndarray:
    """The homework's anisotropic blobs (make_blobs through the fixed linear map), smaller."""
    from sklearn.datasets import make_blobs

    X, _ = make_blobs(n_samples=n, centers=3, random_state=seed)
    transformation = np.array([[-0.60834549, -0.63667341], [0.40887718, 0.85253229]])
    return np.asarray(X @ transformation, dtype=np.float64)


def _cluster_args(stochastic: bool) -> dict[str, Any]:
    what = "column-stochastic M" if stochastic else "M = D^-1/2 A D^-1/2"
    return {"X": _blobs(), "gamma": 7.5, "n_clusters": 3, "seed": 170, "stochastic": stochastic, "title": f"spectral clustering of {what}"}


PLOTS: tuple[PlotSpec, ...] = (
    PlotSpec(
        "1d_gradient_flow", "1d", "q_rnn_and_grad", "plots.gradient_flow",
        "1d: plot_gradient_flow() with your RNNLayer, scale_parameters and hidden_grad_norms (hidden size 16, 30 steps, last-step loss)",
        lambda: {"hidden_size": 16, "weight_scales": [0.5, 1.0, 2.0, 4.0], "seq_len": 30, "last_timestep_only": True, "seed": 0},
    ),
    PlotSpec("3a_latent_loss", "3a", "q_autoencoder", "plots.latent_curves", "3a: your plot_single() drawing validation-loss curves per latent size (fixed demonstration data)", lambda: _latent_args("loss")),
    PlotSpec("3a_latent_accuracy", "3a", "q_autoencoder", "plots.latent_curves", "3a: your plot_single() drawing linear-probe accuracy per latent size (fixed demonstration data)", lambda: _latent_args("accuracy")),
    PlotSpec("5f_clusters_M", "5f", "q_graph_clustering", "plots.clusters", "5f: show_data_results() of your cluster_data() on M = D^-1/2 A D^-1/2 (1500 points from the anisotropic blobs, gamma 7.5)", lambda: _cluster_args(False)),
    PlotSpec("5g_clusters_stochastic", "5g", "q_graph_clustering", "plots.clusters", "5g: show_data_results() of your cluster_data() on the column-stochastic M (same points)", lambda: _cluster_args(True)),
)


