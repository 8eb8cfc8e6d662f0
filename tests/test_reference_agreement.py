"""Proof 4: the Brian2 trajectory equals an independent NumPy forward-Euler reference at every
recorded step. Both integrate the same equations with the same scheme, so they differ only by
floating-point rounding of the matrix products (≈1e-15); the bound is 1e-9."""
import numpy as np
import pytest
from brian2 import TimedArray, ms

from tests.conftest import DT, build_circuit, edge, random_covariance, random_linear_hierarchy
from tests.reference import Level, Model, simulate, simulate_batch

TOLERANCE = 1e-9


def assert_same_trajectories(rec, reference_mu, reference_eps):
    for name in reference_mu:
        np.testing.assert_allclose(rec.estimate[name], reference_mu[name], rtol=0, atol=TOLERANCE)
        np.testing.assert_allclose(rec.error[name], reference_eps[name], rtol=0, atol=TOLERANCE)


def nonlinear_model(rng):
    """Two sensory columns share one upper column; tanh, sigmoid, softplus and relu projections,
    full covariances (lateral connections), biases, and a 3-level chain on one side."""
    levels = {
        "a": Level(4, random_covariance(rng, 4), sensory=True),
        "b": Level(3, random_covariance(rng, 3), sensory=True),
        "z1": Level(3, random_covariance(rng, 3)),
        "z2": Level(2, random_covariance(rng, 2), prior_mean=np.array([0.3, -0.7])),
    }
    edges = [edge("z1", "a", rng.normal(size=(4, 3)), "tanh", bias=rng.normal(size=4) * 0.2),
             edge("z1", "b", rng.normal(size=(3, 3)), "sigmoid"),
             edge("z2", "z1", rng.normal(size=(3, 2)), "softplus", bias=0.1),
             edge("z2", "b", rng.normal(size=(3, 2)) * 0.5, "relu")]
    return Model(levels, edges)


@pytest.mark.parametrize("backend", ["dense", "synapses"])
def test_nonlinear_circuit_matches_reference(backend, rng):
    model = nonlinear_model(rng)
    steps = 1500
    t = np.arange(steps) * float(DT)
    stimulus = {"a": np.sin(2 * np.pi * 20 * t)[:, None] * rng.normal(size=4) + rng.normal(size=4),
                "b": np.cos(2 * np.pi * 7 * t)[:, None] * rng.normal(size=3)}
    circuit = build_circuit(model, backend=backend)
    rec = circuit.run(steps * DT, stimulus=stimulus)
    mu, eps, final = simulate(model, stimulus, steps, float(DT), 0.010, 0.002)
    assert_same_trajectories(rec, mu, eps)
    for name in ("z1", "z2"):
        np.testing.assert_allclose(circuit.estimate(name), final[name], rtol=0, atol=TOLERANCE)


def test_custom_activation_matches_reference(rng):
    """A user-supplied (f, f') pair of Brian2 expressions."""
    model = Model({"x": Level(2, np.eye(2) * 0.8, sensory=True),
                   "z": Level(2, np.eye(2), prior_mean=np.array([1.0, 0.5]))},
                  [edge("z", "x", rng.normal(size=(2, 2)))])
    model.edges[0].f = lambda v: v ** 3 / 3 + v
    model.edges[0].fprime = lambda v: v ** 2 + 1
    model.edges[0].activation = ("x**3/3 + x", "x**2 + 1")
    circuit = build_circuit(model)
    rec = circuit.run(100 * ms, stimulus=[0.4, -0.2])
    mu, eps, _ = simulate(model, {"x": np.tile([0.4, -0.2], (1000, 1))}, 1000, float(DT), 0.010, 0.002)
    assert_same_trajectories(rec, mu, eps)


def test_consecutive_runs_and_timed_array_match_one_reference_run(rng):
    """Runs continue from the current state, and a TimedArray stimulus is read from the start of
    each run: 3 runs (array, TimedArray, held constant) equal one reference run."""
    model = random_linear_hierarchy(rng, (3, 2, 1), activation="tanh")
    circuit = build_circuit(model)
    first = rng.normal(size=(400, 3))
    second = rng.normal(size=(200, 3))
    r1 = circuit.run(40 * ms, stimulus=first)
    r2 = circuit.run(20 * ms, stimulus=TimedArray(second, dt=DT))
    r3 = circuit.run(10 * ms)  # stimulus omitted: the last value is held
    held = np.tile(second[-1], (100, 1))
    mu, eps, _ = simulate(model, {"x": np.concatenate([first, second, held])}, 700, float(DT), 0.010, 0.002)
    for name in mu:
        joined = np.concatenate([r1.estimate[name], r2.estimate[name], r3.estimate[name]])
        np.testing.assert_allclose(joined, mu[name], rtol=0, atol=TOLERANCE)
    times = np.concatenate([np.asarray(r.t / ms) for r in (r1, r2, r3)])
    np.testing.assert_allclose(times, np.arange(700) * 0.1, atol=1e-9)


def test_dense_and_synapses_backends_are_identical(rng):
    model = random_linear_hierarchy(rng, (5, 3, 2), activation="tanh")
    recs = [build_circuit(model, backend=b).run(50 * ms, stimulus=rng.normal(size=5) * 0 + 0.7)
            for b in ("dense", "synapses")]
    for name in recs[0].estimate:
        np.testing.assert_allclose(recs[0].estimate[name], recs[1].estimate[name], rtol=0, atol=1e-12)
        np.testing.assert_allclose(recs[0].error[name], recs[1].error[name], rtol=0, atol=1e-12)


def test_batched_reference_and_circuit_equal_separate_runs(rng):
    """The batched NumPy loop of the benchmarks (tests/reference.simulate_batch) is the same
    Euler recursion as the per-sample reference, and the batched circuit agrees with both."""
    model = random_linear_hierarchy(rng, (5, 3, 2), activation="tanh")
    inputs = rng.normal(size=(4, 5))
    steps = 200
    batched = simulate_batch(model, {"x": inputs}, steps, 1e-4, 0.01, 0.002)
    circuit = build_circuit(model, batch_size=4)
    circuit.run(steps * DT, stimulus=inputs, record=False)
    for copy, x in enumerate(inputs):
        _, _, final = simulate(model, {"x": np.tile(x, (steps, 1))}, steps, 1e-4, 0.01, 0.002, record=False)
        for name in final:
            np.testing.assert_allclose(batched[name][copy], final[name], rtol=0, atol=1e-12)
            np.testing.assert_allclose(circuit.estimate(name)[copy], final[name], rtol=0, atol=1e-12)
