"""Part 3a (q_autoencoder) checks: the reference gets full marks, the template gets zero with
"not implemented" on every check, each realistic bug costs exactly its own check, and
legitimately different implementations get full marks.

Every submission is graded once per test module (sandboxed) and shared by the tests.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support import TEMPLATE, GradedPart, catalogue_bugs, failed_ids, make_submission, messages, run_grade, scores

PART = "3a"
MODULE = "q_autoencoder"
CHECKS = ("3a.1", "3a.2", "3a.3", "3a.4", "3a.5", "3a.6", "3a.7", "3a.8")

# ------------------------------------------------------------------ realistic bugs: from the proof catalogue (mutants/part3a.toml)

DECODER_LOOP = """            if i > 0:
                layers.append(self.activation_cls())
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        return nn.Sequential(*layers)"""

BUGS = catalogue_bugs(PART, [
    "decoder_activation_at_output", "forward_activation_on_latent", "loss_elementwise_mean", "denoise_loss_on_noisy_input",
    "noise_free", "denoise_std_forgotten", "mask_keep_probability_swapped", "mask_whole_samples", "accuracy_as_fraction",
    "opaque_band", "no_label", "encoder_detached_in_forward",
])

# ------------------------------------------------------------------ legitimately different, correct implementations

ALTERNATIVES: dict[str, list[tuple[str, str]]] = {
    # zip-built decoder, F.mse_loss(sum)/B, normal_() noise, torch.bernoulli keep-mask, accuracy from
    # concatenated predictions, plot from epoch 0 with plt.* calls and an RGBA band colour.
    "alt_a": [
        (
            DECODER_LOOP,
            """            pass
        dims = list(reversed(self.hidden_sizes)) + [self.input_size]
        mods: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:]):
            mods += [nn.Linear(a, b), self.activation_cls()]
        return nn.Sequential(*mods[:-1])""",
        ),
        ("return ((x_hat - x) ** 2).sum(dim=1).mean()", 'return F.mse_loss(x_hat, x, reduction="sum") / x.shape[0]'),
        ("x_noisy = x + self.noise_std * torch.randn_like(x)", "x_noisy = x + torch.empty_like(x).normal_(0.0, self.noise_std)"),
        ("keep = (torch.rand_like(x) >= self.mask_prob).to(x.dtype)", "keep = torch.bernoulli(torch.full_like(x, 1.0 - self.mask_prob))"),
        (
            """        self.model.eval()
        num_correct, num_samples = 0, 0
        with torch.no_grad():
            for idx in range(self.dataset.get_num_batches(split)):
                x, y = self.dataset.get_batch(idx, split)
                preds = classifier(self.model.encode(x)).argmax(dim=-1)
                num_correct += int((preds == y).sum().item())
                num_samples += int(y.shape[0])
        return 100.0 * num_correct / num_samples""",
            """        self.model.eval()
        preds, labels = [], []
        with torch.no_grad():
            for idx in range(self.dataset.get_num_batches(split)):
                x, y = self.dataset.get_batch(idx, split)
                preds.append(torch.max(classifier(self.model.encoder(x)), 1)[1])
                labels.append(y)
        return (torch.cat(preds) == torch.cat(labels)).float().mean().item() * 100""",
        ),
        (
            """    values = np.asarray(values, dtype=float)
    epochs = np.arange(1, values.shape[1] + 1)
    ax = plt.gca()
    (line,) = ax.plot(epochs, values.mean(axis=0), marker="o", label=str(feats_dim))
    ax.fill_between(epochs, values.min(axis=0), values.max(axis=0),
                    color=line.get_color(), alpha=0.2)""",
            """    values = np.array(values)
    epochs = range(values.shape[1])
    line = plt.plot(epochs, np.mean(values, 0), ".-", label=f"{feats_dim}")[0]
    r, g, b, _ = matplotlib.colors.to_rgba(line.get_color())
    plt.fill_between(epochs, np.min(values, 0), np.max(values, 0), facecolor=(r, g, b, 0.3), edgecolor="none")""",
        ),
    ],
    # Float64 internally, an explicit loop for the decoder, bool masks with masked_fill, numpy accuracy.
    "alt_b": [
        (
            DECODER_LOOP,
            """            pass
        decoder = nn.Sequential()
        for i in range(len(sizes) - 1):
            if len(decoder):
                decoder.append(self.activation_cls())
            decoder.append(nn.Linear(sizes[i], sizes[i + 1]))
        return decoder""",
        ),
        ("return ((x_hat - x) ** 2).sum(dim=1).mean()", "return torch.sum((x.double() - x_hat.double()) ** 2).float() / len(x)"),
        ("x_noisy = x + self.noise_std * torch.randn_like(x)", "x_noisy = (x.double() + torch.randn(x.shape, dtype=torch.float64) * self.noise_std).float()"),
        (
            "keep = (torch.rand_like(x) >= self.mask_prob).to(x.dtype)\n        x_hat = self.forward(x * keep)",
            "masked = torch.rand(x.shape, dtype=torch.float64) < self.mask_prob\n        x_hat = self.forward(x.masked_fill(masked, 0.0))",
        ),
        ("return 100.0 * num_correct / num_samples", "return np.float64(num_correct) / np.float64(num_samples) * np.float64(100)"),
        ('marker="o", label=str(feats_dim))', 'marker="s", linestyle="--", label="%d" % feats_dim)'),
    ],
}


# ------------------------------------------------------------------ grading each submission once


Graded = GradedPart


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    return Graded(tmp_path_factory.mktemp("part3a"), MODULE, PART)


def test_reference_gets_full_marks(graded: Graded) -> None:
    results = graded("reference")
    got = {k: v for k, v in scores(results).items() if k.startswith(PART)}
    assert sorted(got) == sorted(CHECKS)
    assert failed_ids(results, only=(PART,)) == set(), messages(results)
    assert all(score == full and full > 0 for score, full in got.values())


def test_every_check_is_fast_on_the_reference(graded: Graded) -> None:
    graded("reference")
    seconds = graded.seconds["reference"]
    assert all(seconds[c] < (20 if c == "3a.8" else 8) for c in CHECKS), seconds


def test_template_gets_zero_with_not_implemented_on_every_check(graded: Graded) -> None:
    if not (TEMPLATE / f"{MODULE}.py").is_file():
        pytest.skip(f"student_template/{MODULE}.py is not there yet")
    results = graded("template", source=TEMPLATE)
    text = messages(results)
    for check in CHECKS:
        assert scores(results)[check][0] == 0, check
        assert "Not implemented yet: your code raised NotImplementedError: 3a: implement" in text[check], (check, text[check])
    # Checks that do not need the decoder name the part they grade, not the decoder.
    for check, part in (("3a.3", "Autoencoder.loss"), ("3a.6", "Experiment._get_model_accuracy"), ("3a.7", "plot_single")):
        assert text[check].startswith(f"Not implemented yet: your code raised NotImplementedError: 3a: implement {part}"), text[check]


PARTIAL = [
    ('raise NotImplementedError("3a: implement Autoencoder.loss")', "return ((x_hat - x) ** 2).sum(dim=1).mean()"),
    (
        'raise NotImplementedError("3a: implement Experiment._get_model_accuracy")',
        """preds = [classifier(self.model.encode(self.dataset.get_batch(i, split)[0])).argmax(-1) for i in range(self.dataset.get_num_batches(split))]
        labels = [self.dataset.get_batch(i, split)[1] for i in range(self.dataset.get_num_batches(split))]
        return 100.0 * float((torch.cat(preds) == torch.cat(labels)).double().mean())""",
    ),
    (
        'raise NotImplementedError("3a: implement plot_single")',
        """line = plt.plot(range(1, len(values[0]) + 1), np.mean(values, axis=0), "o-", label=str(feats_dim))[0]
    plt.fill_between(range(1, len(values[0]) + 1), np.min(values, axis=0), np.max(values, axis=0), color=line.get_color(), alpha=0.3)""",
    ),
]


def test_parts_that_do_not_need_the_decoder_are_graded_without_it(graded: Graded) -> None:
    """The template with only loss, _get_model_accuracy and plot_single filled in (no decoder yet)."""
    if not (TEMPLATE / f"{MODULE}.py").is_file():
        pytest.skip(f"student_template/{MODULE}.py is not there yet")
    results = graded("partial", PARTIAL, source=TEMPLATE)
    assert failed_ids(results, only=(PART,)) == set(CHECKS) - {"3a.3", "3a.6", "3a.7"}, messages(results)


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_a_realistic_bug_costs_exactly_its_check(graded: Graded, bug: str) -> None:
    fails, patches = BUGS[bug]
    results = graded(bug, patches)
    assert failed_ids(results, only=(PART,)) == set(fails), messages(results)
    for check in fails:
        message = messages(results)[check]
        assert "grader failed" not in message and "Time limit" not in message, message


@pytest.mark.parametrize("name", sorted(ALTERNATIVES))
def test_a_different_correct_implementation_gets_full_marks(graded: Graded, name: str) -> None:
    results = graded(name, ALTERNATIVES[name])
    assert failed_ids(results, only=(PART,)) == set(), messages(results)


def test_messages_name_the_mistake(graded: Graded) -> None:
    bugs = ("loss_elementwise_mean", "noise_free", "mask_keep_probability_swapped", "accuracy_as_fraction", "opaque_band")
    text = {bug: messages(graded(bug, BUGS[bug][1]))[BUGS[bug][0][0]] for bug in bugs}
    assert "homework's example" in text["loss_elementwise_mean"] and "expected 10.7" in text["loss_elementwise_mean"]
    assert "standard deviation of the noise" in text["noise_free"]
    assert "fraction of input entries set to exactly 0" in text["mask_keep_probability_swapped"]
    assert "expected 53.0000 (+- 0.005" in text["accuracy_as_fraction"] and "got 0.5300" in text["accuracy_as_fraction"]
    assert "translucent" in text["opaque_band"]


# ------------------------------------------------------------------ statistics across many seeds (slow)


def _ctx(check_id: str, submission: Path, seed: int):
    from autograder import rubric as rubric_mod
    from autograder.checks.context import Ctx
    from autograder.sandbox.inprocess import InProcessSession

    ctx = Ctx(rubric_mod.load(rubric_mod.default_path()).by_id()[check_id], lambda: InProcessSession(str(submission)), time.monotonic() + 600)
    ctx.seed = seed
    return ctx


def _run(check_id: str, submission: Path, seeds: range) -> list[tuple[int, str]]:
    from autograder.checks import registry
    from autograder.checks.compare import CheckFailed

    function = registry()[check_id]
    failures = []
    for seed in seeds:
        ctx = _ctx(check_id, submission, seed)
        try:
            function(ctx)
        except CheckFailed as exc:
            failures.append((seed, exc.message))
        finally:
            if ctx.session is not None:
                ctx.session.close()
    return failures


@pytest.mark.slow
@pytest.mark.parametrize("check_id", ["3a.4", "3a.5"])
def test_statistical_checks_pass_the_reference_for_many_seeds(tmp_path: Path, check_id: str) -> None:
    submission = make_submission(tmp_path / "reference", modules=(MODULE,))
    assert _run(check_id, submission, range(300)) == []


@pytest.mark.slow
@pytest.mark.parametrize("name", ["alt_a", "alt_b"])
def test_statistical_checks_pass_the_alternatives_for_many_seeds(tmp_path: Path, name: str) -> None:
    submission = make_submission(tmp_path / name, {MODULE: ALTERNATIVES[name]}, modules=(MODULE,))
    assert _run("3a.4", submission, range(100)) == []
    assert _run("3a.5", submission, range(100)) == []


@pytest.mark.slow
@pytest.mark.parametrize("bug", ["noise_free", "denoise_std_forgotten", "mask_keep_probability_swapped", "mask_whole_samples"])
def test_statistical_bugs_fail_for_every_seed(tmp_path: Path, bug: str) -> None:
    (check,), patches = BUGS[bug]
    submission = make_submission(tmp_path / bug, {MODULE: patches}, modules=(MODULE,))
    assert len(_run(check, submission, range(50))) == 50


@pytest.mark.slow
def test_mnist_probe_check_is_stable_across_seeds(tmp_path: Path) -> None:
    reference = make_submission(tmp_path / "reference", modules=(MODULE,))
    detached = make_submission(tmp_path / "detached", {MODULE: BUGS["encoder_detached_in_forward"][1]}, modules=(MODULE,))
    seeds = range(1000, 1006)
    assert _run("3a.8", reference, seeds) == []
    assert len(_run("3a.8", detached, seeds)) == len(seeds)
