"""Render the plots a submission's own code draws, inside the sandbox, as validated PNG files.

The student's plotting functions run in sandboxed workers exactly like graded code
(the assignment's plot probes); this trusted side only receives bytes, checks they
are a PNG of sane size, decodes and re-encodes them (so what ends up in a report is
a clean image, whatever the student's code wrote), and saves them with a manifest::

    OUT/plots.json          key -> part, caption, file or error
    OUT/<key>.png

Which plots there are is the assignment's (``PlotSpec`` entries named by its ``plots``
hook, drawn by its plot probes). Nothing here loads the reference.
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


def plot_specs() -> tuple[PlotSpec, ...]:
    """The assignment's plots (its ``plots`` hook), in report order."""
    from autograder import assignment

    return tuple(assignment.current().hook("plots") or ())


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
    from autograder.runner import _start_sandbox

    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    specs = [s for s in plot_specs() if not keys or any(s.key.startswith(k) or s.part == k for k in keys)]
    config = GradeConfig(
        submission=Path(submission),
        results=out_dir / MANIFEST,
        in_process=in_process,
        kill_whole_uid=not shared_sandbox,
        **({"sandbox_user": sandbox_user} if sandbox_user else {}),
    )
    base = Path(tempfile.mkdtemp(prefix="autograder-plots-"))
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
    """Plots saved earlier in ``folder`` (by ``render``), in the assignment's order."""
    try:
        data = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    order = {s.key: i for i, s in enumerate(plot_specs())}
    out = []
    for key, entry in data.items():
        if isinstance(entry, dict):
            out.append(PlotResult(key, str(entry.get("part", "")), str(entry.get("caption", "")), entry.get("file"), entry.get("error"), float(entry.get("seconds", 0) or 0)))
    out.sort(key=lambda r: order.get(r.key, len(order)))
    return out
