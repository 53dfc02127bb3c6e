"""Build examples/sample_submission.zip: a plausible student submission with a few realistic bugs.

It starts from the reference and rewrites it the way a student might: RNNLayer with raw
nn.Parameters and ``x @ W`` (a different, correct layout), plus three bugs, each the kind
the course sees every term:

- 1c: ``loss_fn`` sums the squared error over time steps instead of averaging;
- 3a: ``Autoencoder.loss`` is plain element-wise MSE, not a sum over features;
- 5g: ``stochastic_matrix_converter`` normalises rows instead of columns.

Run ``python examples/make_sample.py`` after changing the reference; the zip is committed.
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


def main() -> None:
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "hw7"
        patches = dict(PATCHES)
        patches["q_rnn_and_grad"] = PATCHES["q_rnn_and_grad"] + recurrent_weight_patch()
        make_submission(folder, patches)
        out = HERE / "sample_submission.zip"
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.iterdir()):
                info = zipfile.ZipInfo(f"hw7/{path.name}", date_time=(2025, 10, 24, 12, 0, 0))
                info.external_attr = 0o644 << 16
                archive.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
        print(f"wrote {out}")
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
