"""Part 5 probes (q_graph_clustering): call the student's spectral-clustering functions.

Each probe calls one student function on arrays chosen by the trusted side and
returns what it got back, as plain arrays. The trusted side composes the
end-to-end pipeline itself (one probe per stage), so no probe combines the
stages or knows what any stage should return.
"""
from __future__ import annotations

import numpy as np

from .convert import pair, plain
from autograder.probes.registry import ProbeError, probe, student

MODULE = "q_graph_clustering"


def _f64(value) -> np.ndarray:
    """A fresh float64 array from a trusted-side argument (the student may modify it in place)."""
    return np.array(value, dtype=np.float64, copy=True)


def _given(value) -> np.ndarray:
    """The argument itself when it already is a float64 C array (as the worker decodes a matrix
    sent alone): nothing else in the worker holds it, so the student may modify it in place,
    and an n x n copy (30.5 MiB in 5g.2) is spared. A probe that passes it twice uses ``_f64``."""
    if type(value) is np.ndarray and value.dtype == np.float64 and value.flags.c_contiguous and value.flags.writeable:
        return value
    return _f64(value)


def _out(value, what: str) -> np.ndarray:
    """``plain(value, what)``, without its copy when the student returned a plain C-ordered float64 ndarray.

    The reply is encoded as soon as the probe returns and no student code runs in between,
    so sending the student's own array is the same as sending a copy; it spares one n x n
    copy (30.5 MiB for the homework's 2000 points) at the worker's peak in 5g.2.
    """
    if type(value) is np.ndarray and value.dtype == np.float64 and value.flags.c_contiguous:
        return value
    return plain(value, what)


@probe("5c.adjacency")
def adjacency(gamma: float, X) -> dict:
    A = student(MODULE).get_adjacency_matrix(float(gamma), _f64(X))
    return {"A": _out(A, "get_adjacency_matrix(gamma, X)")}


@probe("5d.degree")
def degree(A) -> dict:
    D = student(MODULE).get_degree_matrix(_given(A))
    return {"D": _out(D, "get_degree_matrix(A)")}


@probe("5e.normalize")
def normalize(A, optional: bool = False) -> dict:
    """normalize_adjacency(A). With ``optional``, a missing or unimplemented function returns M=None.

    The end-to-end check uses ``optional``: the notebook version of the homework has no
    normalize_adjacency, and the trusted side then builds M from get_degree_matrix instead.
    """
    m = student(MODULE)
    fn = getattr(m, "normalize_adjacency", None)
    if optional and not callable(fn):
        return {"M": None, "why": "normalize_adjacency is not defined"}
    try:
        M = fn(_given(A)) if callable(fn) else m.normalize_adjacency(_given(A))
    except NotImplementedError:
        if not optional:
            raise
        return {"M": None, "why": "normalize_adjacency raised NotImplementedError"}
    return {"M": _out(M, "normalize_adjacency(A)"), "why": ""}


K_NAMES = ("n_clusters", "k", "num_clusters", "n_cluster", "clusters", "n_components", "num_classes")
SEED_NAMES = ("seed", "random_state", "rng_seed")


def _accepts(fn) -> tuple[str | int | None, str | None]:
    """Where cluster_data takes the number of clusters and the seed: a parameter name, a
    position, or None. The handout has no code cell for it (its call site is
    ``cluster_data(M_stoch)[1]``), so students write ``(M)``, ``(M, k)``, ``(M, n_clusters=3)``."""
    import inspect

    try:
        parameters = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None, None
    named = {p.name: p for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    k = next((name for name in K_NAMES if name in named), None)
    seed = next((name for name in SEED_NAMES if name in named), None)
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    second = positional[1] if len(positional) >= 2 else None
    # A second positional parameter is the number of clusters unless it is the seed or a flag
    # (``normalize_rows=False``, as for Q.7's row-normalised variant).
    if k is None and second is not None and second.name not in SEED_NAMES and not isinstance(second.default, (bool, str, type(None))):
        k = 1 if second.kind is second.POSITIONAL_ONLY else second.name
    return k, seed


@probe("5f.signature")
def cluster_signature() -> dict:
    """Whether cluster_data takes the number of clusters (else the grader uses the handout's 3)."""
    k, _ = _accepts(student(MODULE).cluster_data)
    return {"takes_k": k is not None, "notebook": str(getattr(student(MODULE), "__file__", "")).endswith(".ipynb")}


@probe("5f.cluster")
def cluster(M, n_clusters: int, seed: int) -> dict:
    """cluster_data on M, called with what its signature accepts; the handout's global ``seed``
    is set for a function that reads it instead of taking one."""
    m = student(MODULE)
    fn = m.cluster_data
    k_at, seed_at = _accepts(fn)
    args: list = [_given(M)]
    kwargs: dict = {}
    if k_at == 1:
        args.append(int(n_clusters))
    elif k_at is not None:
        kwargs[k_at] = int(n_clusters)
    elif int(n_clusters) != 3:
        raise ProbeError("grader", f"cluster_data takes no number of clusters; the grader asked for {n_clusters}")
    if seed_at is not None:
        kwargs[seed_at] = int(seed)
    had_seed, old_seed = hasattr(m, "seed"), getattr(m, "seed", None)
    m.seed = int(seed)  # the handout's global (n_samples, seed = 2000, 170)
    try:
        out = fn(*args, **kwargs)
    finally:
        if had_seed:
            m.seed = old_seed
        else:
            del m.seed
    embedding, labels = pair(out, "cluster_data(M)")
    return {
        "embedding": plain(embedding, "cluster_data(...)[0]") if _is_numeric(embedding) else None,
        "labels": plain(labels, "cluster_data(...)[1] (the labels)"),
    }


def _is_numeric(value) -> bool:
    try:
        return np.asarray(value).dtype.kind in "biuf"
    except Exception:  # noqa: BLE001 - anything that is not an array of numbers
        return False


@probe("5g.stochastic")
def stochastic(M) -> dict:
    given = _f64(M)
    S = student(MODULE).stochastic_matrix_converter(given)
    changed = given.shape != np.shape(M) or not np.array_equal(given, np.asarray(M, dtype=np.float64))
    # The argument comes back only if it was modified (an n x n copy is not sent for nothing).
    return {"S": _out(S, "stochastic_matrix_converter(M)"), "M_after": plain(given, "M after the call") if changed else None}
