"""Issue 5, part 2: generalized coordinates of motion (dynamic predictive coding)."""
import numpy as np
import pytest
from brian2 import ms

from circuits import Circuit
from circuits.generalized import embed, shift_operator, temporal_covariance, temporal_precision
from circuits.simulations import generalized_tracking as tracking


@pytest.mark.parametrize("smoothness, expected", [
    (1.0, [[1.5, 0, 1], [0, 2, 0], [1, 0, 2]]),
    (0.5, [[1.5, 0, 0.25], [0, 0.5, 0], [0.25, 0, 0.125]]),
])
def test_generalized_precision_of_order_3(smoothness, expected):
    """The issue's values (Friston's temporal precision for ρ(h) = exp(−h²/4s²)); exact up to
    the rounding of one 3×3 inverse (1e-12)."""
    np.testing.assert_allclose(temporal_precision(3, smoothness), expected, atol=1e-12)


def test_temporal_covariance_is_the_autocorrelation_of_smoothed_noise():
    """Independently of the formula: Var(w′)/Var(w) and Cov(w, w″)/Var(w) of white noise
    smoothed to ρ(h) = exp(−h²/4s²), s = 20 ms, estimated from 400 s of samples at 0.2 ms
    (~10⁴ correlation times: standard errors ~1%, bound 3%)."""
    rng = np.random.default_rng(1)
    noise = tracking.smooth_noise(2_000_000, 1.0, 0.02, 3, rng)
    sample = np.cov(noise.T) / noise[:, 0].var()
    S = temporal_covariance(3, 0.02)
    np.testing.assert_allclose(sample[[1, 0, 2], [1, 2, 2]], S[[1, 0, 2], [1, 2, 2]], rtol=0.03)


def test_shift_operator_and_embedding():
    np.testing.assert_array_equal(shift_operator(3), [[0, 1, 0], [0, 0, 1], [0, 0, 0]])
    t = np.arange(0, 2, 1e-3)
    embedded = embed(np.sin(t), 3, 1e-3)
    inner = slice(5, -5)   # central differences: O(dt²) inside, first order at the ends
    np.testing.assert_allclose(embedded[inner, 1], np.cos(t[inner]), atol=1e-6)
    np.testing.assert_allclose(embedded[inner, 2], -np.sin(t[inner]), atol=1e-5)


def test_sine_tracking_errors_match_the_closed_forms():
    """Plain gradient descent lags by ω/√(ω²+κ²) = 0.0995; with the velocity coordinate the
    error is ω²/(ω²+κ²) = 0.0099 (both within 1e-3; with τ_ε = 2 ms the error neurons shift
    the amplitudes by ~2e-5, the Euler step by less)."""
    plain, moving = tracking.sine_error_amplitudes()
    assert abs(plain - 0.0995) < 1e-4 and abs(moving - 0.0099) < 1e-4
    assert abs(tracking.track_sine(1)[3] - plain) < 1e-3
    assert abs(tracking.track_sine(2)[3] - moving) < 1e-3


@pytest.mark.slow
def test_hidden_state_model_tracks_better_in_generalized_coordinates():
    """A damped oscillator observed through noisy position: order 3 with the flow A beats
    order 1 on position, and recovers the never-observed velocity (seed 0: position RMS
    0.083 vs 0.089, velocity 0.131 vs 0.419; the bounds leave room for other seeds)."""
    t, x, observation = tracking.oscillator(16.0, seed=0)
    plain = tracking.track_oscillator(1, t, x, observation)[0]
    generalized = tracking.track_oscillator(3, t, x, observation)[0]
    assert generalized[0] < plain[0]
    assert generalized[1] < 0.5 * plain[1]


def test_generalized_column_is_a_moving_frame_at_its_fixed_point():
    """On a path that the model explains exactly (y = x, ỹ = (a + b t, b)), the estimate moves
    with it: μ̃ → (a + b t, b) with zero errors (the shift D μ̃ supplies the motion)."""
    circuit = Circuit(dt=0.1 * ms, tau_estimate=10 * ms, tau_error=1 * ms)
    circuit.sensory("y", 1, order=2, smoothness=0.5)
    circuit.column("x", 1, order=2, smoothness=0.5, flat_prior=True)
    circuit.connect("x", "y", [[1.0]])
    steps = 5000
    t = np.arange(steps) * 1e-4
    circuit.run(steps * 0.1 * ms, stimulus=np.stack([0.3 + 2.0 * t, np.full(steps, 2.0)], axis=1),
                record=False)
    # the last stimulus row is at t = 0.4999 s; the state after it is one step later
    np.testing.assert_allclose(circuit.estimate("x"), [0.3 + 2.0 * 0.5, 2.0], atol=1e-6)
    np.testing.assert_allclose(circuit.error("y"), 0, atol=2e-4)
