"""Part 5 (q_graph_clustering): 5c RBF adjacency, 5d degree matrix, 5e normalisation,
5f spectral embedding + KMeans, 5g column-stochastic matrix and the end-to-end result.

Every input is drawn here and every comparison is made here. Choices that let a
different but correct implementation pass:
- 5d accepts D and, as the course notebook words it, D^{-1/2} (decided on a fixed
  example, then required consistently); inputs are symmetric, so row and column
  sums agree.
- 5f compares the embedding as a subspace (projectors), because SVD routines
  return different bases of the top singular subspace; inputs have a clear spectral
  gap so that subspace is well defined. Labels are compared up to renaming the
  clusters, on inputs whose clusters any KMeans run recovers.
- 5g uses non-symmetric inputs, so normalising rows instead of columns fails.
- 5g.2 runs the student's own pipeline on the homework data and on fresh points drawn with
  a secret seed, one probe per stage, the matrices passing through this side (the blob
  labels never leave it). Without a working
  normalize_adjacency (the notebook version has none), M is built here from their
  get_degree_matrix, in whichever accepted form it returns.
Which degree form was found is said in the passing check's output (``ctx.notes``).
"""
from __future__ import annotations

from functools import lru_cache

from typing import Callable

import numpy as np
from hypothesis import strategies as st
from sklearn.metrics import adjusted_rand_score

from autograder.checks import check
from autograder.checks.compare import as_array
from autograder.checks.context import Ctx
from autograder.checks.memo import remembered
from .reference import module
from autograder.secrets import secret_seed

MODULE = "q_graph_clustering"
HOMEWORK_GAMMA = 7.5
HOMEWORK_SAMPLES = 2000
HOMEWORK_SEED = 170
END_TO_END_ARI = 0.95


def ref():
    return module(MODULE)


seeds = st.integers(min_value=0, max_value=2**16)


def shape_of(ctx: Ctx, value, shape: tuple[int, ...], what: str) -> np.ndarray:
    array = as_array(value, what)
    if array.shape != shape:
        ctx.fail("shape", what=what, expected=shape, got=tuple(array.shape))
    return array.astype(np.float64, copy=False)


def finite(ctx: Ctx, array: np.ndarray, what: str) -> None:
    bad = ~np.isfinite(array)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        ctx.fail("value", what=f"{what} at index {index}", expected="a finite number", got=float(array[index]))


# ----------------------------------------------------------------------------- inputs


def point_cloud(seed: int, n: int, d: int, scale: float) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, d)) * scale


def cloud_examples():
    return st.fixed_dictionaries(
        {
            "n": st.integers(1, 30),
            "d": st.integers(1, 4),
            "scale": st.sampled_from([0.3, 1.0]),
            "gamma": st.floats(0.05, 2.0, allow_nan=False, allow_infinity=False).map(lambda g: round(g, 4)),
            "seed": seeds,
        }
    )


def symmetric_weights(ex: dict) -> np.ndarray:
    """A symmetric non-negative weight matrix: an RBF graph of a point cloud, or random weights."""
    rng = np.random.default_rng(ex["seed"])
    n = ex["n"]
    if ex["kind"] == "rbf":
        X = rng.standard_normal((n, 2)) * 0.8
        return ref().get_adjacency_matrix(ex["gamma"], X)
    W = rng.uniform(0.0, 1.0, (n, n)) * rng.uniform(0.2, 3.0, (n, 1))
    W = (W + W.T) / 2
    W[rng.random((n, n)) < 0.2] = 0.0
    W = np.triu(W) + np.triu(W, 1).T  # zeros placed symmetrically
    np.fill_diagonal(W, rng.uniform(0.5, 2.0, n))  # every degree stays positive
    return W


def weight_examples():
    return st.fixed_dictionaries(
        {
            "kind": st.sampled_from(["rbf", "random"]),
            "n": st.integers(1, 25),
            "gamma": st.sampled_from([0.1, 0.5, 2.0]),
            "seed": seeds,
        }
    )


def random_orthonormal(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    q, _ = np.linalg.qr(rng.standard_normal((n, k)))
    return q


def gapped_matrix(ex: dict) -> np.ndarray:
    """Non-symmetric M with k nearly equal top singular values well above the rest."""
    rng = np.random.default_rng(ex["seed"])
    n, k = ex["n"], ex["k"]
    U, V = random_orthonormal(rng, n, k), random_orthonormal(rng, n, k)
    top = 3.0 - 0.01 * np.arange(k)
    noise = rng.standard_normal((n, n)) * (0.25 / np.sqrt(n))
    return U @ np.diag(top) @ V.T + noise


def simplex(k: int) -> np.ndarray:
    """k centred points at unit distance from the origin in k-1 dimensions."""
    centred = np.eye(k) - 1.0 / k
    basis, _ = np.linalg.qr(centred.T)
    points = centred @ basis[:, : k - 1]
    return points / np.linalg.norm(points[0])


def _symmetric_orthonormal(R: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(R.T @ R)
    return R @ v @ np.diag(w**-0.5) @ v.T


def _clustered_basis(rng: np.random.Generator, labels: np.ndarray, k: int) -> np.ndarray:
    """An orthonormal n x k basis whose rows form k tight clusters (by ``labels``), with a spread along column 0."""
    n = labels.shape[0]
    R = np.empty((n, k))
    R[:, 0] = 1.0 + 0.3 * rng.uniform(-1.0, 1.0, n)
    rotation, _ = np.linalg.qr(rng.standard_normal((k - 1, k - 1)))
    R[:, 1:] = simplex(k)[labels] @ rotation + 0.02 * rng.standard_normal((n, k - 1))
    return _symmetric_orthonormal(R)


def clustered_matrix(ex: dict) -> tuple[np.ndarray, np.ndarray]:
    """M = U S W^T + T whose top-k left singular vectors U cluster cleanly by ``labels``.

    The first singular value is 50 times the others and U's rows spread along that
    direction, so KMeans on the rows of M (or on U scaled by S) splits along the
    spread instead of finding the clusters. W has the same clusters, so the labels
    alone do not tell U from V. T is small and orthogonal to U and W.
    """
    rng = np.random.default_rng(ex["seed"])
    n, k = ex["n"], ex["k"]
    labels = np.concatenate([np.arange(k), rng.integers(0, k, n - k)])
    rng.shuffle(labels)
    U = _clustered_basis(rng, labels, k)
    W = _clustered_basis(rng, labels, k)
    s = np.concatenate([[50.0], np.linspace(1.2, 1.0, k - 1)])
    left = (np.eye(n) - U @ U.T) @ random_orthonormal(rng, n, n)
    right = (np.eye(n) - W @ W.T) @ random_orthonormal(rng, n, n)
    tail = left @ np.diag(rng.uniform(0.0, 0.05, n)) @ right.T
    return U @ np.diag(s) @ W.T + tail, labels


def positive_matrix(ex: dict) -> np.ndarray:
    """A non-symmetric matrix with non-negative entries and column sums far from row sums."""
    rng = np.random.default_rng(ex["seed"])
    n = ex["n"]
    M = rng.uniform(0.05, 1.0, (n, n)) * rng.uniform(0.1, 5.0, (1, n)) * rng.uniform(0.1, 5.0, (n, 1))
    if ex["zeros"]:
        M[rng.random((n, n)) < 0.3] = 0.0
        M[rng.integers(0, n, n), np.arange(n)] = rng.uniform(0.5, 1.0, n)  # no empty column
    return M


# ----------------------------------------------------------------------------- 5c

FIXED_X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
FIXED_GAMMA = 0.5
FIXED_A = np.exp(-FIXED_GAMMA * np.array([[0.0, 1.0, 4.0], [1.0, 0.0, 5.0], [4.0, 5.0, 0.0]]))


def adjacency(ctx: Ctx, gamma: float, X: np.ndarray) -> np.ndarray:
    n = X.shape[0]
    what = f"get_adjacency_matrix({gamma}, X) for X of shape {X.shape}"
    A = shape_of(ctx, ctx.call("5c.adjacency", gamma=gamma, X=X)["A"], (n, n), what)
    finite(ctx, A, what)
    return A


def literal_sign(ctx: Ctx, A: np.ndarray, X: np.ndarray, gamma: float, what: str) -> None:
    """The handout prints A_ij = e^{+gamma ||x_i - x_j||^2}, a sign typo: say so to a literal reading."""
    with np.errstate(over="ignore"):
        plus, minus = np.exp(gamma * distance_squared(X)), np.exp(-gamma * distance_squared(X))
    if A.shape == plus.shape and np.allclose(A, plus, rtol=1e-6, atol=1e-9) and not np.allclose(A, minus, rtol=1e-6, atol=1e-9):
        ctx.fail(
            "value",
            what=f"{what}: your A equals exp(+gamma ||x_i - x_j||^2), the handout's formula read literally; that formula has a sign typo (it overflows at gamma = 7.5, and far points must get small weights)",
            expected="A_ij = exp(-gamma ||x_i - x_j||^2)",
            got="exp(+gamma ||x_i - x_j||^2)",
        )


def distance_squared(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    return ((X[:, None, :] - X[None, :, :]) ** 2).sum(axis=-1)


@check("5c.1")
def adjacency_matches(ctx: Ctx) -> None:
    A = adjacency(ctx, FIXED_GAMMA, FIXED_X)
    literal_sign(ctx, A, FIXED_X, FIXED_GAMMA, f"get_adjacency_matrix({FIXED_GAMMA}, X) for the points (0,0), (1,0), (0,2)")
    ctx.close(A, FIXED_A, "get_adjacency_matrix(0.5, X) for the points (0,0), (1,0), (0,2): A_ij = exp(-0.5 ||x_i - x_j||^2)")

    def test(ex):
        X = point_cloud(ex["seed"], ex["n"], ex["d"], ex["scale"])
        A = adjacency(ctx, ex["gamma"], X)
        expected = ref().get_adjacency_matrix(ex["gamma"], X)
        ctx.close(A, expected, f"get_adjacency_matrix({ex['gamma']}, X) for {ex['n']} random points in {ex['d']}-D (A_ij = exp(-gamma ||x_i - x_j||^2))")

    ctx.for_all(cloud_examples(), test)


@check("5c.2")
def adjacency_properties(ctx: Ctx) -> None:
    def test(ex):
        X = point_cloud(ex["seed"], ex["n"], ex["d"], ex["scale"])
        A = adjacency(ctx, ex["gamma"], X)
        what = f"get_adjacency_matrix({ex['gamma']}, X) for {ex['n']} points"
        literal_sign(ctx, A, X, ex["gamma"], what)
        ctx.close(A, A.T, f"{what}, compared with its transpose (A must be symmetric)", rtol=1e-9, atol=1e-12)
        ctx.close(np.diag(A), np.ones(ex["n"]), f"{what}: the diagonal (exp(0) = 1)", rtol=0.0, atol=1e-9)
        low, high = float(A.min()), float(A.max())
        if not low > 0.0:
            ctx.fail("value", what=f"{what}: smallest entry (every weight exp(-gamma d^2) is positive)", expected="> 0", got=low)
        if high > 1.0 + 1e-9:
            ctx.fail("value", what=f"{what}: largest entry (exp(-gamma d^2) <= 1 for gamma > 0)", expected="<= 1", got=high)
        decreasing_in_distance(ctx, A, X, ex["gamma"], what)

    ctx.for_all(cloud_examples(), test)


def decreasing_in_distance(ctx: Ctx, A: np.ndarray, X: np.ndarray, gamma: float, what: str) -> None:
    """Closer points weigh more: a matrix of ones (or any constant) is symmetric, unit-diagonal and in (0, 1] too.

    Pairs are compared in order of their distance (computed here), where the two weights
    differ by more than a float32 computation blurs (a relative 1e-4) and have not underflowed.
    """
    i, j = np.triu_indices(A.shape[0], k=1)
    if i.size < 2:
        return
    d2 = ((X[i] - X[j]) ** 2).sum(axis=1)
    weights = A[i, j]
    order = np.argsort(d2, kind="stable")
    d2, weights, i, j = d2[order], weights[order], i[order], j[order]
    for k in range(d2.size - 1):
        closer, farther = k, k + 1
        if gamma * (d2[farther] - d2[closer]) <= 1e-4 or weights[closer] < 1e-30:
            continue
        if not weights[farther] < weights[closer]:
            ctx.fail(
                "value",
                what=f"{what}: A[{i[farther]}, {j[farther]}] (squared distance {d2[farther]:.4g}) against A[{i[closer]}, {j[closer]}] (squared distance {d2[closer]:.4g})",
                expected=f"less than {weights[closer]:.6g}: the weight must decrease as the distance grows",
                got=float(weights[farther]),
            )


# ----------------------------------------------------------------------------- 5d

FORM_D = "D"
FORM_INV_SQRT = "D^{-1/2}"


def degree(ctx: Ctx, A: np.ndarray, what: str) -> np.ndarray:
    n = A.shape[0]
    D = shape_of(ctx, ctx.call("5d.degree", A=A)["D"], (n, n), what)
    finite(ctx, D, what)
    return D


def degree_form(D: np.ndarray, A: np.ndarray) -> str | None:
    """Which accepted form D is: diag(column sums) or diag(column sums)^(-1/2); None for neither."""
    d = A.sum(axis=0)
    for form, diagonal in ((FORM_D, d), (FORM_INV_SQRT, d**-0.5)):
        if np.allclose(D, np.diag(diagonal), rtol=1e-6, atol=1e-9):
            return form
    return None


def expected_degree(A: np.ndarray, form: str) -> np.ndarray:
    D = ref().get_degree_matrix(A)
    if form == FORM_INV_SQRT:
        return np.diag(np.diag(D) ** -0.5)
    return D


FIXED_W = np.array([[1.0, 0.5, 0.25], [0.5, 1.0, 2.0], [0.25, 2.0, 1.0]])


@check("5d.1")
def degree_matrix(ctx: Ctx) -> None:
    """D = diag(column sums of A), or D^{-1/2} as the course notebook words it: both are accepted."""
    what = "get_degree_matrix(A) for A = [[1, 0.5, 0.25], [0.5, 1, 2], [0.25, 2, 1]]"
    D = degree(ctx, FIXED_W, what)
    form = degree_form(D, FIXED_W)
    if form is None:
        ctx.close(D, ref().get_degree_matrix(FIXED_W), f"{what} (the diagonal matrix of column sums of A; D^(-1/2) is accepted too)")
        form = FORM_D
    ctx.notes.append(f"get_degree_matrix returns {form}")

    def test(ex):
        A = symmetric_weights(ex)
        expected = expected_degree(A, form)
        what = f"get_degree_matrix(A) for a symmetric {ex['n']}x{ex['n']} weight matrix A"
        D = degree(ctx, A, what)
        ctx.close(D, expected, f"{what} (diagonal matrix of column sums{', to the power -1/2, as on the fixed example' if form == FORM_INV_SQRT else ''}; off-diagonal entries 0)")

    ctx.for_all(weight_examples(), test)


# ----------------------------------------------------------------------------- 5e


@check("5e.1")
def normalized_adjacency(ctx: Ctx) -> None:
    def run(A: np.ndarray, what: str) -> None:
        n = A.shape[0]
        M = shape_of(ctx, ctx.call("5e.normalize", A=A)["M"], (n, n), what)
        finite(ctx, M, what)
        ctx.close(M, ref().normalize_adjacency(A), what + " (M = D^{-1/2} A D^{-1/2}, D = diag(column sums of A))")

    run(FIXED_W, "normalize_adjacency(A) for A = [[1, 0.5, 0.25], [0.5, 1, 2], [0.25, 2, 1]]")
    ctx.for_all(weight_examples(), lambda ex: run(symmetric_weights(ex), f"normalize_adjacency(A) for a symmetric {ex['n']}x{ex['n']} weight matrix A"))


# ----------------------------------------------------------------------------- 5f


def cluster(ctx: Ctx, M: np.ndarray, k: int, seed: int, context: str, embedding: bool = False) -> tuple[np.ndarray | None, np.ndarray]:
    """The student's (embedding, labels) for M, with shapes checked; ``context`` describes M.

    cluster_data is called with what its signature accepts (see probes.part5); the embedding,
    [0], is checked only when ``embedding`` is asked for (the module form documents it; the
    handout's only call site reads [1])."""
    n = M.shape[0]
    out = ctx.call("5f.cluster", M=M, n_clusters=k, seed=seed)
    call = f"cluster_data(M, n_clusters={k}, seed={seed})"
    E = None
    if embedding:
        E = shape_of(ctx, out["embedding"] if out["embedding"] is not None else np.zeros(0), (n, k), f"{call}[0], the embedding ({context}; one row per row of M, one column per cluster)")
        finite(ctx, E, f"{call}[0] ({context})")
    labels = as_array(out["labels"], f"{call}[1], the labels ({context})")
    if labels.shape != (n,):
        ctx.fail("shape", what=f"{call}[1], the labels ({context}; one label per row of M)", expected=(n,), got=tuple(labels.shape))
    return E, labels


def cluster_form(ctx: Ctx) -> tuple[bool, bool]:
    """(takes_k, notebook): whether cluster_data takes the number of clusters (else only the
    handout's 3 is asked for), and whether it comes from the notebook (whose [0] is free)."""
    out = ctx.call("5f.signature")
    return bool(out["takes_k"]), bool(out["notebook"])


def left_right_matrix(ex: dict) -> tuple[np.ndarray, np.ndarray]:
    """M = U S W^T whose left singular vectors U cluster by one labelling and whose right ones W
    by another: labels from KMeans on the rows of U are the first labelling, never the second."""
    rng = np.random.default_rng([ex["seed"], 7])
    n, k = ex["n"], ex["k"]
    draw = lambda: rng.permutation(np.concatenate([np.arange(k), rng.integers(0, k, n - k)]))  # noqa: E731
    left_labels, right_labels = draw(), draw()
    U, W = _clustered_basis(rng, left_labels, k), _clustered_basis(rng, right_labels, k)
    return U @ np.diag(np.linspace(3.0, 2.5, k)) @ W.T, left_labels


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """True when the two labelings are equal up to renaming the clusters."""
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def embedding_examples(k: int | None = None):
    """k clusters (any of 1-4, or only the handout's 3 for a cluster_data that takes no k)."""
    ks = st.integers(1, 4) if k is None else st.just(k)
    return ks.flatmap(lambda k: st.fixed_dictionaries({"k": st.just(k), "n": st.integers(k + 2, 40), "seed": seeds}))


@check("5f.1")
def embedding_subspace(ctx: Ctx) -> None:
    """The embedding is M's top-k LEFT singular vectors. The module documents cluster_data(...)[0]
    as that embedding, and it is checked directly; the notebook leaves [0] free (its call site
    reads [1] only), so there the labels must be those of the left singular vectors, on a matrix
    whose right singular vectors cluster differently."""
    takes_k, notebook = cluster_form(ctx)

    def labels_test(ex):
        k = ex["k"]
        M, left = left_right_matrix(ex)
        _, labels = cluster(ctx, M, k, HOMEWORK_SEED, f"M = U S W^T, {ex['n']}x{ex['n']}, whose U and W cluster differently")
        if not same_partition(labels, left):
            ctx.fail("value", what=f"cluster_data(M)[1] for M = U S W^T whose left singular vectors U and right singular vectors W cluster differently: adjusted Rand index against the clusters of U's rows", expected=1.0, got=float(adjusted_rand_score(left, labels)))

    if notebook:
        ctx.for_all(label_examples(None if takes_k else 3), labels_test)
        return

    def test(ex):
        k = ex["k"]
        M = gapped_matrix(ex)
        context = f"M a non-symmetric {ex['n']}x{ex['n']} matrix"
        E, _ = cluster(ctx, M, k, HOMEWORK_SEED, context, embedding=True)
        what = f"cluster_data(M, n_clusters={k}, seed={HOMEWORK_SEED})[0] = E, the embedding ({context})"
        ctx.close(E.T @ E, np.eye(k), f"{what}: E^T E (the columns of E are orthonormal singular vectors)", rtol=0.0, atol=1e-6)
        U = np.linalg.svd(M)[0][:, :k]
        ctx.close(E @ E.T, U @ U.T, f"{what}: the projector E E^T onto the span of E, against the projector onto the span of the top-{k} LEFT singular vectors of M (any basis of that subspace is accepted)", rtol=0.0, atol=1e-6)

    ctx.for_all(embedding_examples(None if takes_k else 3), test)


def label_examples(k: int | None = None):
    ks = st.integers(2, 4) if k is None else st.just(k)
    return ks.flatmap(lambda k: st.fixed_dictionaries({"k": st.just(k), "n": st.integers(max(3 * k, 10), 50), "seed": seeds}))


@check("5f.2")
def cluster_labels(ctx: Ctx) -> None:
    takes_k, _ = cluster_form(ctx)

    def test(ex):
        k = ex["k"]
        M, _ = clustered_matrix(ex)
        context = f"M a {ex['n']}x{ex['n']} matrix whose top-{k} left singular vectors have rows in {k} clear clusters"
        _, labels = cluster(ctx, M, k, HOMEWORK_SEED, context)
        _, expected = ref().cluster_data(M, k, HOMEWORK_SEED)
        if not same_partition(labels, np.asarray(expected)):
            ari = adjusted_rand_score(expected, labels)
            ctx.fail(
                "value",
                what=(
                    f"cluster_data(M, n_clusters={k}, seed={HOMEWORK_SEED})[1], the labels ({context}): adjusted Rand index against the "
                    "reference labels (KMeans on the rows of the embedding; any renaming of the clusters is accepted)"
                ),
                expected=1.0,
                got=float(ari),
            )

    ctx.for_all(label_examples(None if takes_k else 3), test)


# ----------------------------------------------------------------------------- 5g

FIXED_M = np.array([[1.0, 2.0], [3.0, 4.0]])


def stochastic(ctx: Ctx, M: np.ndarray, what: str, unchanged: bool = False) -> np.ndarray:
    """The student's stochastic_matrix_converter(M); with ``unchanged``, M must also come back as it was."""
    return handed_stochastic(ctx, [M], what, M if unchanged else None)


def handed_stochastic(ctx: Ctx, box: list, what: str, original: np.ndarray | None = None) -> np.ndarray:
    """``stochastic`` for an M handed over in a one-item list: once sent, this side holds no
    copy of it while the worker computes (the end-to-end check's n x n matrices)."""
    shape = box[0].shape
    out = ctx.call("5g.stochastic", M=box.pop())
    S = shape_of(ctx, out["S"], shape, what)
    finite(ctx, S, what)
    if original is not None and out.get("M_after") is not None and not np.array_equal(np.asarray(out["M_after"], dtype=np.float64), original):
        ctx.fail("value", what=f"the argument M after {what} (M is still used afterwards: the homework clusters M too)", expected="M unchanged (divide into a new array, not in place)", got="M was modified")
    return S


@check("5g.1")
def stochastic_matrix(ctx: Ctx) -> None:
    def run(M: np.ndarray, what: str) -> None:
        S = stochastic(ctx, M, what, unchanged=True)
        if S.min() < 0:
            ctx.fail("value", what=f"{what}: smallest entry (a transition matrix has no negative entries)", expected=">= 0", got=float(S.min()))
        ctx.close(S.sum(axis=0), np.ones(M.shape[1]), f"{what}: column sums (every COLUMN must sum to 1)", rtol=0.0, atol=1e-9)
        ctx.close(S, ref().stochastic_matrix_converter(M), f"{what} (each column of M divided by its sum)")

    run(FIXED_M, "stochastic_matrix_converter(M) for M = [[1, 2], [3, 4]]")
    examples = st.fixed_dictionaries({"n": st.integers(1, 20), "zeros": st.booleans(), "seed": seeds})
    ctx.for_all(examples, lambda ex: run(positive_matrix(ex), f"stochastic_matrix_converter(M) for a non-symmetric non-negative {ex['n']}x{ex['n']} M"))


# ----------------------------------------------------------------------------- 5g end to end


@lru_cache(maxsize=1)
def homework_data() -> tuple[np.ndarray, np.ndarray]:
    X, y = ref().get_data(HOMEWORK_SAMPLES, HOMEWORK_SEED)
    return np.asarray(X, dtype=np.float64), np.asarray(y)


def student_normalized(ctx: Ctx, box: list, remake: Callable[[], np.ndarray], where: str = "the homework data") -> tuple[np.ndarray, str]:
    """The student's M: normalize_adjacency(A), or (notebook version) built from get_degree_matrix(A).

    A is handed over in a one-item list: this side keeps no copy while the worker computes
    (the notebook version, which has no normalize_adjacency, keeps it for get_degree_matrix;
    ``remake`` builds it again for a module that lacks the function)."""
    n = box[0].shape[0]
    kept = box[0] if ctx.notebook else None
    out = ctx.call("5e.normalize", A=box.pop(), optional=True)
    if out["M"] is not None:
        M = shape_of(ctx, out["M"], (n, n), f"normalize_adjacency(A) on {where}")
        return M, "normalize_adjacency(A)"
    A = kept if kept is not None else remake()
    D = degree(ctx, A, f"get_degree_matrix(A) on {where}")
    form = degree_form(D, A)
    if form is None:
        ctx.fail("value", what=f"get_degree_matrix(A) on {where} ({out['why']}, so M = D^(-1/2) A D^(-1/2) is built from your degree matrix)", expected="diag(column sums of A) or its inverse square root", got="neither")
    w = np.diag(D) ** -0.5 if form == FORM_D else np.diag(D)
    return w[:, None] * A * w[None, :], "D^(-1/2) A D^(-1/2) with D from get_degree_matrix(A)"


SECRET_SAMPLES = 1000
SECRET_REFERENCE_ARI = 0.97  # a fresh draw is used only where the reference's own pipeline is this sure


@lru_cache(maxsize=1)
def secret_data() -> tuple[np.ndarray, np.ndarray]:
    """Fresh points around the homework's three blob centres, drawn with a seed the worker never learns.

    A cluster_data that regenerates get_data(2000, 170) and returns its true labels (public
    data answering the question) recovers nothing here. Draws where the reference's own
    pipeline is unsure are skipped, so the bar is the homework's, not luck's.
    """
    from sklearn.datasets import make_blobs

    _, _, centers = make_blobs(n_samples=HOMEWORK_SAMPLES, random_state=HOMEWORK_SEED, return_centers=True)
    r = ref()

    def draw(attempt: int) -> tuple[np.ndarray, np.ndarray]:
        points, labels = make_blobs(n_samples=SECRET_SAMPLES, centers=centers, random_state=secret_seed(f"5g.2 data {attempt}"))
        return np.asarray(points @ np.asarray(r.TRANSFORMATION), dtype=np.float64), np.asarray(labels)

    def first_sure_draw() -> int:
        for attempt in range(20):
            X, labels = draw(attempt)
            S = r.stochastic_matrix_converter(r.normalize_adjacency(r.get_adjacency_matrix(HOMEWORK_GAMMA, X)))
            if adjusted_rand_score(labels, r.cluster_data(S, 3, HOMEWORK_SEED)[1]) >= SECRET_REFERENCE_ARI:
                return attempt
        raise RuntimeError("5g.2: no secret draw the reference clusters reliably")

    # Which draw the reference is sure of is the same for every submission: found once per install.
    return draw(int(remembered("5g.2 secret draw", {"samples": SECRET_SAMPLES, "ari": SECRET_REFERENCE_ARI}, first_sure_draw)))


def pipeline_ari(ctx: Ctx, X: np.ndarray, y: np.ndarray, where: str) -> float:
    """ARI of the student's pipeline, one probe per stage, the matrices passing through this side.

    A stage whose own check failed earlier is computed here by the reference instead (its
    output is data, so no code of the reference reaches the worker): that bug costs only its
    own check. stochastic_matrix_converter, which this check grades with 5g.1, is always theirs.
    """
    r = ref()

    def make_adjacency() -> np.ndarray:
        if ctx.stand_in("get_adjacency_matrix", ("5c.1",)):
            return np.asarray(r.get_adjacency_matrix(HOMEWORK_GAMMA, X), dtype=np.float64)
        return adjacency(ctx, HOMEWORK_GAMMA, X)

    # 30.5 MiB each for the homework data: only the matrix the next stage needs is kept, and a
    # matrix sent to the worker is handed over (no copy stays here while the worker computes).
    A = make_adjacency()
    if ctx.stand_in("normalize_adjacency", ("5d.1", "5e.1")):
        M, how = np.asarray(r.normalize_adjacency(A), dtype=np.float64), "the grader's D^(-1/2) A D^(-1/2)"
        del A
    else:
        box = [A]
        del A
        M, how = student_normalized(ctx, box, make_adjacency, where)
    finite(ctx, M, f"{how} on {where}")
    box = [M]
    del M
    S = handed_stochastic(ctx, box, f"stochastic_matrix_converter(M) on {where}")
    if ctx.stand_in("cluster_data", ("5f.1", "5f.2")):
        labels = np.asarray(r.cluster_data(S, 3, HOMEWORK_SEED)[1])
    else:
        _, labels = cluster(ctx, S, 3, HOMEWORK_SEED, f"M = M_stoch of {where}")
    ari = float(adjusted_rand_score(y, labels))
    if not ari >= END_TO_END_ARI:
        ctx.fail(
            "value",
            what=f"adjusted Rand index against the true blob labels of cluster_data(stochastic_matrix_converter(M), 3, 170)[1], with M = {how} and A = get_adjacency_matrix({HOMEWORK_GAMMA}, X), on {where}",
            expected=f">= {END_TO_END_ARI}",
            got=round(ari, 4),
        )
    return ari


@check("5g.2")
def end_to_end(ctx: Ctx) -> None:
    """Spectral clustering of the column-stochastic M recovers the three blobs (ARI >= 0.95).

    On the homework's data, X = get_data(2000, 170), and on fresh points around the same
    centres drawn with a secret seed (full marks need both). The stages run in the worker one
    by one (the student's functions); the intermediate matrices pass through this side, which
    alone holds the blob labels.
    """
    X, y = homework_data()
    pipeline_ari(ctx, X, y, f"the homework data (X = get_data({X.shape[0]}, {HOMEWORK_SEED}))")
    X, y = secret_data()
    pipeline_ari(ctx, X, y, f"{X.shape[0]} fresh points around the same three blob centres (drawn by the grader, not shown)")
