"""Whittington & Bogacz (2017): supervised predictive coding and backpropagation.

The circuit's weight updates are compared with the gradients of the same network computed by
an independent NumPy backpropagation written per sample from the chain rule
(tests/reference.py: mlp_gradients), and the digits classifier with that reference trained on
the same minibatches from the same initial weights.
"""
import json

import numpy as np
import pytest
from brian2 import ms

from circuits.cli import main
from circuits.simulations import backprop_equivalence, digits_classification
from circuits.simulations.supervised import backprop_gradients, build_circuit, layer_names, stable_dt
from tests.reference import mlp_gradients, mlp_layers, mlp_train

TAU = 2 * ms


def _network(rng, sizes=(6, 5, 4, 3), batch=4):
    weights = [rng.normal(size=(sizes[k + 1], sizes[k])) / np.sqrt(sizes[k]) for k in range(len(sizes) - 1)]
    biases = [0.2 * rng.normal(size=n) for n in sizes[1:]]
    return weights, biases, rng.normal(size=(batch, sizes[0])), rng.normal(size=(batch, sizes[-1]))


def test_package_backprop_equals_the_reference(rng):
    """The simulations' batched backprop (the ML baseline) equals the per-sample reference."""
    weights, biases, x, y = _network(rng)
    for ours, reference in zip(backprop_gradients(weights, biases, x, y), mlp_gradients(weights, biases, x, y)):
        for a, b in zip(ours, reference):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("output_variance", [1.0, 10.0])
def test_fixed_predictions_give_backprop_exactly(rng, output_variance):
    """The fixed-prediction variant: start at the forward pass (reset_between="prediction": the
    top-down sweep from the clamped input, where every ε = 0) and run 20 τ there, hold every
    hidden column (Circuit.hold), clamp the label and settle for 100 τ (the held columns'
    deviations relax at ≥ 1/τ); the item-end Hebbian updates then equal −α/Σ_out ∂L/∂W for any
    output variance: relative error below 1e-6 (observed ~1e-14)."""
    weights, biases, x, y = _network(rng)
    circuit = build_circuit(weights, biases, output_variance, batch_size=len(x), dt=stable_dt(output_variance, TAU),
                            learning_rate=1.0, tau_estimate=TAU, tau_error=TAU)
    names = layer_names(len(weights) + 1)
    circuit.run_sequence({"input": x[None]}, 20 * TAU, reset_between="prediction", learn=False)
    forward = np.array([mlp_layers(weights, biases, sample)[-1] for sample in x])
    np.testing.assert_allclose(circuit.estimate("output"), forward, atol=1e-9)
    for name in names[1:-1]:
        circuit.hold(name)
    circuit.clamp("output", y)
    circuit.run(100 * TAU, record=False, learn="trial")
    gradients, bias_gradients = mlp_gradients(weights, biases, x, y)
    for k, (w, b) in enumerate(zip(weights, biases)):
        update = circuit.weights(names[k], names[k + 1]) - w
        error = np.linalg.norm(output_variance * update + gradients[k]) / np.linalg.norm(gradients[k])
        assert error < 1e-6, (k, error)
        bias_update = circuit.bias(names[k], names[k + 1]) - b
        np.testing.assert_allclose(output_variance * bias_update, -bias_gradients[k], rtol=1e-6, atol=1e-9)


def test_hold_and_release_errors():
    rng = np.random.default_rng(1)
    weights, biases, x, _ = _network(rng)
    circuit = build_circuit(weights, biases, batch_size=len(x))
    with pytest.raises(ValueError, match="hold: 'input' is clamped"):
        circuit.hold("input")
    circuit.hold("hidden1")
    with pytest.raises(ValueError, match="release it first"):
        circuit.clamp("hidden1")
    circuit.release("hidden1")
    circuit.clamp("hidden1")


@pytest.mark.slow
def test_relative_error_falls_with_output_variance(tmp_path):
    """pcsim run backprop-equivalence: the relative error of every layer's update falls as the
    output variance grows (each tenfold step at least halves it) and is below 0.02 at 1000
    (W&B 2017 Fig. 3); the errors are recomputed here against the reference gradients; the
    fixed-prediction variant is exact (< 1e-6)."""
    assert main(["run", "backprop-equivalence", "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    errors = summary["relative_error_by_variance"]
    variances = summary["output_variances"]
    weights, biases, x, y = backprop_equivalence.network(0)
    gradients, _ = mlp_gradients(weights, biases, x, y)
    top = backprop_equivalence.circuit_updates(weights, biases, x, y, 1000.0)
    assert max(backprop_equivalence.relative_errors(top, gradients, 1000.0)) < 0.02
    assert max(errors["1000.0"]) < 0.02
    for low, high in zip(variances, variances[2:]):   # tenfold steps (1, 3, 10, 30, …)
        assert all(b < 0.5 * a for a, b in zip(errors[str(low)], errors[str(high)]))
    assert summary["fixed_prediction_error"] < 1e-6
    assert (tmp_path / "backprop_equivalence.png").exists()


@pytest.mark.slow
def test_digits_classification_matches_backprop(tmp_path):
    """pcsim run digits-classification: the batched circuit (local rules) reaches ≥ 95 % test
    accuracy, within 1 point of the same MLP trained by the reference backprop from the same
    initial weights on the same minibatches."""
    assert main(["run", "digits-classification", "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert (tmp_path / "digits_classification.png").exists()
    x_train, y_train, x_test, _, labels = digits_classification.load_digits_split(0)
    rng = np.random.default_rng(0)
    weights, biases = digits_classification.initial_parameters(rng)
    epochs = digits_classification.minibatches(x_train, y_train, summary["epochs"], rng)
    trained = mlp_train(weights, biases, [batch for epoch in epochs for batch in epoch], summary["learning_rate"])
    reference = np.mean([mlp_layers(*trained, sample)[-1].argmax() for sample in x_test] == labels)
    assert summary["backprop_test_accuracy"] == pytest.approx(reference, abs=1e-12)
    assert summary["test_accuracy"] >= 0.95
    assert abs(summary["test_accuracy"] - reference) <= 0.01
