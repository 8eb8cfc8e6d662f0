"""Batched trials (issue 6): B independent copies through the same weights in one network."""
import numpy as np
import pytest
from brian2 import ms

from circuits import Circuit


def build(batch=None, backend="dense", plastic=False, seed=0, **circuit_options):
    rng = np.random.default_rng(seed)
    circuit = Circuit(batch_size=batch, backend=backend, **circuit_options)
    circuit.sensory("x", 6, covariance=0.5)
    circuit.column("z1", 4, covariance=np.eye(4) + 0.2)        # full Σ: lateral synapses
    circuit.column("z2", 2, prior_mean=[0.3, -0.2])
    rate = 0.05 if plastic else 0.0
    circuit.connect("z1", "x", rng.normal(size=(6, 4)) / 2, activation="tanh", plastic=plastic,
                    learning_rate=rate, learn_bias=plastic)
    circuit.connect("z2", "z1", rng.normal(size=(4, 2)) / 2, plastic=plastic, learning_rate=rate)
    return circuit


@pytest.mark.parametrize("backend", ["dense", "synapses"])
def test_batch_equals_separate_runs(backend):
    """Constant and time-varying stimuli, every recorded step, free energy: equal to B
    unbatched runs to 1e-12 (the dense batch uses matrix–matrix products, so the last bits
    may differ from matrix–vector ones)."""
    rng = np.random.default_rng(1)
    constant, varying = rng.normal(size=(5, 6)), rng.normal(size=(300, 5, 6))
    batched = build(5, backend)
    rec_constant = batched.run(20 * ms, stimulus=constant)
    rec_varying = batched.run(30 * ms, stimulus=varying)
    assert batched.estimate("z1").shape == (5, 4) and rec_varying.estimate["z2"].shape == (300, 5, 2)
    assert rec_varying.free_energy.shape == (300, 5) and batched.free_energy().shape == (5,)
    for copy in range(5):
        single = build(None, backend)
        first = single.run(20 * ms, stimulus=constant[copy])
        second = single.run(30 * ms, stimulus=varying[:, copy])
        for batch_rec, single_rec in ((rec_constant, first), (rec_varying, second)):
            for name in single_rec.estimate:
                np.testing.assert_allclose(batch_rec.estimate[name][:, copy], single_rec.estimate[name],
                                           rtol=0, atol=1e-12)
                np.testing.assert_allclose(batch_rec.error[name][:, copy], single_rec.error[name],
                                           rtol=0, atol=1e-12)
            np.testing.assert_allclose(batch_rec.free_energy[:, copy], single_rec.free_energy,
                                       rtol=1e-12, atol=1e-12)


def test_batched_learning_averages_the_hebbian_updates():
    """Trial learning with B = 3: after each item W ← W + α mean_b(ε_b f(μ_b)ᵀ) (and b, W of
    the upper projection), checked against three unbatched circuits run with the weights of
    that moment, learning off, whose end states give the updates by hand."""
    rng = np.random.default_rng(2)
    items = rng.normal(size=(3, 3, 6))
    batched = build(3, plastic=True)
    batched.run_sequence(items, 15 * ms)
    W1, b1, W2 = build().weights("z1", "x"), np.zeros(6), build().weights("z2", "z1")
    for item in items:
        ends = []
        for stimulus in item:
            single = build()
            single.set_weights("z1", "x", W1)
            single.projections[0].bias[:] = b1
            single.set_weights("z2", "z1", W2)
            single.run_sequence(stimulus[None], 15 * ms, learn=False)
            ends.append((single.error("x"), np.tanh(single.estimate("z1")), single.error("z1"),
                         single.estimate("z2")))
        W1 = W1 + 0.05 * np.mean([np.outer(e, f) for e, f, _, _ in ends], axis=0)
        b1 = b1 + 0.05 * np.mean([e for e, _, _, _ in ends], axis=0)
        W2 = W2 + 0.05 * np.mean([np.outer(e, m) for _, _, e, m in ends], axis=0)
    np.testing.assert_allclose(batched.weights("z1", "x"), W1, atol=1e-12)
    np.testing.assert_allclose(batched.bias("z1", "x"), b1, atol=1e-12)
    np.testing.assert_allclose(batched.weights("z2", "z1"), W2, atol=1e-12)


def test_batched_sequences_generalized_columns_and_encoders():
    """Items of (B, size) or (K, size) broadcast to every copy; a batched generalized column
    and a batched encoder (amortized mode holds V x + c per copy)."""
    circuit = Circuit(batch_size=2)
    circuit.sensory("y", 1, order=2, smoothness=0.5)
    circuit.column("x", 1, order=2, smoothness=0.5, flat_prior=True)
    circuit.connect("x", "y", [[1.0]])
    rec = circuit.run(10 * ms, stimulus=[[1.0, 0.0], [2.0, 0.5]])
    assert rec.estimate["x"].shape == (100, 2, 2)
    assert rec.estimate["x"][-1, 1, 0] > rec.estimate["x"][-1, 0, 0]

    encoded = Circuit(batch_size=2)
    encoded.sensory("s", 2)
    encoded.column("z", 1)
    encoded.connect("z", "s", [[1.0], [1.0]])
    encoded.encoder("z", weights=[[0.5, -0.25]], bias=[0.1], plastic=False)
    stimuli = np.array([[[1.0, 2.0], [3.0, 0.0]]])
    trials = encoded.run_sequence(stimuli, 5 * ms, inference="amortized")
    np.testing.assert_allclose(trials.trial_end["z"][0, :, 0], [0.1 + 0.5 - 0.5, 0.1 + 1.5], atol=1e-12)
    broadcast = encoded.run_sequence(np.array([[1.0, 2.0]]), 5 * ms, inference="amortized")
    np.testing.assert_allclose(broadcast.trial_end["z"][0, :, 0], [0.1, 0.1], atol=1e-12)


def test_batch_errors():
    with pytest.raises(ValueError, match="batch_size"):
        Circuit(batch_size=0)
    circuit = build(3)
    with pytest.raises(ValueError, match=r"\(3, 6\)"):
        circuit.run(1 * ms, stimulus=np.zeros((2, 6)))
    with pytest.raises(ValueError, match=r"\(T, 3, 6\)"):
        circuit.run(1 * ms, stimulus=np.zeros((10, 2, 6)))


def test_batched_posterior_precision_samples_and_elbo_equal_each_copy():
    """The Laplace precision H (through the tanh projection's Jacobian) of every copy of a
    batch equals the unbatched circuit's at the same state (1e-12); batched samples have the
    per-copy shapes; each copy's Monte-Carlo ELBO (mean-field q, 20,000 samples) lies within 4
    standard errors of the unbatched estimate with other draws."""
    stimuli = np.random.default_rng(4).normal(size=(2, 6))
    batched = build(2)
    batched.run(20 * ms, stimulus=stimuli)
    H = batched.posterior_precision()
    values, errors = batched.elbo(samples=20000, seed=1)
    assert H.shape == (2, 6, 6) and values.shape == errors.shape == (2,)
    assert batched.sample(5, seed=0)["z1"].shape == (2, 5, 4)
    for copy in range(2):
        single = build()
        single.run(20 * ms, stimulus=stimuli[copy])
        np.testing.assert_allclose(H[copy], single.posterior_precision(), rtol=1e-12, atol=1e-12)
        value, error = single.elbo(samples=20000, seed=2)
        assert abs(values[copy] - value) < 4 * np.hypot(errors[copy], error)
