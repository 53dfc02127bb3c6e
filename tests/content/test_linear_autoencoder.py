"""Facts about reference/q_linear_autoencoder.py (homework 7, part 3b) that the grader relies on."""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from reference import q_linear_autoencoder as qla

ROOT = Path(__file__).resolve().parents[2]

STUDENT_PARTS = {"linear_ae_gradients": "3b", "pca_solution": "3b"}


def test_template_blanks_exactly_the_3b_parts_and_keeps_provided_code_byte_identical() -> None:
    ref_src = (ROOT / "reference" / "q_linear_autoencoder.py").read_text()
    tpl_src = (ROOT / "student_template" / "q_linear_autoencoder.py").read_text()
    ref_fns = {n.name: n for n in ast.parse(ref_src).body if isinstance(n, ast.FunctionDef)}
    tpl_fns = {n.name: n for n in ast.parse(tpl_src).body if isinstance(n, ast.FunctionDef)}
    assert set(ref_fns) == set(tpl_fns) == {"linear_ae_loss", *STUDENT_PARTS}
    ref_lines, tpl_lines = ref_src.splitlines(keepends=True), tpl_src.splitlines(keepends=True)
    for name in sorted(STUDENT_PARTS, key=lambda n: -ref_fns[n].lineno):
        r, t = ref_fns[name], tpl_fns[name]
        assert ast.get_docstring(r) and ast.get_docstring(r) == ast.get_docstring(t)
        assert ast.dump(r.args) == ast.dump(t.args) and ast.dump(r.returns) == ast.dump(t.returns)
        assert len(t.body) == 2 and t.body[1].exc.args[0].value == f"3b: implement {name}"
        ref_lines[r.body[0].end_lineno:r.end_lineno] = tpl_lines[t.body[0].end_lineno:t.end_lineno]
    assert "".join(ref_lines) == tpl_src


def _problem(m: int, n: int, k: int, seed: int):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((k, m)), rng.standard_normal((m, k)), rng.standard_normal((m, n))


def test_loss_helper_is_the_squared_frobenius_reconstruction_error() -> None:
    W1, W2, X = _problem(5, 9, 2, 0)
    assert qla.linear_ae_loss(W1, W2, X) == pytest.approx(np.linalg.norm(X - W2 @ W1 @ X, "fro") ** 2)


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 8), n=st.integers(1, 12), k=st.integers(1, 6), seed=st.integers(0, 2**32 - 1))
def test_gradients_match_torch_autograd_on_random_shapes(m: int, n: int, k: int, seed: int) -> None:
    W1, W2, X = _problem(m, n, k, seed)
    g1, g2 = qla.linear_ae_gradients(W1, W2, X)
    assert g1.shape == W1.shape and g2.shape == W2.shape
    assert g1.dtype == np.float64 and g2.dtype == np.float64
    t1 = torch.tensor(W1, requires_grad=True)
    t2 = torch.tensor(W2, requires_grad=True)
    loss = ((torch.tensor(X) - t2 @ t1 @ torch.tensor(X)) ** 2).sum()
    loss.backward()
    np.testing.assert_allclose(g1, t1.grad.numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(g2, t2.grad.numpy(), rtol=1e-9, atol=1e-9)


def test_gradients_agree_with_central_finite_differences() -> None:
    W1, W2, X = _problem(4, 7, 2, 3)
    g1, g2 = qla.linear_ae_gradients(W1, W2, X)
    eps = 1e-6
    for W, g, which in ((W1, g1, 0), (W2, g2, 1)):
        for idx in np.ndindex(W.shape):
            plus, minus = W.copy(), W.copy()
            plus[idx] += eps
            minus[idx] -= eps
            args_p = (plus, W2) if which == 0 else (W1, plus)
            args_m = (minus, W2) if which == 0 else (W1, minus)
            fd = (qla.linear_ae_loss(*args_p, X) - qla.linear_ae_loss(*args_m, X)) / (2 * eps)
            assert g[idx] == pytest.approx(fd, rel=1e-5, abs=1e-5)


def test_gradients_do_not_modify_their_inputs() -> None:
    W1, W2, X = _problem(3, 5, 2, 1)
    copies = [a.copy() for a in (W1, W2, X)]
    qla.linear_ae_gradients(W1, W2, X)
    for a, c in zip((W1, W2, X), copies):
        np.testing.assert_array_equal(a, c)


def _centred(m: int, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, m)) @ rng.standard_normal((m, n)) * rng.uniform(0.5, 3, (m, 1))
    return X - X.mean(axis=1, keepdims=True)


@pytest.mark.parametrize("m, n, k, seed", [(6, 50, 2, 0), (10, 200, 3, 1), (5, 40, 1, 2), (8, 30, 8, 3), (4, 25, 0, 4)])
def test_pca_solution_is_transposed_orthonormal_top_eigenvectors(m: int, n: int, k: int, seed: int) -> None:
    X = _centred(m, n, seed)
    W1, W2 = qla.pca_solution(X, k)
    assert W1.shape == (k, m) and W2.shape == (m, k)
    np.testing.assert_allclose(W1, W2.T)
    np.testing.assert_allclose(W1 @ W2, np.eye(k), atol=1e-10)
    eigvals = np.sort(np.linalg.eigvalsh(X @ X.T))[::-1]
    np.testing.assert_allclose(np.diag(W1 @ X @ X.T @ W2), eigvals[:k], rtol=1e-8)


@pytest.mark.parametrize("m, n, k, seed", [(6, 50, 2, 0), (10, 200, 3, 1), (5, 40, 1, 2), (8, 30, 8, 3)])
def test_at_the_pca_solution_gradients_vanish_and_loss_is_sum_of_discarded_eigenvalues(m, n, k, seed) -> None:
    X = _centred(m, n, seed)
    W1, W2 = qla.pca_solution(X, k)
    g1, g2 = qla.linear_ae_gradients(W1, W2, X)
    scale = np.linalg.norm(X) ** 2
    assert np.abs(g1).max() < 1e-9 * scale and np.abs(g2).max() < 1e-9 * scale
    eigvals = np.sort(np.linalg.eigvalsh(X @ X.T))[::-1]
    assert qla.linear_ae_loss(W1, W2, X) == pytest.approx(eigvals[k:].sum(), rel=1e-8, abs=1e-8 * scale)


def test_pca_loss_is_no_worse_than_any_other_rank_k_orthogonal_projection() -> None:
    X = _centred(7, 80, 5)
    W1, W2 = qla.pca_solution(X, 3)
    best = qla.linear_ae_loss(W1, W2, X)
    rng = np.random.default_rng(0)
    for _ in range(50):
        Q = np.linalg.qr(rng.standard_normal((7, 3)))[0]
        assert qla.linear_ae_loss(Q.T, Q, X) >= best - 1e-9


def test_pca_solution_is_deterministic_in_sign() -> None:
    X = _centred(6, 60, 9)
    W1, W2 = qla.pca_solution(X, 3)
    W1b, _ = qla.pca_solution(X.copy(), 3)
    np.testing.assert_array_equal(W1, W1b)
    pivots = np.argmax(np.abs(W2), axis=0)
    assert (W2[pivots, np.arange(3)] > 0).all()
