"""Part 5 (q_graph_clustering) checks: the reference gets full marks, the template gets zero with
"not implemented" on every check, each realistic bug costs its own check (and, where it breaks
the pipeline, the end-to-end check 5g.2 that runs it), and legitimately different correct
implementations get full marks.

Every submission is graded once per test module (sandboxed). The default run grades the bugs
and the alternatives on the unit checks only (5g.2 clusters 2000 points: seconds per run); the
slow run adds 5g.2 for them, the notebook-style degree route and the reference's own ARI facts.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from tests.support import TEMPLATE, catalogue_bugs, failed_ids, make_submission, run_grade, scores

MODULE = "q_graph_clustering"
PART = "5"
UNIT = ("5c.1", "5c.2", "5d.1", "5e.1", "5f.1", "5f.2", "5g.1")
END_TO_END = "5g.2"
CHECKS = UNIT + (END_TO_END,)
UNIT_ONLY = ("5c", "5d", "5e", "5f", "5g.1")

DEGREE = "return np.diag(A.sum(axis=0))"
EMBEDDING = "embedding = top_left_singular_vectors(M, n_clusters)"
KMEANS = "return embedding, km.fit_predict(embedding)"
STOCHASTIC = "return M / M.sum(axis=0, keepdims=True)"
ADJACENCY_BODY = """    X = np.asarray(X, dtype=np.float64)
    sq_norms = np.sum(X * X, axis=1)
    sq_dists = sq_norms[:, None] + sq_norms[None, :] - 2.0 * (X @ X.T)
    np.maximum(sq_dists, 0.0, out=sq_dists)   # clip round-off below zero
    np.fill_diagonal(sq_dists, 0.0)
    return np.exp(-gamma * sq_dists)"""
NORMALIZE_BODY = """    d_inv_sqrt = 1.0 / np.sqrt(A.sum(axis=0))
    return d_inv_sqrt[:, None] * A * d_inv_sqrt[None, :]"""

# ------------------------------------------------------------------ realistic bugs: from the proof catalogue (mutants/part5.toml)
# name -> (the unit checks it costs, the end-to-end checks it costs, patches): the first set is
# what the unit checks see; 5g.2 (the student's whole pipeline on the homework data) is graded
# with the grader's stand-ins for failed prerequisites, so it is lost only where the catalogue says.


def _split(fails: tuple[str, ...], patches: list[tuple[str, str]]) -> tuple[set[str], set[str], list[tuple[str, str]]]:
    return set(fails) & set(UNIT), set(fails) - set(UNIT), patches


BUGS: dict[str, tuple[set[str], set[str], list[tuple[str, str]]]] = {
    name: _split(*bug)
    for name, bug in catalogue_bugs(PART, [
        "rbf_no_minus_sign", "rbf_unsquared_distance", "degree_as_vector", "normalize_with_inverse_degree",
        "embedding_right_singular_vectors", "kmeans_on_rows_of_m", "stochastic_rows",
    ]).items()
}

# ------------------------------------------------------------------ legitimately different, correct implementations

ALTERNATIVES: dict[str, list[tuple[str, str]]] = {
    # cdist; D^{-1/2} as the course notebook words it; svds with a random start (ascending
    # singular values, no sign convention); the cluster names permuted; column scaling by a
    # diagonal matrix product.
    "cdist_svds_inverse_sqrt_degree": [
        (ADJACENCY_BODY, "    from scipy.spatial.distance import cdist\n    return np.exp(-gamma * cdist(X, X, 'sqeuclidean'))"),
        (DEGREE, "return np.diag(np.asarray(A).sum(axis=0) ** -0.5)"),
        (EMBEDDING, "from scipy.sparse.linalg import svds as arpack\n    u, s, _ = arpack(np.asarray(M, dtype=np.float64), k=n_clusters)\n    embedding = u[:, np.argsort(s)[::-1]]"),
        (KMEANS, "return embedding, (n_clusters - 1) - km.fit_predict(embedding)"),
        (STOCHASTIC, "return M @ np.diag(1.0 / M.sum(axis=0))"),
    ],
    # Broadcasting; row sums (A is symmetric); normalisation through get_degree_matrix and matrix
    # products; eigh of M M^T with every sign flipped; a transposed row division.
    "broadcast_eigh_row_sums": [
        (ADJACENCY_BODY, "    diff = X[:, None, :] - X[None, :, :]\n    return np.exp(-gamma * (diff ** 2).sum(axis=-1))"),
        (DEGREE, "return np.diag(np.sum(A, axis=1))"),
        (NORMALIZE_BODY, "    D = get_degree_matrix(A)\n    D_half = np.linalg.inv(np.sqrt(D))\n    return D_half @ A @ D_half"),
        (EMBEDDING, "M = np.asarray(M, dtype=np.float64)\n    _, v = np.linalg.eigh(M @ M.T)\n    embedding = -v[:, ::-1][:, :n_clusters]"),
        (STOCHASTIC, "return (M.T / M.T.sum(axis=1)[:, None]).T"),
    ],
}

ALTERNATIVES["full_svd_flipped_signs"] = [
    # A full LAPACK SVD (a different basis from ARPACK's), every sign flipped.
    (EMBEDDING, "embedding = -np.linalg.svd(np.asarray(M, dtype=np.float64))[0][:, :n_clusters]"),
]

# The notebook's version: no normalize_adjacency (stubbed here) and get_degree_matrix returning
# D^{-1/2}. 5e.1 is lost in a .py; 5g.2 builds M from the degree matrix and passes.
NOTEBOOK_STYLE = [
    (NORMALIZE_BODY, '    raise NotImplementedError("5e: implement normalize_adjacency")'),
    (DEGREE, "return np.diag(1.0 / np.sqrt(A.sum(axis=0)))"),
]

# ------------------------------------------------------------------ grading each submission once


class Graded:
    """Grades each (submission, checks) pair once (sandboxed) and keeps the results."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.results: dict[tuple[str, tuple[str, ...]], dict] = {}
        self.seconds: dict[tuple[str, tuple[str, ...]], dict[str, float]] = {}

    def __call__(self, name: str, patches: list[tuple[str, str]] | None = None, only: tuple[str, ...] = (PART,), template: bool = False) -> dict:
        key = (name, only)
        if key not in self.results:
            folder = self.root / f"{name}-{len(only)}"
            source = {"source": TEMPLATE} if template else {}
            make_submission(folder / "submission", {MODULE: patches} if patches else None, modules=(MODULE,), **source)
            report, results = run_grade(folder / "submission", folder / "results.json", only=only, kill_whole_uid=False)
            self.results[key] = results
            self.seconds[key] = {o.id: o.seconds for o in report.outcomes if o.id.startswith(PART)}
        return self.results[key]


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    return Graded(tmp_path_factory.mktemp("part5"))


def messages(results: dict) -> dict[str, str]:
    return {t["number"]: t["output"] for t in results["tests"] if t["number"].startswith(PART)}


def part_scores(results: dict) -> dict[str, tuple[float, float]]:
    return {k: v for k, v in scores(results).items() if k.startswith(PART)}


def graded_ids(results: dict) -> set[str]:
    return {t["number"] for t in results["tests"] if t["number"].startswith(PART) and not t["output"].startswith("Not run")}


def lost(results: dict) -> set[str]:
    """Graded checks of part 5 that lost points (checks left out by ``only`` do not count)."""
    return failed_ids(results, only=(PART,)) & graded_ids(results)


# ------------------------------------------------------------------ fast: one grading per submission


def test_reference_gets_full_marks(graded: Graded) -> None:
    results = graded("reference")
    got = part_scores(results)
    assert sorted(got) == sorted(CHECKS)
    assert all(score == full > 0 for score, full in got.values()), {k: messages(results)[k] for k, (s, f) in got.items() if s < f}


def test_every_check_fits_its_budget_on_the_reference(graded: Graded) -> None:
    graded("reference")
    seconds = graded.seconds[("reference", (PART,))]
    assert max(seconds[c] for c in UNIT) < 10, seconds
    assert seconds[END_TO_END] < 45, seconds  # ARPACK on 2000x2000 plus 3 transfers of 32 MB: seconds


def test_template_gets_zero_with_not_implemented_on_every_check(graded: Graded) -> None:
    results = graded("template", template=True)
    got = part_scores(results)
    assert sorted(got) == sorted(CHECKS)
    assert all(score == 0 for score, _ in got.values()), got
    for check_id, text in messages(results).items():
        assert "Not implemented yet" in text, (check_id, text)


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_a_realistic_bug_costs_exactly_its_check(graded: Graded, bug: str) -> None:
    unit, _, patches = BUGS[bug]
    results = graded(bug, patches, only=UNIT_ONLY)
    assert graded_ids(results) == set(UNIT)
    assert lost(results) == unit, messages(results)


@pytest.mark.parametrize("name", sorted(ALTERNATIVES))
def test_a_different_correct_implementation_gets_full_marks_on_the_unit_checks(graded: Graded, name: str) -> None:
    results = graded(name, ALTERNATIVES[name], only=UNIT_ONLY)
    assert graded_ids(results) == set(UNIT)
    assert lost(results) == set(), messages(results)


def test_messages_name_the_mistake(graded: Graded) -> None:
    def text(bug: str, check_id: str) -> str:
        return messages(graded(bug, BUGS[bug][2], only=UNIT_ONLY))[check_id]

    assert "(0,0), (1,0), (0,2)" in text("rbf_unsquared_distance", "5c.1") and "Smallest failing input" not in text("rbf_unsquared_distance", "5c.1")
    assert "sign typo" in text("rbf_no_minus_sign", "5c.2") and "exp(-gamma" in text("rbf_no_minus_sign", "5c.2")
    assert "expected shape (3, 3), got shape (3,)" in text("degree_as_vector", "5d.1")
    assert "D^{-1/2} A D^{-1/2}" in text("normalize_with_inverse_degree", "5e.1")
    assert "LEFT singular vectors" in text("embedding_right_singular_vectors", "5f.1")
    assert "adjusted Rand index" in text("kmeans_on_rows_of_m", "5f.2")
    assert "COLUMN" in text("stochastic_rows", "5g.1")


# ------------------------------------------------------------------ fast: the inputs the checks draw are what they claim


def test_gapped_inputs_have_a_clear_gap_below_nearly_equal_top_singular_values() -> None:
    from hw7.checks import part5

    for seed in range(30):
        for k in (1, 2, 4):
            n = k + 2 + seed % 20
            s = np.linalg.svd(part5.gapped_matrix({"n": n, "k": k, "seed": seed}), compute_uv=False)
            assert s[0] - s[k - 1] < 0.5 and s[k - 1] > 2.0 and (k == n or s[k] < 1.0), (seed, k, s[: k + 1])


def test_clustered_inputs_separate_a_correct_kmeans_from_kmeans_on_the_rows_of_m() -> None:
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    from hw7.checks import part5

    for seed in range(20):
        k = 2 + seed % 3
        M, truth = part5.clustered_matrix({"n": 10 + 2 * seed, "k": k, "seed": seed})
        U, _, Vt = np.linalg.svd(M)
        for init in ({"n_init": 1, "random_state": seed}, {"n_init": 10, "random_state": 170}, {"init": "random", "n_init": 5, "random_state": 3}):
            assert adjusted_rand_score(truth, KMeans(k, **init).fit_predict(U[:, :k])) == 1.0
            assert adjusted_rand_score(truth, KMeans(k, **init).fit_predict(Vt[:k].T)) == 1.0  # labels alone cannot tell U from V
        assert adjusted_rand_score(truth, KMeans(k, n_init=10, random_state=170).fit_predict(M)) < 0.9


# ------------------------------------------------------------------ slow: the end-to-end check on every submission


@pytest.mark.slow
@pytest.mark.parametrize("bug", sorted(BUGS))
def test_a_realistic_bug_costs_its_check_and_the_end_to_end_check_when_it_breaks_the_pipeline(graded: Graded, bug: str) -> None:
    unit, pipeline, patches = BUGS[bug]
    results = graded(bug, patches)
    assert lost(results) == unit | pipeline, messages(results)
    if pipeline:
        first_line = messages(results)[END_TO_END].splitlines()[0]
        assert first_line.startswith("This check runs your code graded by"), first_line


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ALTERNATIVES))
def test_a_different_correct_implementation_gets_full_marks(graded: Graded, name: str) -> None:
    results = graded(name, ALTERNATIVES[name])
    assert lost(results) == set(), messages(results)


@pytest.mark.slow
def test_without_normalize_adjacency_the_pipeline_uses_the_degree_matrix(graded: Graded) -> None:
    results = graded("notebook_style", NOTEBOOK_STYLE)
    assert lost(results) == {"5e.1"}, messages(results)
    assert "Not implemented yet" in messages(results)["5e.1"]


@pytest.mark.slow
def test_reference_fact_only_the_stochastic_matrix_recovers_the_blobs() -> None:
    from reference import q_graph_clustering as q

    started = time.monotonic()
    table = q.ari_table(gamma=7.5, n_samples=2000, seed=170)
    assert table["clustering M_stoch"] >= 0.95, table
    assert table["clustering M"] < 0.95 and table["raw KMeans"] < 0.95, table
    assert time.monotonic() - started < 120
