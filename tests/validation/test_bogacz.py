"""Proofs 2 and 3: Bogacz (2017) exercises 2–3 and precision weighting."""
import numpy as np
import pytest
from brian2 import ms

from circuits import Circuit

PHI_STAR = 1.567468  # the real root of 2φ³ − 3φ − 3 = 0 (published to 6 decimals)


def bogacz_circuit(sigma_u=1.0, activation=("x**2", "2*x")):
    """u = 2 observed, prior v_p = 3, Σ_p = 1, g(v) given by ``activation`` (Bogacz 2017 §2)."""
    circuit = Circuit(dt=0.1 * ms, tau_estimate=10 * ms, tau_error=10 * ms)
    u = circuit.sensory("u", size=1, covariance=sigma_u)
    phi = circuit.column("phi", size=1, prior_mean=3.0, covariance=1.0)
    circuit.connect(phi, u, weights=[[1.0]], activation=activation)
    return circuit


def test_root_is_the_published_value():
    roots = np.roots([2, 0, -3, -3])
    real = roots[np.abs(roots.imag) < 1e-12].real
    assert real.shape == (1,) and abs(real[0] - PHI_STAR) < 5e-7


def test_exercise_3_converges_to_phi_star():
    circuit = bogacz_circuit()
    rec = circuit.run(600 * ms, stimulus=[2.0])
    phi = circuit.estimate("phi")[0]
    assert abs(phi - PHI_STAR) < 1e-5
    # errors: ε_p = (φ − v_p)/Σ_p and ε_u = (u − g(φ))/Σ_u
    assert abs(circuit.error("phi")[0] - (PHI_STAR - 3)) < 1e-5
    assert abs(circuit.error("u")[0] - (2 - PHI_STAR ** 2)) < 5e-5   # |dε_u/dφ| = 2φ ≈ 3.1
    # the estimate starts at the prior mean, as in Bogacz's Fig. 3
    assert rec.estimate["phi"][0, 0] == 3.0


@pytest.mark.parametrize("sigma_u, expected", [(1.0, 2.5), (0.1, 2.090909)])
def test_precision_weighting(sigma_u, expected):
    """Linear g(v) = θv, θ = 1: φ* = (v_p/Σ_p + θu/Σ_u)/(1/Σ_p + θ²/Σ_u)."""
    circuit = bogacz_circuit(sigma_u=sigma_u, activation="linear")
    circuit.run(1000 * ms, stimulus=[2.0], record=False)
    assert abs(circuit.estimate("phi")[0] - expected) < 1e-6
