"""Attention as precision (issue 4, part 2): closed-form cue combination, shifting attention
during a run, larger and faster errors under attention, the NumPy reference, bad input."""
import numpy as np
import pytest
from brian2 import TimedArray, ms

from circuits import Circuit
from circuits.simulations import attention
from tests.conftest import DT, build_circuit, edge, random_covariance
from tests.reference import Level, Model, simulate

PRIOR_MEAN, PRIOR_VARIANCE, A, B = 0.0, 4.0, 1.0, -1.0


def cue_combination():
    """One latent z (prior N(0, 4)) seen through two channels a = 1 and b = −1 (Σ = 1, W = 1):
    the circuit of ``pcsim run attention``."""
    circuit = attention.build()
    assert (attention.PRIOR_MEAN, attention.PRIOR_VARIANCE) == (PRIOR_MEAN, PRIOR_VARIANCE)
    return circuit


def precision_weighted_mean(gain_a, gain_b):
    """Posterior mean with attended precisions γ_a, γ_b on the two unit-variance channels."""
    return (PRIOR_MEAN / PRIOR_VARIANCE + gain_a * A + gain_b * B) / (1 / PRIOR_VARIANCE + gain_a + gain_b)


@pytest.mark.parametrize("gain_a, gain_b", [(1, 1), (4, 0.25), (0.25, 4), (10, 1)])
def test_cue_combination_reaches_the_precision_weighted_mean(gain_a, gain_b):
    c = cue_combination()
    c.attend("a", gain_a)
    c.attend("b", gain_b)
    c.run(800 * ms, stimulus={"a": [A], "b": [B]}, record=False)
    assert abs(c.estimate("z")[0] - precision_weighted_mean(gain_a, gain_b)) < 1e-6
    # attended errors: ε = γ (x − μ)/Σ
    np.testing.assert_allclose(c.error("a"), gain_a * (A - c.estimate("z")), rtol=1e-6, atol=1e-9)


def test_attention_shifting_during_a_run():
    """A TimedArray gain moves attention from channel a to channel b halfway; the estimate
    settles on each closed form in turn, and the recorded free energy uses the gain of each row."""
    c = cue_combination()
    c.attend("a", TimedArray(np.array([[4.0], [0.25]]), dt=800 * ms))
    c.attend("b", TimedArray(np.array([[0.25], [4.0]]), dt=800 * ms))
    rec = c.run(1600 * ms, stimulus={"a": [A], "b": [B]})
    half = len(rec.t) // 2
    assert abs(rec.estimate["z"][half - 1, 0] - precision_weighted_mean(4, 0.25)) < 1e-6
    assert abs(c.estimate("z")[0] - precision_weighted_mean(0.25, 4)) < 1e-6
    # F per row with that row's gains: F_a = ½[γ (a − μ)² + log 2π − log γ]
    mu = rec.estimate["z"][:, 0]
    gains_a = np.where(np.arange(len(mu)) < half, 4.0, 0.25)
    expected = 0.5 * (gains_a * (A - mu) ** 2 + np.log(2 * np.pi) - np.log(gains_a))
    np.testing.assert_allclose(rec.free_energy_by_level["a"], expected, rtol=1e-12)


def test_higher_precision_gives_a_larger_error_and_faster_settling():
    """With error neurons fast against the estimates (τ_ε = 0.1 ms ≪ τ_μ/(1 + γ)), the estimate
    settles at the gradient-flow rate (1/σ_p² + γ)/τ_μ: γ = 4 settles ~4× faster than γ = 0.5
    (eigenvalues of the linear circuit: 0.65 vs 0.15 per ms). With slow error neurons
    (τ_ε = 2 ms) a large γ makes the circuit ring instead (0.105 vs 0.274 per ms)."""
    def settle(gain):
        c = Circuit(dt=0.02 * ms, tau_estimate=10 * ms, tau_error=0.1 * ms)
        c.sensory("x", 1, covariance=1.0)
        c.column("z", 1, covariance=1.0)
        c.connect("z", "x", weights=[[1.0]])
        c.attend("x", gain)
        rec = c.run(300 * ms, stimulus=[1.0])
        final = rec.estimate["z"][-1, 0]
        far = np.abs(rec.estimate["z"][:, 0] - final) > 1e-3 * abs(final)
        return rec.error["x"][:, 0], rec.t[np.nonzero(far)[0][-1] + 1]
    low_error, low_time = settle(0.5)
    high_error, high_time = settle(4.0)
    # same initial mismatch (x − μ = 1, μ starts at 0): the attended error neuron responds more
    assert high_error[20] > low_error[20] > 0
    assert np.max(high_error) > np.max(low_error)
    assert high_time < low_time / 2, (high_time, low_time)


def test_attention_matches_reference_with_full_covariance(rng):
    """A full Σ with a constant vector gain: lateral synapses rescaled to Σ' − diag Σ'."""
    model = Model({"x": Level(3, random_covariance(rng, 3), sensory=True),
                   "z": Level(2, random_covariance(rng, 2), prior_mean=np.array([0.5, -0.5]))},
                  [edge("z", "x", rng.normal(size=(3, 2)), "tanh")])
    gain = np.array([2.0, 0.5, 1.5])
    circuit = build_circuit(model)
    circuit.attend("x", gain)
    stimulus = rng.normal(size=(500, 3))
    rec = circuit.run(50 * ms, stimulus=stimulus)
    mu, eps, _ = simulate(model, {"x": stimulus}, 500, float(DT), 0.010, 0.002,
                          gains={"x": np.tile(gain, (500, 1))})
    for name in mu:
        np.testing.assert_allclose(rec.estimate[name], mu[name], rtol=0, atol=1e-9)
        np.testing.assert_allclose(rec.error[name], eps[name], rtol=0, atol=1e-9)
    # and back to no attention between runs
    circuit.attend("x", 1.0)
    circuit.reset()
    plain = circuit.run(50 * ms, stimulus=stimulus)
    mu, _, _ = simulate(model, {"x": stimulus}, 500, float(DT), 0.010, 0.002)
    np.testing.assert_allclose(plain.estimate["z"], mu["z"], rtol=0, atol=1e-9)


def test_bad_attention():
    c = cue_combination()
    with pytest.raises(ValueError, match="gain must be positive"):
        c.attend("a", 0.0)
    with pytest.raises(ValueError, match="gain contains NaN"):
        c.attend("a", np.nan)
    with pytest.raises(ValueError, match=r"gain must be a scalar or have shape \(1,\)"):
        c.attend("a", [1.0, 2.0])
    with pytest.raises(ValueError, match=r"shape \(K, 1\)"):
        c.attend("a", TimedArray(np.ones((2, 2)), dt=1 * ms))
    d = Circuit()
    d.sensory("x", 2, covariance=[[1.0, 0.3], [0.3, 1.0]])
    with pytest.raises(ValueError, match="non-diagonal covariance"):
        d.attend("x", TimedArray(np.ones((2, 2)), dt=1 * ms))
    e = Circuit()
    e.sensory("x", 1, learn_covariance=True)
    with pytest.raises(ValueError, match="learns its covariance"):
        e.attend("x", 2.0)
