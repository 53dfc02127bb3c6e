"""Build examples/sample_submission.zip: a plausible student submission with a few realistic bugs.

It starts from the reference and rewrites it the way a student might: RNNLayer with raw
nn.Parameters and ``x @ W`` (a different, correct layout), plus four bugs, each the kind
the course sees every term:

- 1c: ``loss_fn`` sums the squared error over time steps instead of averaging;
- 3a: ``Autoencoder.loss`` is plain element-wise MSE, not a sum over features;
- 5g: ``stochastic_matrix_converter`` normalises rows instead of columns;
- 1d (the one students miss): ``scale_parameters`` scales by name ("weight", "bias"), as the
  provided block does for nn.Linear layers, but this RNNLayer keeps custom parameters W, U, b,
  so nothing is scaled and the gradient-flow plot shows one curve for every scale.

It also writes ``sample_notebooks.zip``, the same code as the course's notebooks would hold it
(one cell per top-level definition, Colab's shell and magic lines around it), for the notebook
half of the canary that ``setup.sh`` runs (``python -m autograder selftest``).

Run ``python examples/make_sample.py`` after changing the reference; both zips are committed.
"""
from __future__ import annotations

import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from tests.support import make_submission  # noqa: E402

RAW_PARAMETER_LAYER = '''        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.nonlinearity = nonlinearity
        # Raw parameters, row-vector convention: h @ U + x @ W + b.
        self.W = nn.Parameter(torch.randn(input_size, hidden_size) / input_size**0.5)
        self.U = nn.Parameter(torch.randn(hidden_size, hidden_size) / hidden_size**0.5)
        self.b = nn.Parameter(torch.zeros(hidden_size))
        self.h_list: list[torch.Tensor] = []
'''

PATCHES = {
    "q_rnn_and_grad": [
        (
            "        super().__init__()\n        self.input_size = input_size\n        self.hidden_size = hidden_size\n        self.nonlinearity = nonlinearity\n"
            "        self.W_x = nn.Linear(input_size, hidden_size, bias=False)\n        self.W_h = nn.Linear(hidden_size, hidden_size, bias=True)\n        self.h_list: list[torch.Tensor] = []\n",
            RAW_PARAMETER_LAYER,
        ),
        ("            h = self.nonlinearity(self.W_h(h) + self.W_x(x[:, t, :]))", "            h = self.nonlinearity(h @ self.U + x[:, t, :] @ self.W + self.b)"),
        ("    return F.mse_loss(pred, y)", "    return ((pred - y) ** 2).sum() / pred.shape[0]"),
    ],
    "q_autoencoder": [("        return ((x_hat - x) ** 2).sum(dim=1).mean()", "        return ((x_hat - x) ** 2).mean()")],
    "q_graph_clustering": [("    return M / M.sum(axis=0, keepdims=True)", "    return M / M.sum(axis=1, keepdims=True)")],
}


def recurrent_weight_patch() -> list[tuple[str, str]]:
    """recurrent_weight must follow the new layout: W^h is U transposed."""
    text = (ROOT / "reference" / "q_rnn_and_grad.py").read_text()
    start = text.index("def recurrent_weight(")
    body_start = text.index('"""', text.index('"""', start) + 3) + 3
    end = text.index("\n\n\n", body_start)
    return [(text[body_start:end], "\n    return rnn_layer.U.T")]


NOTEBOOK_HEAD = ("!pip install -q ipympl", "%matplotlib inline")


def as_notebook(module_text: str) -> bytes:
    """The module as a Colab notebook: a magic cell, then one code cell per top-level statement."""
    import ast
    import json

    lines = module_text.splitlines()
    tree = ast.parse(module_text)
    cells = [{"cell_type": "markdown", "metadata": {}, "source": ["# Homework 7 (sample submission)"]}]
    cells.append({"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": ["\n".join(NOTEBOOK_HEAD)]})
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the module docstring
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        text = "\n".join(lines[start - 1 : node.end_lineno])
        cells.append({"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": text.splitlines(keepends=True)})
    notebook = {"cells": cells, "metadata": {"colab": {"provenance": []}, "kernelspec": {"display_name": "Python 3", "name": "python3"}}, "nbformat": 4, "nbformat_minor": 0}
    return (json.dumps(notebook, indent=1, sort_keys=True) + "\n").encode()


def write_zip(out: Path, files: dict[str, bytes]) -> None:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=(2025, 10, 24, 12, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name], zipfile.ZIP_DEFLATED)
    print(f"wrote {out}")


# The course hands these out as notebooks (part 3b has none).
NOTEBOOK_MODULES = ("q_rnn_and_grad", "q_rnn_last_name", "q_autoencoder", "q_graph_clustering")


def main() -> None:
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "hw7"
        patches = dict(PATCHES)
        patches["q_rnn_and_grad"] = PATCHES["q_rnn_and_grad"] + recurrent_weight_patch()
        make_submission(folder, patches)
        write_zip(HERE / "sample_submission.zip", {f"hw7/{path.name}": path.read_bytes() for path in folder.iterdir()})
        notebooks = {f"hw7/{m}.ipynb": as_notebook((folder / f"{m}.py").read_text()) for m in NOTEBOOK_MODULES}
        write_zip(HERE / "sample_notebooks.zip", notebooks)
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
