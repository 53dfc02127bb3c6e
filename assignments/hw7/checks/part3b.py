"""Part 3b (q_linear_autoencoder): hand-derived gradients of ||X - W2 W1 X||_F^2 and the PCA solution.

Gradients are compared with torch autograd computed here. The PCA solution is
judged by what makes it the PCA solution, whatever the sign or rotation of the
basis returned: both gradients vanish there (the reference's gradient function),
its loss is the sum of the discarded eigenvalues of X X^T, and W2 W1 and W2 W2^T
are the projector onto the top-k eigenvector subspace.
"""
from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st

from autograder.checks import check
from autograder.checks.compare import as_array
from autograder.checks.context import Ctx
from .reference import module

MODULE = "q_linear_autoencoder"


def ref():
    return module(MODULE)


seeds = st.integers(min_value=0, max_value=2**16)


def autograd_gradients(W1: np.ndarray, W2: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w1 = torch.tensor(W1, dtype=torch.float64, requires_grad=True)
    w2 = torch.tensor(W2, dtype=torch.float64, requires_grad=True)
    x = torch.tensor(X, dtype=torch.float64)
    loss = ((x - w2 @ (w1 @ x)) ** 2).sum()
    loss.backward()
    return w1.grad.numpy(), w2.grad.numpy()


@check("3b.1")
def gradients(ctx: Ctx) -> None:
    def test(ex):
        rng = np.random.default_rng(ex["seed"])
        m, k, n = ex["m"], ex["k"], ex["n"]
        W1, W2, X = rng.standard_normal((k, m)), rng.standard_normal((m, k)), rng.standard_normal((m, n))
        out = ctx.call("3b.gradients", W1=W1, W2=W2, X=X)
        expected_w1, expected_w2 = autograd_gradients(W1, W2, X)
        shapes = f"W1 {k}x{m}, W2 {m}x{k}, X {m}x{n}"
        ctx.close(out["dW1"], expected_w1, f"dL/dW1 from linear_ae_gradients ({shapes}; L = ||X - W2 W1 X||_F^2, shaped like W1)")
        ctx.close(out["dW2"], expected_w2, f"dL/dW2 from linear_ae_gradients ({shapes}; shaped like W2)")

    ctx.for_all(st.fixed_dictionaries({"m": st.integers(1, 6), "k": st.integers(1, 6), "n": st.integers(1, 8), "seed": seeds}), test)


def centred_data(seed: int, m: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X (m x n), zero-mean rows, with X X^T = Q diag(eigenvalues) Q^T known exactly and eigenvalues well separated.

    Returns X, the eigenvalues in descending order and the matching eigenvectors (columns of Q).
    """
    rng = np.random.default_rng(seed)
    rank = min(m, n - 1)
    eigenvalues = np.zeros(m)
    eigenvalues[:rank] = np.sort(50.0 * 0.6 ** np.arange(rank) * rng.uniform(0.9, 1.1, rank))[::-1]
    q, _ = np.linalg.qr(rng.standard_normal((m, m)))
    z = rng.standard_normal((n, rank))
    z -= z.mean(axis=0)  # columns orthogonal to the all-ones vector: every row of X has mean 0
    z, _ = np.linalg.qr(z)
    X = q[:, :rank] @ np.diag(np.sqrt(eigenvalues[:rank])) @ z.T
    return X, eigenvalues, q


@check("3b.2")
def pca_solution(ctx: Ctx) -> None:
    def test(ex):
        m, n = ex["m"], ex["m"] + ex["extra"]
        X, eigenvalues, q = centred_data(ex["seed"], m, n)
        k = min(ex["k"], m)
        out = ctx.call("3b.pca", X=X, k=k)
        W1, W2 = as_array(out["W1"], "W1 from pca_solution"), as_array(out["W2"], "W2 from pca_solution")
        where = f"pca_solution(X, {k}) for X of shape {X.shape}"
        if W1.shape != (k, m):
            ctx.fail("shape", what=f"W1 (the encoder U_k^T) from {where}", expected=(k, m), got=W1.shape)
        if W2.shape != (m, k):
            ctx.fail("shape", what=f"W2 (the decoder U_k) from {where}", expected=(m, k), got=W2.shape)
        W1, W2 = W1.astype(np.float64), W2.astype(np.float64)
        top = eigenvalues[0]
        dW1, dW2 = ref().linear_ae_gradients(W1, W2, X)
        ctx.close(dW1, np.zeros_like(dW1), f"dL/dW1 at the W1, W2 returned by {where} (a stationary point: both gradients vanish)", rtol=0, atol=1e-5 * top)
        ctx.close(dW2, np.zeros_like(dW2), f"dL/dW2 at the W1, W2 returned by {where}", rtol=0, atol=1e-5 * top)
        discarded = float(eigenvalues[k:].sum())
        ctx.close(ref().linear_ae_loss(W1, W2, X), discarded, f"loss ||X - W2 W1 X||_F^2 at {where} (the sum of the discarded eigenvalues of X X^T)", rtol=1e-5, atol=1e-6 * top)
        projector = q[:, :k] @ q[:, :k].T
        ctx.close(W2 @ W2.T, projector, f"W2 W2^T for {where}: the projector onto the span of the top-{k} eigenvectors of X X^T (orthonormal columns)", rtol=0, atol=1e-5)
        ctx.close(W2 @ W1, projector, f"W2 W1 for {where}: the same projector (W1 = W2^T)", rtol=0, atol=1e-5)

    ctx.for_all(st.fixed_dictionaries({"m": st.integers(1, 6), "extra": st.integers(0, 6), "k": st.integers(1, 6), "seed": seeds}), test)
