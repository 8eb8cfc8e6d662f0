"""Issues 13/14 meeting issue 15: deep projections, sparse priors, clamps and fixed predictions
in circuits with rectified (ε+/ε−) error pairs, and what a spiking circuit refuses.

Rectified pairs obey the signed error equation exactly (ε+ − ε− = e, populations/error.py), so
each composition is checked against mathematics, not against the code:

- a deep projection into a rectified column: the circuit's trajectory equals the forward-Euler
  integration of the signed equations written here in NumPy (tolerance 1e-12: the pair
  arithmetic rounds differently from the signed one, by a few ulp per step over 400 steps);
- a Laplace prior on a column whose errors are rectified: the fixed point is the MAP in closed
  form, μ* = (W x/σ_x − α sign μ*)/(W²/σ_x + 1/σ_z) (tolerance 1e-6 after 60 τ_μ: the slowest
  mode decays as exp(−t (W²/σ_x + 1/σ_z)/τ_μ));
- a clamp: μ stays where it was put and the rectified errors are ε = (x − W c)/σ_x exactly
  (settled errors, tolerance 1e-9);
- a hold (fixed predictions): the inferred value settles at m + σ_z W (x − W μ₀)/σ_x while μ
  stays at μ₀ (tolerance 1e-6, as for the prior).

A spiking circuit cannot carry deep projections, sparse priors, clamps or holds; each is
refused with an error naming the combination.
"""
from __future__ import annotations

import numpy as np
import pytest
from brian2 import ms

from circuits import Circuit

TAU_ESTIMATE, TAU_ERROR, DT = 10.0, 2.0, 0.1   # ms


def _deep_circuit(errors: str, backend: str, **options) -> Circuit:
    c = Circuit(backend=backend, dt=DT * ms, tau_estimate=TAU_ESTIMATE * ms, tau_error=TAU_ERROR * ms, **options)
    c.sensory("x", 3, covariance=0.8, errors=errors)
    c.column("z", 2, covariance=1.5, prior_mean=[0.2, -0.3])
    c.connect("z", "x", DEEP_WEIGHTS, ["tanh", "linear"], DEEP_BIASES)
    return c


RNG = np.random.default_rng(13)
DEEP_WEIGHTS = [RNG.normal(size=(4, 2)), RNG.normal(size=(3, 4)) * 0.5]
DEEP_BIASES = [0.1 * RNG.normal(size=4), 0.1 * RNG.normal(size=3)]
STIMULUS = np.array([0.7, -0.4, 1.1])


def _reference(steps: int):
    """Forward Euler of the signed equations: e_x = Σ_x⁻¹ ... as neurons, τ_ε de/dt = x − g − σ e,
    τ_μ dμ/dt = −e_z + Jᵀ e_x, with g = V_2 (V_1 tanh(μ) + c_1) + c_2, J = V_2 V_1 diag(tanh'(μ))."""
    (V1, V2), (c1, c2) = DEEP_WEIGHTS, DEEP_BIASES
    mu, prior = np.array([0.2, -0.3]), np.array([0.2, -0.3])
    e_x, e_z = np.zeros(3), np.zeros(2)
    trajectory = np.empty((steps, 2))
    for n in range(steps):
        trajectory[n] = mu
        g = V2 @ (V1 @ np.tanh(mu) + c1) + c2
        jacobian = V2 @ V1 @ np.diag(1 - np.tanh(mu) ** 2)
        new_e_x = e_x + DT / TAU_ERROR * (STIMULUS - g - 0.8 * e_x)
        new_e_z = e_z + DT / TAU_ERROR * (mu - prior - 1.5 * e_z)
        mu = mu + DT / TAU_ESTIMATE * (-e_z + jacobian.T @ e_x)
        e_x, e_z = new_e_x, new_e_z
    return trajectory


@pytest.mark.parametrize("backend, device", [("dense", "runtime"), ("synapses", "runtime"),
                                            ("dense", "cpp_standalone")])
def test_a_deep_projection_into_a_rectified_column_integrates_the_signed_equations(backend, device, tmp_path):
    """Also compiled: the compartments and the ε± pairs are Synapses there, ordered with the
    generated products in the same step."""
    steps = 400
    options = {"standalone_directory": str(tmp_path)} if device != "runtime" else {}
    recording = _deep_circuit("rectified", backend, device=device, **options).run(steps * DT * ms, stimulus=STIMULUS)
    np.testing.assert_allclose(recording.estimate["z"], _reference(steps), rtol=0, atol=1e-12)


def test_a_rectified_column_with_a_laplace_prior_settles_at_the_map():
    """x = 2, W = 1, σ_x = σ_z = 1, m = 0, α = 0.5: μ* = (2 − 0.5)/2 = 0.75."""
    c = Circuit()
    c.sensory("x", 1, errors="rectified")
    c.column("z", 1, errors="rectified", prior="laplace", sparsity=0.5)
    c.connect("z", "x", [[1.0]])
    c.run(600 * ms, stimulus=[2.0], record=False)
    assert abs(c.estimate("z")[0] - 0.75) < 1e-6


def test_a_clamped_column_over_rectified_errors_keeps_its_value_and_errors_are_exact():
    c = Circuit()
    c.sensory("x", 2, covariance=0.5, errors="rectified")
    c.column("z", 1, errors="rectified")
    c.connect("z", "x", [[2.0], [-1.0]])
    c.clamp("z", [0.4])
    c.run(100 * ms, stimulus=[1.0, 0.3], record=False)
    assert c.estimate("z")[0] == 0.4
    np.testing.assert_allclose(c.error("x"), (np.array([1.0, 0.3]) - np.array([2.0, -1.0]) * 0.4) / 0.5,
                               rtol=0, atol=1e-9)


def test_a_held_rectified_column_infers_with_fixed_predictions():
    """m = μ₀ = 0.5, W = 2, σ_x = σ_z = 1, x = 1.5: the inferred value settles at
    0.5 + 2 (1.5 − 1.0) = 1.5 while μ stays at 0.5."""
    c = Circuit()
    c.sensory("x", 1, errors="rectified")
    c.column("z", 1, prior_mean=0.5, errors="rectified")
    c.connect("z", "x", [[2.0]])
    c.hold("z")
    c.run(600 * ms, stimulus=[1.5], record=False)
    assert c.estimate("z")[0] == 0.5
    assert abs(c.columns["z"].state.inferred[0] - 1.5) < 1e-6


def _spiking():
    c = Circuit(neurons="spiking")
    c.sensory("x", 2)
    return c


@pytest.mark.parametrize("build, words", [
    (lambda c: (c.column("z", 1), c.connect("z", "x", [np.ones((3, 1)), np.ones((2, 3))], ["linear", "linear"])), "a deep projection"),
    (lambda c: c.column("z", 1, prior="cauchy"), "a sparse prior"),
    (lambda c: (c.column("z", 1), c.clamp("z", [0.5])), "clamped estimates"),
    (lambda c: (c.column("z", 1), c.hold("z")), "fixed predictions"),
])
def test_a_spiking_circuit_refuses_what_spikes_cannot_carry(build, words):
    with pytest.raises(ValueError, match=f"spiking circuit .*cannot have {words}"):
        build(_spiking())
