"""Worker-side probes for part 3b (q_linear_autoencoder): call the student's functions, return raw arrays."""
from __future__ import annotations

import numpy as np

from .convert import pair, plain
from autograder.probes.registry import probe, student

MODULE = "q_linear_autoencoder"


def _f64(value) -> np.ndarray:
    return np.array(value, dtype=np.float64, copy=True)


@probe("3b.gradients")
def gradients(W1, W2, X) -> dict:
    grad_w1, grad_w2 = pair(student(MODULE).linear_ae_gradients(_f64(W1), _f64(W2), _f64(X)), "linear_ae_gradients(W1, W2, X)")
    return {"dW1": plain(grad_w1, "dL/dW1"), "dW2": plain(grad_w2, "dL/dW2")}


@probe("3b.pca")
def pca(X, k: int) -> dict:
    W1, W2 = pair(student(MODULE).pca_solution(_f64(X), int(k)), "pca_solution(X, k)")
    return {"W1": plain(W1, "W1 returned by pca_solution"), "W2": plain(W2, "W2 returned by pca_solution")}
