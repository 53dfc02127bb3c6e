"""Part 3b (q_linear_autoencoder) checks: the reference gets full marks, the template gets zero with
"not implemented" on every check, each realistic bug costs exactly its own check, and
legitimately different implementations (expanded gradients, SVD, flipped signs, rotated bases)
get full marks. Every submission is graded once per test module (sandboxed).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import TEMPLATE, GradedPart, catalogue_bugs, failed_ids, make_submission, messages, run_grade, scores

PART = "3b"
MODULE = "q_linear_autoencoder"
CHECKS = ("3b.1", "3b.2")

PCA_BODY = """    eigvals, eigvecs = np.linalg.eigh(X @ X.T)   # ascending eigenvalues
    U_k = eigvecs[:, ::-1][:, :k].copy()"""

# Realistic bugs: from the proof catalogue (mutants/part3b.toml).
BUGS = catalogue_bugs(PART, [
    "grad_w1_wrong_sign", "grad_w1_residual_transposed", "grad_w2_missing_factor_two",
    "pca_right_singular_vectors", "pca_smallest_eigenvectors", "pca_rows_of_eigvecs",
])

ALTERNATIVES: dict[str, list[tuple[str, str]]] = {
    # Expanded gradient formulas; PCA from the SVD of X with every basis vector's sign flipped.
    "alt_svd_flipped": [
        (
            """    R = X - W2 @ (W1 @ X)            # residual, m x n
    RXt = R @ X.T                    # m x m
    grad_W1 = -2.0 * W2.T @ RXt      # k x m
    grad_W2 = -2.0 * RXt @ W1.T      # m x k""",
            """    C = X @ X.T
    grad_W1 = 2 * (W2.T @ W2 @ W1 @ C - W2.T @ C)
    grad_W2 = 2 * (W2 @ W1 @ C @ W1.T - C @ W1.T)""",
        ),
        (
            PCA_BODY + "\n    if k:",
            """    U, _, _ = np.linalg.svd(X, full_matrices=True)
    U_k = -U[:, :k]
    if False:""",
        ),
    ],
    # einsum gradients in float32 through torch; an eigh basis turned by a random rotation inside the subspace.
    "alt_rotated_float32": [
        (
            """    R = X - W2 @ (W1 @ X)            # residual, m x n
    RXt = R @ X.T                    # m x m
    grad_W1 = -2.0 * W2.T @ RXt      # k x m
    grad_W2 = -2.0 * RXt @ W1.T      # m x k""",
            """    R = X - np.einsum("ij,jk,kl->il", W2, W1, X)
    grad_W1 = -2 * np.einsum("ji,jl,kl->ik", W2, R, X)
    grad_W2 = -2 * np.einsum("il,jl,kj->ik", R, X, W1)""",
        ),
        (
            PCA_BODY + "\n    if k:",
            """    w, v = np.linalg.eigh((X @ X.T).astype(np.float32))
    U_k = v[:, np.argsort(w)[::-1][:k]].astype(np.float64)
    rotation, _ = np.linalg.qr(np.random.default_rng(7).standard_normal((k, k)))
    U_k = U_k @ rotation
    if False:""",
        ),
    ],
}


Graded = GradedPart


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    return Graded(tmp_path_factory.mktemp("part3b"), MODULE, PART)


def test_reference_gets_full_marks(graded: Graded) -> None:
    results = graded("reference")
    got = {k: v for k, v in scores(results).items() if k.startswith(PART)}
    assert sorted(got) == sorted(CHECKS)
    assert failed_ids(results, only=(PART,)) == set(), messages(results)
    assert all(score == full and full > 0 for score, full in got.values())


def test_template_gets_zero_with_not_implemented_on_every_check(graded: Graded) -> None:
    if not (TEMPLATE / f"{MODULE}.py").is_file():
        pytest.skip(f"student_template/{MODULE}.py is not there yet")
    results = graded("template", source=TEMPLATE)
    text = messages(results)
    for check in CHECKS:
        assert scores(results)[check][0] == 0, check
        assert text[check].startswith("Not implemented yet: your code raised NotImplementedError: 3b: implement"), (check, text[check])


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_a_realistic_bug_costs_exactly_its_check(graded: Graded, bug: str) -> None:
    fails, patches = BUGS[bug]
    results = graded(bug, patches)
    assert failed_ids(results, only=(PART,)) == set(fails), messages(results)
    assert all("grader failed" not in messages(results)[check] for check in fails)


@pytest.mark.parametrize("name", sorted(ALTERNATIVES))
def test_a_different_correct_implementation_gets_full_marks(graded: Graded, name: str) -> None:
    results = graded(name, ALTERNATIVES[name])
    assert failed_ids(results, only=(PART,)) == set(), messages(results)


def test_bottom_k_is_reported_through_the_loss(graded: Graded) -> None:
    message = messages(graded("pca_smallest_eigenvectors", BUGS["pca_smallest_eigenvectors"][1]))["3b.2"]
    assert "sum of the discarded eigenvalues" in message, message


def test_the_pca_data_has_the_promised_spectrum() -> None:
    import numpy as np

    from hw7.checks.part3b import centred_data

    for seed in range(50):
        for m in range(1, 7):
            for n in range(m, m + 7):
                X, eigenvalues, q = centred_data(seed, m, n)
                assert np.allclose(X.mean(axis=1), 0, atol=1e-10)
                assert np.allclose(X @ X.T, q @ np.diag(eigenvalues) @ q.T, atol=1e-9)
                positive = eigenvalues[eigenvalues > 0]
                assert np.all(np.diff(eigenvalues) <= 0)
                assert len(positive) == min(m, n - 1)
                assert np.all(positive[1:] / positive[:-1] < 0.75)  # well separated
