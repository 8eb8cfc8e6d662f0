"""Proof 1: in linear Gaussian hierarchies the circuit's steady state is the exact posterior mean,
and its free energy is −log p(x, μ*)."""
import numpy as np
import pytest
from brian2 import ms

from tests.conftest import build_circuit, random_linear_hierarchy
from tests.validation.gaussian import log_joint, posterior_mean

# Euler's fixed point is the ODE's fixed point, so the only error left is the decay of the
# slowest mode; durations below let it decay by 1e-10, safely inside the 1e-6 bound.
RELATIVE_TOLERANCE = 1e-6


def settling_duration(model, tau_estimate=10 * ms, tau_error=2 * ms, decades=10):
    """Time for the slowest mode of the linear (μ, ε) dynamics to decay by 10^-decades.

    The Jacobian is assembled from the model's equations (issue #2):
    τ_ε dε_ℓ/dt = μ_ℓ − Σ_p W_p μ_p − Σ_ℓ ε_ℓ (+ const),  τ_μ dμ_ℓ/dt = −ε_ℓ + Σ_k W_kᵀ ε_k,
    with sensory μ fixed. Its eigenvalues may be complex (damped oscillations), so the slowest
    decay rate is min(−Re λ).
    """
    latent = [n for n, level in model.levels.items() if not level.sensory]
    blocks, start = {}, 0
    for kind, names in (("mu", latent), ("eps", list(model.levels))):
        for name in names:
            blocks[kind, name] = slice(start, start + model.levels[name].size)
            start += model.levels[name].size
    J = np.zeros((start, start))
    te, tm = float(tau_error), float(tau_estimate)
    for name, level in model.levels.items():
        e = blocks["eps", name]
        J[e, e] -= level.covariance / te
        if not level.sensory:
            J[e, blocks["mu", name]] += np.eye(level.size) / te
            J[blocks["mu", name], e] -= np.eye(level.size) / tm
    for edge in model.edges:
        J[blocks["eps", edge.lower], blocks["mu", edge.upper]] -= edge.weights / te
        J[blocks["mu", edge.upper], blocks["eps", edge.lower]] += edge.weights.T / tm
    rate = np.min(-np.linalg.eigvals(J).real)
    assert rate > 0, "the linear dynamics must be stable"
    return np.ceil(decades * np.log(10) / rate * 1000) * ms


@pytest.mark.parametrize("sizes", [(4, 2), (5, 3, 2), (6, 4, 3, 2)], ids=["2-level", "3-level", "4-level"])
def test_steady_state_is_exact_posterior_mean(sizes, rng):
    model = random_linear_hierarchy(rng, sizes)
    x = rng.normal(size=sizes[0])
    circuit = build_circuit(model)
    duration = settling_duration(model)
    circuit.run(duration, stimulus=x, record=False)
    exact = posterior_mean(model, {"x": x})
    for name, expected in exact.items():
        got = circuit.estimate(name)
        relative = np.linalg.norm(got - expected) / np.linalg.norm(expected)
        assert relative <= RELATIVE_TOLERANCE, (name, relative, duration)
    # errors are at their equilibrium Σ⁻¹(μ − prediction): ε_top = Σ⁻¹(μ − m) etc.
    top = list(model.levels)[-1]
    level = model.levels[top]
    np.testing.assert_allclose(circuit.error(top),
                               np.linalg.solve(level.covariance, circuit.estimate(top) - level.prior_mean),
                               rtol=1e-5, atol=1e-7)


def test_free_energy_is_negative_log_joint(rng):
    model = random_linear_hierarchy(rng, (5, 3, 2))
    x = rng.normal(size=5)
    circuit = build_circuit(model)
    rec = circuit.run(settling_duration(model), stimulus=x)
    values = {"x": x, **{n: circuit.estimate(n) for n in ("z1", "z2")}}
    # the recorded F at the final state and −log p(x, μ*) from scipy's joint Gaussian density;
    # the constant is 0 for this Gaussian model, so they agree to rounding (1e-9 relative)
    assert np.isclose(circuit.free_energy(), -log_joint(model, values), rtol=1e-9, atol=1e-9)
    # the recording's free energy uses the same formula at each recorded row
    row = {n: rec.estimate[n][-1] for n in rec.estimate}
    assert np.isclose(rec.free_energy[-1], -log_joint(model, row), rtol=1e-9)
    assert np.isclose(sum(v[-1] for v in rec.free_energy_by_level.values()), rec.free_energy[-1])
    # at the posterior mean F is minimal: any perturbation of a latent raises −log p(x, μ)
    for name in ("z1", "z2"):
        nudged = dict(values)
        nudged[name] = values[name] + 1e-2
        assert -log_joint(model, nudged) > circuit.free_energy()


def test_shared_upper_column_matches_posterior(rng):
    """Two sensory columns predicted by one latent column (cue combination)."""
    from tests.conftest import edge, random_covariance
    from tests.reference import Level, Model
    model = Model({"a": Level(3, random_covariance(rng, 3), sensory=True),
                   "b": Level(2, random_covariance(rng, 2), sensory=True),
                   "z": Level(2, random_covariance(rng, 2), prior_mean=np.array([0.5, -1.0]))},
                  [edge("z", "a", rng.normal(size=(3, 2))), edge("z", "b", rng.normal(size=(2, 2)))])
    observations = {"a": rng.normal(size=3), "b": rng.normal(size=2)}
    circuit = build_circuit(model)
    circuit.run(settling_duration(model), stimulus=observations, record=False)
    expected = posterior_mean(model, observations)["z"]
    assert np.linalg.norm(circuit.estimate("z") - expected) / np.linalg.norm(expected) <= RELATIVE_TOLERANCE


def test_package_closed_form_agrees_with_joint_gaussian_conditioning(rng):
    """circuits.exact_posterior (precision form) against covariance-form conditioning."""
    from circuits import exact_posterior
    model = random_linear_hierarchy(rng, (6, 4, 3, 2))
    x = rng.normal(size=6)
    means, covariance = exact_posterior(build_circuit(model), {"x": x})
    for name, expected in posterior_mean(model, {"x": x}).items():
        np.testing.assert_allclose(means[name], expected, rtol=1e-10, atol=1e-12)
    assert np.all(np.linalg.eigvalsh(covariance) > 0)
