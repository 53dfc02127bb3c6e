"""Facts the reference solution of problem 1 (q_rnn_and_grad) must satisfy.

These pin the homework's published test values and the interface the grader
relies on (attribute names, shapes, h_list, the RNNLayer lookup in RNN).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from reference import q_rnn_and_grad as q

# The homework notebook's two-sequence test batch, shape (2, 4, 2).
NOTEBOOK_X = torch.tensor(
    [
        [[0.1, 0.15], [0.2, 0.25], [0.3, 0.35], [0.4, 0.45]],
        [[-0.1, -1.5], [-0.2, -2.5], [-0.3, -3.5], [-0.4, -0.45]],
    ]
)


@pytest.fixture
def one_thread():
    """Tiny models train fastest (and least disturbed by other jobs) on one CPU thread."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _fill(module: nn.Module, value: float) -> None:
    module.load_state_dict({k: torch.full_like(v, value) for k, v in module.state_dict().items()})


def _n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# --- 1a: RNNLayer -----------------------------------------------------------------------------


def test_rnn_layer_with_every_parameter_0_1_maps_one_input_to_tanh_0_2() -> None:
    layer = q.RNNLayer(1, 1)
    _fill(layer, 0.1)
    all_h, last_h = layer(torch.ones(1, 1, 1))
    assert all_h.shape == (1, 1, 1) and last_h.shape == (1, 1)
    assert all_h.item() == pytest.approx(0.1973753273, abs=1e-8)
    assert last_h.item() == pytest.approx(np.tanh(0.2), abs=1e-7)


def test_rnn_layer_2_to_3_has_18_parameters_with_exactly_one_bias_vector() -> None:
    layer = q.RNNLayer(2, 3)
    assert _n_params(layer) == 18
    vectors = [p for p in layer.parameters() if p.dim() == 1]
    assert len(vectors) == 1 and vectors[0].shape == (3,)


def test_rnn_layer_keeps_its_constructor_arguments_as_attributes() -> None:
    def relu(t: torch.Tensor) -> torch.Tensor:
        return torch.relu(t)

    layer = q.RNNLayer(4, 5, nonlinearity=relu)
    assert (layer.input_size, layer.hidden_size, layer.nonlinearity) == (4, 5, relu)
    assert q.RNNLayer(4, 5).nonlinearity is torch.tanh


def test_rnn_layer_matches_the_notebook_values_without_nonlinearity() -> None:
    layer = q.RNNLayer(2, 3, nonlinearity=lambda t: t)
    _fill(layer, -0.1)
    all_h, last_h = layer(NOTEBOOK_X)
    expected = torch.tensor(
        [
            [[-0.1250] * 3, [-0.1075] * 3, [-0.1328] * 3, [-0.1452] * 3],
            [[0.0600] * 3, [0.1520] * 3, [0.2344] * 3, [-0.0853] * 3],
        ]
    )
    assert all_h.shape == (2, 4, 3) and last_h.shape == (2, 3)
    assert torch.allclose(all_h, expected, atol=1e-4)
    assert torch.allclose(last_h, expected[:, -1], atol=1e-4)


def test_rnn_layer_calls_the_nonlinearity_once_per_step_on_the_batch_pre_activation() -> None:
    seen: list[tuple[int, ...]] = []

    def spy(t: torch.Tensor) -> torch.Tensor:
        seen.append(tuple(t.shape))
        return torch.tanh(t)

    layer = q.RNNLayer(3, 5, nonlinearity=spy)
    layer(torch.randn(4, 7, 3))
    assert seen == [(4, 5)] * 7


def test_rnn_layer_starts_from_zero_and_follows_the_recurrence() -> None:
    torch.manual_seed(0)
    layer = q.RNNLayer(3, 4)
    x = torch.randn(2, 5, 3)
    all_h, last_h = layer(x)
    w_h = q.recurrent_weight(layer).detach()
    with torch.no_grad():
        layer.nonlinearity = lambda t: t
        # One step from h_0 = 0 with the identity gives exactly W^x x_t + b.
        drive = [layer(x[:, t : t + 1])[0][:, 0] for t in range(5)]
    h = torch.zeros(2, 4)
    for t in range(5):
        h = torch.tanh(h @ w_h.T + drive[t])
        assert torch.allclose(all_h[:, t], h, atol=1e-6), t
    assert torch.allclose(last_h, all_h[:, -1])


def test_rnn_layer_keeps_the_hidden_states_it_used_with_their_gradients() -> None:
    torch.manual_seed(0)
    layer = q.RNNLayer(2, 3)
    all_h, _ = layer(torch.randn(4, 6, 2))
    assert len(layer.h_list) == 6
    for t, h in enumerate(layer.h_list):
        assert h.shape == (4, 3)
        assert torch.equal(h, all_h[:, t])
    all_h.sum().backward()
    assert all(h.grad is not None and h.grad.shape == (4, 3) for h in layer.h_list)


def test_rnn_layer_runs_without_autograd() -> None:
    layer = q.RNNLayer(2, 3)
    with torch.no_grad():
        all_h, last_h = layer(torch.randn(2, 3, 2))
    assert all_h.shape == (2, 3, 3) and len(layer.h_list) == 3


# --- 1b: RecurrentRegressionModel -------------------------------------------------------------


def test_regression_model_on_rnn_layer_2_3_with_4_outputs_has_34_parameters() -> None:
    assert _n_params(q.RecurrentRegressionModel(q.RNNLayer(2, 3), 4)) == 34


def test_regression_model_reads_out_every_step_and_matches_the_notebook() -> None:
    model = q.RecurrentRegressionModel(q.RNNLayer(2, 3), 4)
    _fill(model, -0.1)
    out, all_h = model(NOTEBOOK_X)
    expected_out = torch.tensor(
        [
            [[-0.0627] * 4, [-0.0678] * 4, [-0.0604] * 4, [-0.0567] * 4],
            [[-0.1180] * 4, [-0.1453] * 4, [-0.1692] * 4, [-0.0748] * 4],
        ]
    )
    expected_h = torch.tensor(
        [
            [[-0.1244] * 3, [-0.1073] * 3, [-0.1320] * 3, [-0.1444] * 3],
            [[0.0599] * 3, [0.1509] * 3, [0.2305] * 3, [-0.0840] * 3],
        ]
    )
    assert out.shape == (2, 4, 4) and all_h.shape == (2, 4, 3)
    assert torch.allclose(out, expected_out, atol=1e-4)
    assert torch.allclose(all_h, expected_h, atol=1e-4)


def test_regression_model_returns_the_recurrent_nets_hidden_sequence() -> None:
    torch.manual_seed(1)
    model = q.RecurrentRegressionModel(q.RNNLayer(1, 6), 2)
    x = torch.randn(3, 5, 1)
    out, all_h = model(x)
    assert torch.equal(all_h, model.recurrent_net(x)[0])
    assert model.recurrent_net is not None and model.output_dim == 2
    assert out.shape == (3, 5, 2)


@pytest.mark.parametrize("num_layers", [1, 2])
def test_regression_model_also_wraps_the_stacked_rnn(num_layers: int) -> None:
    model = q.RecurrentRegressionModel(q.RNN(1, 8, num_layers))
    out, all_h = model(torch.randn(2, 10, 1))
    assert out.shape == (2, 10, 1) and all_h.shape == (2, 10, 8)


# --- 1c: data and loss ------------------------------------------------------------------------


def test_generate_batch_gives_float32_inputs_and_their_running_mean() -> None:
    torch.manual_seed(0)
    x, y = q.generate_batch(seq_len=7, batch_size=3)
    assert x.shape == y.shape == (3, 7, 1)
    assert x.dtype == y.dtype == torch.float32
    for t in range(7):
        assert torch.allclose(y[:, t], x[:, : t + 1].mean(dim=1), atol=1e-6)
    assert q.generate_batch()[0].shape == (1, 10, 1)


PRED = torch.tensor([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
TARGET = torch.tensor([[-1.1, -1.2, -1.3], [-1.4, -1.5, -1.6]])


@pytest.mark.parametrize("shape", ["(B,T)", "(B,T,1)"])
def test_loss_fn_is_mse_over_all_steps_or_over_the_last_step(shape: str) -> None:
    pred, y = (PRED, TARGET) if shape == "(B,T)" else (PRED.unsqueeze(-1), TARGET.unsqueeze(-1))
    all_steps = q.loss_fn(pred, y)
    last_step = q.loss_fn(pred, y, last_timestep_only=True)
    assert all_steps.dim() == 0 and last_step.dim() == 0
    assert all_steps.item() == pytest.approx(3.0067, abs=5e-5)
    assert last_step.item() == pytest.approx(3.7, abs=1e-5)


def test_loss_fn_is_differentiable() -> None:
    pred = PRED.clone().requires_grad_(True)
    q.loss_fn(pred, TARGET, last_timestep_only=True).backward()
    assert torch.all(pred.grad[:, :-1] == 0) and torch.all(pred.grad[:, -1] != 0)


# --- 1d: gradients through time ---------------------------------------------------------------


class _WithGain(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(3, 2)
        self.gain = nn.Parameter(torch.tensor([1.5, -2.0]))


def test_scale_parameters_scales_weights_and_biases_separately_in_place() -> None:
    torch.manual_seed(0)
    model = q.RecurrentRegressionModel(q.RNNLayer(2, 3), 2)
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    ids = {k: id(v) for k, v in model.named_parameters()}
    q.scale_parameters(model, 3.0, -0.5)
    for name, param in model.named_parameters():
        assert id(param) == ids[name] and param.is_leaf and param.requires_grad
        factor = 3.0 if "weight" in name else -0.5
        assert torch.allclose(param, before[name] * factor), name


def test_scale_parameters_leaves_a_parameter_named_neither_weight_nor_bias_unchanged() -> None:
    model = _WithGain()
    gain = model.gain.detach().clone()
    weight, bias = model.lin.weight.detach().clone(), model.lin.bias.detach().clone()
    q.scale_parameters(model, 2.0, 10.0)
    assert torch.equal(model.gain, gain)
    assert torch.allclose(model.lin.weight, 2 * weight) and torch.allclose(model.lin.bias, 10 * bias)


def test_recurrent_weight_is_the_square_matrix_applied_to_the_previous_state() -> None:
    torch.manual_seed(0)
    layer = q.RNNLayer(3, 4, nonlinearity=lambda t: t)
    w = q.recurrent_weight(layer)
    assert w.shape == (4, 4)
    assert any(w.data_ptr() == p.data_ptr() for p in layer.parameters()), "should share the parameter's storage"
    # With zero input and identity nonlinearity: h_1 = b and h_2 = W^h h_1 + b.
    all_h, _ = layer(torch.zeros(2, 2, 3))
    h1, h2 = all_h[:, 0], all_h[:, 1]
    assert torch.allclose(h2 - h1, (w @ h1.T).T, atol=1e-6)


def test_biggest_eig_magnitude_is_the_spectral_radius() -> None:
    assert q.biggest_eig_magnitude(torch.tensor([[0.0, 2.0], [-2.0, 0.0]])) == pytest.approx(2.0)
    assert q.biggest_eig_magnitude(torch.diag(torch.tensor([3.0, -5.0, 1.0]))) == pytest.approx(5.0)


def _small_model(seed: int = 0, hidden: int = 8, weight_scale: float = 0.5) -> q.RecurrentRegressionModel:
    torch.manual_seed(seed)
    model = q.RecurrentRegressionModel(q.RNNLayer(1, hidden))
    q.scale_parameters(model.recurrent_net, weight_scale, 1.0)
    return model


def test_hidden_grad_norms_returns_one_float64_norm_per_step() -> None:
    model = _small_model()
    x, y = q.generate_batch(12, 3)
    norms = q.hidden_grad_norms(model, x, y, last_timestep_only=False)
    assert isinstance(norms, np.ndarray) and norms.dtype == np.float64 and norms.shape == (12,)
    assert np.all(np.isfinite(norms)) and np.all(norms > 0)


def test_hidden_grad_norms_grow_toward_the_last_step_for_a_last_step_loss_with_small_weights() -> None:
    model = _small_model(weight_scale=0.5)
    torch.manual_seed(1)
    x, y = q.generate_batch(15, 2)
    norms = q.hidden_grad_norms(model, x, y, last_timestep_only=True)
    assert np.all(np.diff(norms) > 0), norms
    assert norms[0] < 1e-3 * norms[-1]


def test_hidden_grad_norm_at_the_last_step_is_the_direct_read_out_gradient() -> None:
    model = _small_model(seed=3)
    torch.manual_seed(4)
    x, y = q.generate_batch(6, 4)
    for last_only in (False, True):
        norms = q.hidden_grad_norms(model, x, y, last_only)
        pred, all_h = model(x)
        (grad,) = torch.autograd.grad(q.loss_fn(pred, y, last_only), all_h)
        assert norms[-1] == pytest.approx(float(grad[:, -1].norm()), rel=1e-5)


def test_hidden_grad_norms_ignore_stale_gradients() -> None:
    model = _small_model(seed=5)
    x, y = q.generate_batch(8, 2)
    first = q.hidden_grad_norms(model, x, y, False)
    second = q.hidden_grad_norms(model, x, y, False)
    np.testing.assert_allclose(first, second, rtol=1e-6)
    out_grad = model.output_layer.weight.grad.clone()
    q.hidden_grad_norms(model, x, y, False)
    assert torch.allclose(model.output_layer.weight.grad, out_grad)


def test_plot_gradient_flow_writes_a_png(tmp_path) -> None:
    path = q.plot_gradient_flow(hidden_size=4, weight_scales=(0.5, 2.0), seq_len=6, path=tmp_path / "flow.png")
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000


# --- 1h: stacked RNN --------------------------------------------------------------------------


@pytest.mark.parametrize("num_layers", [1, 2, 3])
def test_rnn_returns_top_layer_sequence_and_every_layers_last_state(num_layers: int) -> None:
    torch.manual_seed(0)
    rnn = q.RNN(2, 5, num_layers)
    assert (rnn.input_size, rnn.hidden_size, rnn.num_layers) == (2, 5, num_layers)
    assert isinstance(rnn.layers, nn.ModuleList) and len(rnn.layers) == num_layers
    assert [(layer.input_size, layer.hidden_size) for layer in rnn.layers] == [(2, 5)] + [(5, 5)] * (
        num_layers - 1
    )
    x = torch.randn(3, 7, 2)
    all_h, last_h = rnn(x)
    assert all_h.shape == (3, 7, 5) and last_h.shape == (num_layers, 3, 5)
    h = x
    for i, layer in enumerate(rnn.layers):
        h, last = layer(h)
        assert torch.allclose(last_h[i], last)
    assert torch.allclose(all_h, h)


def test_rnn_builds_its_layers_from_the_modules_rnn_layer_name(monkeypatch) -> None:
    built: list[tuple[int, int]] = []

    class Recorder(q.RNNLayer):
        def __init__(self, input_size, hidden_size, nonlinearity=torch.tanh):
            built.append((input_size, hidden_size))
            super().__init__(input_size, hidden_size, nonlinearity)

    monkeypatch.setattr(q, "RNNLayer", Recorder)
    rnn = q.RNN(3, 4, 2)
    assert built == [(3, 4), (4, 4)]
    assert all(isinstance(layer, Recorder) for layer in rnn.layers)


def test_training_a_two_layer_rnn_briefly_lowers_the_loss(one_thread) -> None:
    torch.manual_seed(0)
    model = q.RecurrentRegressionModel(q.RNN(1, 16, 2))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = q.train(model, optimizer, num_batches=120, last_timestep_only=False, seq_len=10, batch_size=16)
    assert len(losses) == 120 and all(isinstance(v, float) for v in losses)
    assert np.mean(losses[-30:]) < 0.5 * np.mean(losses[:30])


def test_train_all_reports_both_depths(one_thread) -> None:
    results = q.train_all(hidden_size=4, lr=1e-3, num_batches=3, last_timestep_only=True, seed=0)
    assert set(results) == {"1 layer", "2 layers"}
    assert all(len(v) == 3 for v in results.values())
    again = q.train_all(hidden_size=4, lr=1e-3, num_batches=3, last_timestep_only=True, seed=0)
    assert again == results


@pytest.mark.slow
@pytest.mark.parametrize("last_timestep_only", [False, True])
def test_homework_1h_runs_reach_the_documented_thresholds(last_timestep_only: bool) -> None:
    from reference.targets import RNN_1H_THRESHOLDS

    results = q.train_all(hidden_size=32, lr=1e-4, num_batches=5000, last_timestep_only=last_timestep_only, seed=0)
    task = "last step" if last_timestep_only else "all steps"
    for key, losses in results.items():
        threshold = RNN_1H_THRESHOLDS[(key, task)]["grader"]
        assert np.mean(losses[-100:]) < threshold, (key, task)


# --- reference/targets.py ---------------------------------------------------------------------


def test_targets_document_a_1h_threshold_for_every_depth_and_task() -> None:
    from reference.targets import RNN_1H_THRESHOLDS

    assert set(RNN_1H_THRESHOLDS) == {(m, t) for m in ("1 layer", "2 layers") for t in ("all steps", "last step")}
    for (model, _task), limits in RNN_1H_THRESHOLDS.items():
        assert limits["homework"] == (0.01 if model == "1 layer" else 0.001)
        assert limits["measured"] < limits["grader"] and max(limits["seeds_0_3"]) < limits["grader"]


def test_targets_cli_rejects_an_unknown_section() -> None:
    from reference.targets import main

    with pytest.raises(SystemExit) as info:
        main(["--only", "1h,bogus"])
    assert info.value.code == 2
