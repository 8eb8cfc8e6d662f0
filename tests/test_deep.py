"""Deep projections and encoders (issue 13): dendritic compartments inside the predicting
neurons, the errors backpropagating through them, and learning within the neuron.

The checks are against mathematics written here, independently of the package: the model's
free energy F (NumPy, from the definition), its minimum by scipy.optimize, finite-difference
Jacobians and gradients, and the NumPy Euler reference (tests/reference.py, DeepEdge)."""
import numpy as np
import pytest
from brian2 import ms
from scipy.optimize import minimize

from circuits import Circuit, exact_posterior
from tests.conftest import DT, NUMPY_ACTIVATIONS, build_circuit, deep_edge, random_covariance
from tests.reference import Level, Model, simulate, simulate_sequence


def deep_model(rng, learning_rate=0.0, learn_bias=False):
    """x (4) ← z1 (3) through 3 layers [linear, tanh, softplus] (hidden 5, 4); z1 ← z2 (2)
    through 2 layers [tanh, softplus] (hidden 4); full covariances, biases on every layer."""
    levels = {"x": Level(4, random_covariance(rng, 4, 0.4, 1.0), sensory=True),
              "z1": Level(3, random_covariance(rng, 3, 0.5, 1.0)),
              "z2": Level(2, np.eye(2) * 0.8, prior_mean=np.array([0.4, -0.3]))}
    edges = [deep_edge("z1", "x", [rng.normal(size=(5, 3)), rng.normal(size=(4, 5)) / 2, rng.normal(size=(4, 4)) / 2],
                       ["linear", "tanh", "softplus"], [rng.normal(size=5) * 0.2, rng.normal(size=4) * 0.2,
                                                        rng.normal(size=4) * 0.2], learning_rate, learn_bias),
             deep_edge("z2", "z1", [rng.normal(size=(4, 2)), rng.normal(size=(3, 4)) / 2], ["tanh", "softplus"],
                       [rng.normal(size=4) * 0.2, rng.normal(size=3) * 0.2], learning_rate, learn_bias)]
    return Model(levels, edges)


def free_energy(model, estimates) -> float:
    """F = Σ_ℓ ½ [(μ_ℓ − g_ℓ)ᵀ Σ_ℓ⁻¹ (μ_ℓ − g_ℓ) + log det 2πΣ_ℓ], g from the edges' own
    NumPy forward passes (tests/reference.py)."""
    total = 0.0
    for name, level in model.levels.items():
        prediction = np.zeros(level.size) if level.prior_mean is None else np.array(level.prior_mean, float)
        for e in model.edges:
            if e.lower == name:
                prediction = prediction + e.predict(estimates[e.upper])
        residual = estimates[name] - prediction
        total += 0.5 * (residual @ np.linalg.solve(level.covariance, residual)
                        + np.linalg.slogdet(2 * np.pi * level.covariance)[1])
    return total


def map_estimate(model, x) -> dict:
    """argmin over (z1, z2) of F with x clamped, by scipy's BFGS on finite differences."""
    def energy(z):
        return free_energy(model, {"x": x, "z1": z[:3], "z2": z[3:]})
    result = minimize(energy, np.zeros(5), method="BFGS", jac="3-point", options={"gtol": 1e-11})
    return {"z1": result.x[:3], "z2": result.x[3:]}


X = np.array([0.8, -0.4, 1.1, 0.3])


def test_settled_estimates_are_the_map_of_F(rng):
    """Check 1: the circuit settles on the MAP of F (scipy.optimize on F written here). After
    1.2 s (120 τ_μ) the slowest mode of the linearised dynamics has decayed far below the
    tolerance; BFGS on 3-point finite differences locates the minimum to ~1e-8. Bound 1e-5."""
    model = deep_model(rng)
    circuit = build_circuit(model)
    circuit.run(1200 * ms, stimulus=X, record=False)
    expected = map_estimate(model, X)
    for name in ("z1", "z2"):
        np.testing.assert_allclose(circuit.estimate(name), expected[name], rtol=0, atol=1e-5)
    settled = {"x": X, **{n: circuit.estimate(n) for n in ("z1", "z2")}}
    assert abs(circuit.free_energy() - free_energy(model, settled)) < 1e-9 * abs(free_energy(model, settled))


@pytest.mark.parametrize("backend", ["dense", "synapses"])
def test_bottom_up_signal_is_the_jacobian_transpose_of_the_errors(backend, rng):
    """Check 1: what the compartments deliver to the upper estimates, f'_1(μ) ⊙ V_1ᵀ δ_1, equals
    Jᵀ ε_lower with J = ∂g/∂μ from central finite differences of the NumPy forward pass
    (h = 1e-6: truncation ~1e-12, rounding ~1e-10). Read mid-settling (not at a fixed point),
    from the state the couplings of the last step read. Bound 1e-6."""
    model = deep_model(rng)
    circuit = build_circuit(model, backend=backend)
    rec = circuit.run(3 * ms, stimulus=X)
    state = {name: rec.estimate[name][-1] for name in model.levels}
    errors = {name: rec.error[name][-1] for name in model.levels}
    for e, variable in ((model.edges[0], "input_x"), (model.edges[1], "input_z1")):
        mu = state[e.upper]
        step = 1e-6
        J = np.array([(e.predict(mu + step * u) - e.predict(mu - step * u)) / (2 * step)
                      for u in np.eye(len(mu))]).T
        delivered = NUMPY_ACTIVATIONS[e.activation[0]][1](mu) * np.asarray(
            getattr(circuit.columns[e.upper].estimate, variable)[:])
        np.testing.assert_allclose(delivered, J.T @ errors[e.lower], rtol=0, atol=1e-6)
        assert np.abs(J.T @ errors[e.lower]).max() > 1e-2   # not trivially zero


@pytest.mark.parametrize("backend", ["dense", "synapses"])
def test_deep_trajectory_equals_the_numpy_reference(backend, rng):
    """Every recorded step of a time-varying stimulus equals the NumPy Euler reference, whose
    deep edges write the chain rule out by hand. Same scheme, rounding only: bound 1e-9."""
    model = deep_model(rng)
    steps = 800
    t = np.arange(steps) * float(DT)
    stimulus = {"x": X + np.sin(2 * np.pi * 15 * t)[:, None] * rng.normal(size=4) * 0.5}
    circuit = build_circuit(model, backend=backend)
    rec = circuit.run(steps * DT, stimulus=stimulus)
    mu, eps, _ = simulate(model, stimulus, steps, float(DT), 0.010, 0.002)
    for name in mu:
        np.testing.assert_allclose(rec.estimate[name], mu[name], rtol=0, atol=1e-9)
        np.testing.assert_allclose(rec.error[name], eps[name], rtol=0, atol=1e-9)
    energies = [free_energy(model, {n: mu[n][k] for n in mu}) for k in (0, steps // 2, steps - 1)]
    np.testing.assert_allclose(rec.free_energy[[0, steps // 2, steps - 1]], energies, rtol=1e-10)


def test_weight_update_is_the_gradient_of_F(rng):
    """Check 2: after settling, one item-end update (learn="trial") changes every layer by
    ΔV_k = −α ∂F/∂V_k and Δc_k = −α ∂F/∂c_k at the settled state: compared with central finite
    differences of F written here (h = 1e-5: truncation ~1e-10, rounding ~1e-11 relative).
    The estimates settle for 1.5 s so that the error neurons sit at Σ⁻¹(μ − g) to ~1e-12.
    Bound 1e-6 relative per layer."""
    alpha = 1e-3
    model = deep_model(rng)
    circuit = Circuit()
    for name, level in model.levels.items():
        add = circuit.sensory if level.sensory else circuit.column
        add(name, level.size, covariance=level.covariance,
            **({} if level.prior_mean is None else {"prior_mean": level.prior_mean}))
    for e in model.edges:
        circuit.connect(e.upper, e.lower, e.weights, e.activation, e.biases, plastic=True, learning_rate=alpha,
                        learn_bias=True)
    before = [(p.weights, p.biases) for p in circuit.projections]
    circuit.run(1500 * ms, stimulus=X, record=False, learn="trial")   # one update, at the end
    settled = {"x": X, **{n: circuit.estimate(n) for n in ("z1", "z2")}}
    for projection, e, (weights, biases) in zip(circuit.projections, model.edges, before):
        for kind, old, new in (("weights", weights, projection.weights), ("biases", biases, projection.biases)):
            for k, (a, b) in enumerate(zip(old, new)):
                gradient = _numeric_gradient(model, settled, e, kind, k)
                np.testing.assert_allclose((b - a) / alpha, -gradient, rtol=1e-6,
                                           atol=1e-6 * np.abs(gradient).max(), err_msg=f"{kind}[{k}]")


def _numeric_gradient(model, estimates, e, kind, k, step=1e-5):
    parameter = (e.weights if kind == "weights" else e.biases)[k]
    gradient = np.zeros_like(parameter)
    for index in np.ndindex(parameter.shape):
        original = parameter[index]
        parameter[index] = original + step
        upper = free_energy(model, estimates)
        parameter[index] = original - step
        lower = free_energy(model, estimates)
        parameter[index] = original
        gradient[index] = (upper - lower) / (2 * step)
    return gradient


def test_continuous_and_trial_learning_of_every_layer_equal_the_reference():
    """Both schedules: continuous learning of every layer (τ_μ dV_k/dt = α δ_k f_k(h_k−1)ᵀ, every
    step) and item-end learning of every layer and bias over a sequence equal the NumPy
    reference (which forms δ_k by the hand-written chain rule). Rounding only: bound 1e-9.
    (Continuous bias learning is left out: the output bias c_K sits in the lower column's
    prediction offset, which the error neurons read after the step's update, one step earlier
    than a forward-Euler step of db/dt would — as for one-layer projections.)"""
    model = deep_model(np.random.default_rng(4), learning_rate=0.05)
    reference = deep_model(np.random.default_rng(4), learning_rate=0.05)
    circuit = build_circuit(model)
    steps = 400
    stimulus = {"x": np.tile(X, (steps, 1))}
    rec = circuit.run(steps * DT, stimulus=stimulus, learn="continuous")
    mu, eps, _ = simulate(reference, stimulus, steps, float(DT), 0.010, 0.002, learn_continuously=True)
    np.testing.assert_allclose(rec.estimate["z1"], mu["z1"], rtol=0, atol=1e-9)
    _assert_same_layers(circuit, reference)

    items = np.random.default_rng(6).normal(size=(4, 4))
    model = deep_model(np.random.default_rng(5), learning_rate=0.2, learn_bias=True)
    reference = deep_model(np.random.default_rng(5), learning_rate=0.2, learn_bias=True)
    circuit = build_circuit(model)
    trials = circuit.run_sequence(items, 30 * ms)
    ends = simulate_sequence(reference, {"x": items}, 300, float(DT), 0.010, 0.002)
    np.testing.assert_allclose(trials.trial_end["z2"], ends["z2"], rtol=0, atol=1e-9)
    _assert_same_layers(circuit, reference)
    assert np.abs(circuit.weights("z1", "x")[0] - model.edges[0].weights[0]).max() > 1e-3   # it learned


def _assert_same_layers(circuit, reference):
    for projection, e in zip(circuit.projections, reference.edges):
        for ours, theirs in zip(projection.weights + projection.biases, e.weights + e.biases):
            np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-9)


@pytest.mark.parametrize("backend", ["dense", "synapses"])
def test_batches_of_deep_circuits_equal_separate_runs(backend):
    """Check 5: B = 3 copies through the same deep projections equal three unbatched runs at
    every recorded step (the dense batch multiplies (B, n) @ Mᵀ: rounding only). Bound 1e-12."""
    stimuli = np.random.default_rng(3).normal(size=(3, 4))
    batched = build_circuit(deep_model(np.random.default_rng(7)), backend=backend, batch_size=3)
    rec = batched.run(15 * ms, stimulus=stimuli)
    for copy in range(3):
        single = build_circuit(deep_model(np.random.default_rng(7)), backend=backend)
        alone = single.run(15 * ms, stimulus=stimuli[copy])
        for name in alone.estimate:
            np.testing.assert_allclose(rec.estimate[name][:, copy], alone.estimate[name], rtol=0, atol=1e-12)
            np.testing.assert_allclose(rec.error[name][:, copy], alone.error[name], rtol=0, atol=1e-12)


def test_standalone_equals_runtime_on_deep_projections(tmp_path):
    """Check 5: the C++ standalone program (compartments as NeuronGroups, every layer a
    Synapses object whose summed variable is scheduled in the pass's order) equals the runtime
    engine over a run, a continuing run, and a run after new weights for every layer
    (set_weights with a list, passed as run_args without recompiling). Bound 1e-12."""
    results = {}
    for device in ("cpp_standalone", "runtime"):
        options = {"standalone_directory": str(tmp_path)} if device == "cpp_standalone" else {}
        circuit = build_circuit(deep_model(np.random.default_rng(11)), device=device, **options)
        runs = [circuit.run(10 * ms, stimulus=X), circuit.run(10 * ms, stimulus=-X)]
        circuit.set_weights("z1", "x", [0.8 * v for v in circuit.weights("z1", "x")])
        runs.append(circuit.run(10 * ms, stimulus=X))
        results[device] = runs
    for ours, theirs in zip(results["cpp_standalone"], results["runtime"]):
        for name in theirs.estimate:
            np.testing.assert_allclose(ours.estimate[name], theirs.estimate[name], rtol=0, atol=1e-12)
            np.testing.assert_allclose(ours.error[name], theirs.error[name], rtol=0, atol=1e-12)
