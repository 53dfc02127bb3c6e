"""Train the reference solutions to each homework target and print the figures.

Run ``python -m reference.targets`` (all sections) or e.g.
``python -m reference.targets --only 1h,2``. Sections:

- ``1h``: running-mean regression with 1- and 2-layer RNNs (hidden 32, Adam lr 1e-4,
  5,000 batches of 32, seed 0), judged by the mean of the last 100 batch losses,
  for the all-steps and the last-step loss.
- ``2``: surname classifier, eval accuracy after 20 epochs (target >= 80%).
- ``3a``: MNIST few-shot linear probe (``q_autoencoder.run_mnist_probe``).
- ``5``: spectral-clustering ARI table (``q_graph_clustering.ari_table``).

Every figure is printed with its target, PASS/MISS and its wall time. The
constants below record what the reference measured on a 2-core CPU, so graders
can set thresholds with the slack each figure needs.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import time
from typing import Callable

import numpy as np
import torch

SECTIONS = ("1h", "2", "3a", "5")

# --- 1h -----------------------------------------------------------------------------------------
# Keys: (model, task). "homework": the figure the homework asks for (mean of the last 100 batch
# losses, hidden 32, Adam lr 1e-4, 5,000 batches of 32, seed 0). "measured": this reference at
# seed 0 (torch 2.13 CPU, 1 thread; each depth built right after torch.manual_seed(0)).
# "seeds_0_3": the same run at seeds 0, 1, 2, 3, a stand-in for a student's correct code whose
# parameters are created in another order (same seed, different initial weights).
# "grader": the threshold a correct implementation should be held to.
#
# The last-step task meets the homework figures with 5-8x margin at every seed. The all-steps
# task does NOT: the 1-layer model plateaus at 0.017-0.022 (about 2x the homework's 0.01), and
# the 2-layer model lands at 0.0012-0.0018 for seeds 0-2 (an independent re-run measured
# 0.00115) but 0.0070 at seed 3 (not yet converged after 5,000 batches at lr 1e-4). The
# all-steps grader thresholds are therefore the worst seed plus ~40% slack, not the homework
# numbers; grade the homework figures on the last-step task.
RNN_1H_HPARAMS = {"hidden_size": 32, "lr": 1e-4, "num_batches": 5000, "seed": 0}
RNN_1H_THRESHOLDS: dict[tuple[str, str], dict] = {
    ("1 layer", "all steps"): {
        "homework": 0.01, "measured": 0.02018, "seeds_0_3": (0.02018, 0.02176, 0.01658, 0.02209), "grader": 0.03,
    },
    ("2 layers", "all steps"): {
        "homework": 0.001, "measured": 0.001201, "seeds_0_3": (0.001201, 0.001311, 0.001752, 0.007021),
        "grader": 0.01,
    },
    ("1 layer", "last step"): {
        "homework": 0.01, "measured": 0.000670, "seeds_0_3": (0.000670, 0.000698, 0.000503, 0.001239),
        "grader": 0.01,
    },
    ("2 layers", "last step"): {
        "homework": 0.001, "measured": 0.000197, "seeds_0_3": (0.000197, 0.000113, 0.000167, 0.000170),
        "grader": 0.001,
    },
}  # fmt: skip

# --- 2 ------------------------------------------------------------------------------------------
SURNAME_TARGET = 0.80  # eval accuracy after 20 epochs, as a fraction
SURNAME_MEASURED = 0.8276  # reference, REFERENCE_HPARAMS, seed 0, split seed 227 (seeds 1, 2: 0.8219, 0.8267)


def _status(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def run_1h(tasks: tuple[str, ...] = ("all steps", "last step")) -> bool:
    """Train the 1h models for each task and print the mean of the last 100 losses vs target."""
    from reference import q_rnn_and_grad

    ok = True
    for task in tasks:
        start = time.perf_counter()
        results = q_rnn_and_grad.train_all(
            hidden_size=RNN_1H_HPARAMS["hidden_size"],
            lr=RNN_1H_HPARAMS["lr"],
            num_batches=RNN_1H_HPARAMS["num_batches"],
            last_timestep_only=(task == "last step"),
            seed=RNN_1H_HPARAMS["seed"],
        )
        seconds = time.perf_counter() - start
        for model, losses in results.items():
            figure = float(np.mean(losses[-100:]))
            limits = RNN_1H_THRESHOLDS[(model, task)]
            hw, grader = limits["homework"], limits["grader"]
            ok &= figure < grader
            print(
                f"[1h] {model:8s} {task:9s}: mean of last 100 losses {figure:.5f}  "
                f"homework < {hw:g}: {_status(figure < hw)}  grader < {grader:g}: {_status(figure < grader)}"
            )
        print(f"[1h] {task}: both depths trained in {seconds:.1f} s")
    return ok


def run_2() -> bool:
    """Train the surname classifier with the reference hyperparameters and print eval accuracy."""
    from reference import q_rnn_last_name

    run = q_rnn_last_name.run_reference(seed=0)
    acc = run["history"]["eval_acc"][-1]
    hp = run["hparams"]
    print(
        f"[2]  surname RNN (rnn_size {hp['rnn_size']}, {hp['num_layers']} layer, dropout {hp['dropout']}, "
        f"Adam lr {hp['lr']:g}, batch {hp['batch_size']}): eval accuracy after {hp['epochs']} epochs "
        f"{acc:.2%}  target >= {SURNAME_TARGET:.0%}: {_status(acc >= SURNAME_TARGET)}  "
        f"[{run['seconds']:.1f} s, {torch.get_num_threads()} threads]"
    )
    return acc >= SURNAME_TARGET


def _import_other(name: str, attr: str) -> object | None:
    """Import reference.<name> lazily; None (with a message) if it or ``attr`` is missing."""
    try:
        module = importlib.import_module(f"reference.{name}")
    except ImportError as exc:
        print(f"       skipped: reference/{name}.py cannot be imported yet ({exc})")
        return None
    if not hasattr(module, attr):
        print(f"       skipped: reference/{name}.py has no {attr}() yet")
        return None
    return module


def run_3a() -> bool:
    """Print the MNIST few-shot probe accuracy from q_autoencoder.run_mnist_probe."""
    print("[3a] MNIST linear probe, 200 labels, seed 0:")
    module = _import_other("q_autoencoder", "run_mnist_probe")
    if module is None:
        return True
    start = time.perf_counter()
    acc = float(module.run_mnist_probe(num_labels=200, seed=0))
    seconds = time.perf_counter() - start
    target = getattr(module, "MNIST_PROBE_TARGET", None)
    verdict = "no target recorded" if target is None else f"target >= {target}%: {_status(acc >= target)}"
    print(f"[3a] probe test accuracy {acc:.2f}%  {verdict}  [{seconds:.1f} s]")
    return target is None or acc >= target


def run_5() -> bool:
    """Print the spectral-clustering ARI table from q_graph_clustering.ari_table."""
    print("[5]  spectral clustering ARI, gamma 7.5, 2000 samples, seed 170:")
    module = _import_other("q_graph_clustering", "ari_table")
    if module is None:
        return True
    start = time.perf_counter()
    table = module.ari_table(gamma=7.5, n_samples=2000, seed=170)
    seconds = time.perf_counter() - start
    targets = getattr(module, "ARI_TARGETS", {}) or {}
    ok = True
    for key, value in table.items():
        target = targets.get(key)
        if target is None:
            verdict = "no target recorded"
        else:
            verdict = f"target >= {target}: {_status(value >= target)}"
            ok &= value >= target
        print(f"[5]  {key:18s} ARI {float(value):.4f}  {verdict}")
    print(f"[5]  table computed in {seconds:.1f} s")
    return ok


RUNNERS: dict[str, Callable[[], bool]] = {"1h": run_1h, "2": run_2, "3a": run_3a, "5": run_5}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reference.targets", description=__doc__.split("\n")[0])
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated subset of 1h,2,3a,5")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads (1: fastest for these small models, reproducible)"
    )
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in RUNNERS]
    if unknown:
        parser.error(f"unknown section(s) {unknown}; choose from {','.join(SECTIONS)}")
    torch.set_num_threads(args.threads)
    sys.stdout.reconfigure(line_buffering=True)
    all_ok = True
    total = time.perf_counter()
    for section in chosen:
        start = time.perf_counter()
        all_ok &= RUNNERS[section]()
        print(f"--- section {section} done in {time.perf_counter() - start:.1f} s", flush=True)
    print(f"=== total {time.perf_counter() - total:.1f} s; {'all PASS' if all_ok else 'some figures MISS'}")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
