"""Homework 7, question 3b: linear autoencoders and PCA.

A linear autoencoder with encoder W1 (k x m) and decoder W2 (m x k) is trained
on data X (m x n, one sample per column, zero-centred) with the loss
L(W1, W2) = ||X - W2 W1 X||_F^2. The PCA solution W1 = U_k^T, W2 = U_k (top-k
eigenvectors of X X^T) is a stationary point whose loss is the sum of the
discarded eigenvalues. All arrays are NumPy float64.
"""
from __future__ import annotations

import numpy as np


def linear_ae_loss(W1: np.ndarray, W2: np.ndarray, X: np.ndarray) -> float:
    """Reconstruction loss ||X - W2 W1 X||_F^2 of the linear autoencoder."""
    R = X - W2 @ (W1 @ X)
    return float(np.sum(R * R))


def linear_ae_gradients(W1: np.ndarray, W2: np.ndarray,
                        X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (dL/dW1, dL/dW2) for L = ||X - W2 W1 X||_F^2, shaped like W1 (k x m)
    and W2 (m x k); X is m x n. Derive them by hand (no autograd).
    """
    W1 = np.asarray(W1, dtype=np.float64)
    W2 = np.asarray(W2, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    R = X - W2 @ (W1 @ X)            # residual, m x n
    RXt = R @ X.T                    # m x m
    grad_W1 = -2.0 * W2.T @ RXt      # k x m
    grad_W2 = -2.0 * RXt @ W1.T      # m x k
    return grad_W1, grad_W2


def pca_solution(X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (W1, W2) = (U_k^T, U_k), where the columns of U_k (m x k) are the
    eigenvectors of X X^T with the k largest eigenvalues (X is zero-centred,
    m x n). Each eigenvector's sign is fixed so its largest-magnitude entry is
    positive, making the result deterministic.
    """
    X = np.asarray(X, dtype=np.float64)
    if not 0 <= k <= X.shape[0]:
        raise ValueError(f"k must be in [0, {X.shape[0]}], got {k}")
    eigvals, eigvecs = np.linalg.eigh(X @ X.T)   # ascending eigenvalues
    U_k = eigvecs[:, ::-1][:, :k].copy()
    if k:
        pivots = np.argmax(np.abs(U_k), axis=0)
        signs = np.sign(U_k[pivots, np.arange(k)])
        signs[signs == 0] = 1.0
        U_k *= signs
    return U_k.T.copy(), U_k
