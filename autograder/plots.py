"""Render the plots a submission's own code draws, inside the sandbox, as validated PNG files.

The student's plotting functions run in sandboxed workers exactly like graded code
(``autograder/probes/plots.py``); this trusted side only receives bytes, checks they
are a PNG of sane size, decodes and re-encodes them (so what ends up in a report is
a clean image, whatever the student's code wrote), and saves them with a manifest::

    OUT/plots.json          key -> part, caption, file or error
    OUT/<key>.png

Plots: 1d gradient flow (``plot_gradient_flow``), 3a latent-size curves
(``plot_single``), 5f/5g cluster scatter plots (``show_data_results`` of the
student's own adjacency -> normalisation -> [stochastic] -> ``cluster_data`` pipeline).
Nothing here loads the reference.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from autograder import intake as intake_mod
from autograder.config import GradeConfig
from autograder.walk import remove_tree

MANIFEST = "plots.json"
MAX_PIXELS = 4000 * 4000
PLOT_SECONDS = 90.0
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class PlotSpec:
    key: str
    part: str
    module: str
    probe: str
    caption: str
    args: Callable[[], dict[str, Any]]


@dataclass
class PlotResult:
    key: str
    part: str
    caption: str
    file: str | None = None  # file name inside the output folder
    error: str | None = None
    seconds: float = 0.0


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


def clean_png(data: bytes) -> bytes:
    """Decode and re-encode an untrusted PNG; raise ValueError if it is not a sane one."""
    from PIL import Image

    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG file")
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "PNG":
                raise ValueError(f"not a PNG ({image.format})")
            width, height = image.size
            if width * height > MAX_PIXELS or width < 1 or height < 1:
                raise ValueError(f"image of {width}x{height} pixels is out of bounds")
            image.load()
            out = io.BytesIO()
            image.convert("RGBA" if "A" in image.getbands() else "RGB").save(out, format="PNG", optimize=False)
    except (OSError, Image.DecompressionBombError, SyntaxError) as exc:
        raise ValueError(f"unreadable PNG ({exc})") from None
    return out.getvalue()


def render(
    submission: Path,
    out_dir: Path,
    keys: tuple[str, ...] = (),
    in_process: bool = False,
    sandbox_user: str | None = None,
    shared_sandbox: bool = False,
    log: Callable[[str], None] = lambda s: None,
) -> list[PlotResult]:
    """Run every plot (or those whose key or part starts with one of ``keys``) and save the PNGs."""
    import autograder.probes.plots  # noqa: F401  registered before the supervisor forks
    from autograder.runner import _start_sandbox

    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    specs = [s for s in PLOTS if not keys or any(s.key.startswith(k) or s.part == k for k in keys)]
    config = GradeConfig(
        submission=Path(submission),
        results=out_dir / MANIFEST,
        in_process=in_process,
        kill_whole_uid=not shared_sandbox,
        **({"sandbox_user": sandbox_user} if sandbox_user else {}),
    )
    base = Path(tempfile.mkdtemp(prefix="hw7plots-"))
    results: list[PlotResult] = []
    sandbox = None
    try:
        os.chmod(base, 0o711)
        found = intake_mod.stage(Path(submission), base / "submission")
        sandbox = _start_sandbox(config, base)
        sandbox.canary()
        for spec in specs:
            result = PlotResult(spec.key, spec.part, spec.caption)
            started = time.monotonic()
            if spec.module not in found.modules:
                result.error = f"{spec.module} not found in the submission"
            else:
                log(f"plot {spec.key} ...")
                result.error, data = _run_probe(sandbox, spec)
                if data is not None:
                    try:
                        png = clean_png(data)
                    except ValueError as exc:
                        result.error = f"the plot is not a usable PNG: {exc}"
                    else:
                        (out_dir / f"{spec.key}.png").write_bytes(png)
                        result.file = f"{spec.key}.png"
            result.seconds = round(time.monotonic() - started, 2)
            results.append(result)
    finally:
        if sandbox is not None:
            sandbox.stop()
        remove_tree(base)  # its scratch folders hold whatever the plotting code built: iterative removal
    manifest = {r.key: asdict(r) for r in load_manifest(out_dir)} if keys else {}
    for r in results:
        manifest[r.key] = asdict(r)
        if r.file is None:
            (out_dir / f"{r.key}.png").unlink(missing_ok=True)
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return results


def _run_probe(sandbox, spec: PlotSpec) -> tuple[str | None, bytes | None]:
    from autograder.checks.context import describe_error
    from autograder.errors import InfrastructureError
    from autograder.sandbox.client import StudentRaised, WorkerLost

    session = sandbox.open(cpu_seconds=int(PLOT_SECONDS * 2) + 5, memory_mb=2048)
    error, data = None, None
    try:
        value = session.call(spec.probe, spec.args(), time.monotonic() + PLOT_SECONDS)
        png = value.get("png") if isinstance(value, dict) else None
        if not isinstance(png, np.ndarray) or png.dtype != np.uint8 or png.ndim != 1:
            error = "the plot probe returned no PNG bytes"
        else:
            data = png.tobytes()
    except StudentRaised as exc:
        cause = sandbox.grader_fault(exc.info)
        if cause:
            session.close()
            raise InfrastructureError(f"plot {spec.key}: {cause}") from None
        error = describe_error(exc.info)
    except WorkerLost as lost:
        error = "the plotting code timed out" if lost.reason == "timeout" else f"the plotting code ended the worker ({lost.reason})"
    finally:
        session.close()
    return error, data


def load_manifest(folder: Path) -> list[PlotResult]:
    """Plots saved earlier in ``folder`` (by ``render``), in PLOTS order."""
    try:
        data = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    order = {s.key: i for i, s in enumerate(PLOTS)}
    out = []
    for key, entry in data.items():
        if isinstance(entry, dict):
            out.append(PlotResult(key, str(entry.get("part", "")), str(entry.get("caption", "")), entry.get("file"), entry.get("error"), float(entry.get("seconds", 0) or 0)))
    out.sort(key=lambda r: order.get(r.key, len(order)))
    return out
