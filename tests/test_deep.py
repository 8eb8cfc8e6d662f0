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


def test_deep_encoder_proposes_its_network_output_and_learns_every_layer():
    """A deep encoder's proposal neurons hold μ_q = U_2 tanh(U_1 x + a_1) + a_2 (compartments
    computed within the step: 1e-12 one step into an amortized item), and one item-end update
    of every layer equals −α ∇ ½‖μ − μ_q‖² by finite differences (1e-6 relative)."""
    rng = np.random.default_rng(8)
    U = [rng.normal(size=(5, 3)), rng.normal(size=(2, 5)) / 2]
    a = [rng.normal(size=5) * 0.1, np.array([0.2, -0.1])]
    circuit = Circuit()
    circuit.sensory("x", 3, covariance=0.5)
    circuit.column("z", 2)
    circuit.connect("z", "x", rng.normal(size=(3, 2)))
    encoder = circuit.encoder("z", weights=[u.copy() for u in U], activation=["linear", "tanh"],
                              bias=[c.copy() for c in a], learning_rate=0.1)
    x = np.array([0.3, -0.6, 0.9])

    def proposal(U, a):
        return np.tanh(x @ U[0].T + a[0]) @ U[1].T + a[1]

    trials = circuit.run_sequence(x[None], 30 * ms, inference="hybrid")
    np.testing.assert_allclose(trials.trial_proposal["z"][0], proposal(U, a), rtol=0, atol=1e-12)
    settled = trials.trial_end["z"][0]
    for k, (before, after) in enumerate(zip(U + a, encoder.dendrite.weights + encoder.dendrite.biases)):
        gradient = np.zeros_like(before)
        for index in np.ndindex(before.shape):
            for sign in (1, -1):
                shifted = [p.copy() for p in U + a]
                shifted[k][index] += sign * 1e-6
                gradient[index] += sign * 0.5 * np.sum((settled - proposal(shifted[:2], shifted[2:])) ** 2) / 2e-6
        np.testing.assert_allclose((after - before) / 0.1, -gradient, rtol=1e-6, atol=1e-9)


def test_feedback_alignment_and_target_propagation_form_their_own_learning_signals():
    """Feedback alignment sends the errors back through fixed random B_k (shaped like V_kᵀ,
    drawn from the seed): the hidden update is ⟨(f'(h) ⊙ B ε) zᵀ⟩. Target propagation with an
    exact linear inverse (V_2 square and invertible, Q_2 = V_2⁻¹, linear layers) gives the
    hidden layer the target displacement δ_1 = V_2⁻¹ δ_2. Checked by hand (1e-12); the output
    layer's update is the same for every rule."""
    rng = np.random.default_rng(9)
    V = [rng.normal(size=(3, 2)), rng.normal(size=(3, 3)) + 2 * np.eye(3)]
    updates = {}
    for credit in ("backprop", "feedback-alignment", "target-prop"):
        circuit = Circuit(seed=4)
        circuit.sensory("x", 3, covariance=0.5)
        circuit.column("z", 2)
        p = circuit.connect("z", "x", [v.copy() for v in V], ["linear", "linear"], plastic=True, learning_rate=0.01,
                            credit=credit, target_step=1e-3 if credit == "target-prop" else None)
        if credit == "target-prop":
            p.dendrite.inverse_weights[0][:] = np.linalg.inv(V[1])
            p.dendrite.inverse_learning_rates = [0.0]
        rec = circuit.run(5 * ms, stimulus=[0.5, -1.0, 0.2], learn="trial")
        z, eps = circuit.estimate("z"), circuit.error("x")
        updates[credit] = [(after - before) / 0.01 for before, after in zip(V, p.weights)]
        if credit == "feedback-alignment":
            B = p.dendrite.alignment_weights[0]
            assert B.shape == (3, 3) and not np.allclose(B, V[1].T)
            np.testing.assert_allclose(updates[credit][0], np.outer(B @ eps, z), atol=1e-12)
        if credit == "target-prop":
            np.testing.assert_allclose(updates[credit][0], np.outer(np.linalg.solve(V[1], eps), z), atol=1e-9)
        assert rec.estimate["z"].shape == (50, 2)
    np.testing.assert_allclose(updates["backprop"][0], np.outer(V[1].T @ eps, z), atol=1e-12)
    for credit in ("feedback-alignment", "target-prop"):
        np.testing.assert_allclose(updates[credit][1], updates["backprop"][1], atol=1e-12)


def test_target_propagation_inverses_learn_to_reconstruct():
    """The inverse g_2(h_2) = Q_2 h_2 + d_2 of a fixed linear layer h_2 = V_2 h_1 + c_2 learns
    by denoising reconstruction (ΔQ = α_g (h̃_1 − g(h̃_2)) h̃_2ᵀ) towards V_2⁻¹: after 300 items
    the reconstruction error of held-out h_1 falls below 1 % of its scale (from ~100 %)."""
    rng = np.random.default_rng(10)
    V2 = rng.normal(size=(3, 3)) + 2 * np.eye(3)
    circuit = Circuit(seed=5)
    circuit.sensory("x", 3)
    circuit.column("z", 3)
    p = circuit.connect("z", "x", [np.eye(3), V2], ["linear", "linear"], bias=[0.0, 0.3], plastic=True,
                        learning_rate=0.0, credit="target-prop", inverse_learning_rate=0.05, inverse_noise=1.0)
    inverse = p.dendrite

    def error():
        h1 = rng.normal(size=(50, 3))
        h2 = h1 @ V2.T + 0.3
        return np.linalg.norm(h2 @ inverse.inverse_weights[0].T + inverse.inverse_biases[0] - h1) / np.linalg.norm(h1)

    before = error()
    circuit.run_sequence(rng.normal(size=(300, 3)), 2 * ms)
    assert before > 0.5 and error() < 0.01


def test_analysis_understands_deep_projections(rng):
    """F by level equals F written here; the Laplace precision H is the Gauss–Newton Jᵀ Π J
    with the deep Jacobian (finite differences, 1e-8); a deep *linear* projection has the
    exact posterior and closed-form ELBO of the one-layer projection with W = V_2 V_1 and
    b = V_2 c_1 + c_2 (1e-10)."""
    model = deep_model(rng)
    circuit = build_circuit(model)
    circuit.run(20 * ms, stimulus=X, record=False)
    state = {"x": X, **{n: circuit.estimate(n) for n in ("z1", "z2")}}
    assert abs(circuit.free_energy() - free_energy(model, state)) < 1e-10 * abs(free_energy(model, state))
    H = circuit.posterior_precision()
    J = {}
    for e in model.edges:
        mu = state[e.upper]
        J[e.lower] = np.array([(e.predict(mu + 1e-6 * u) - e.predict(mu - 1e-6 * u)) / 2e-6
                               for u in np.eye(len(mu))]).T
    Px, P1 = np.linalg.inv(model.levels["x"].covariance), np.linalg.inv(model.levels["z1"].covariance)
    A = np.block([[J["x"].T @ Px @ J["x"] + P1, -P1 @ J["z1"]],
                  [-J["z1"].T @ P1, J["z1"].T @ P1 @ J["z1"] + np.linalg.inv(model.levels["z2"].covariance)]])
    np.testing.assert_allclose(H, A, rtol=1e-7, atol=1e-8)

    V1, V2, c1, c2 = rng.normal(size=(4, 2)), rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=3)
    deep, flat = Circuit(), Circuit()
    for c, weights, bias in ((deep, [V1, V2], [c1, c2]), (flat, V2 @ V1, V2 @ c1 + c2)):
        c.sensory("x", 3, covariance=0.7)
        c.column("z", 2, prior_mean=[0.1, 0.2])
        c.connect("z", "x", weights, ["linear", "linear"] if isinstance(weights, list) else "linear", bias)
        c.run(30 * ms, stimulus=[0.3, 0.1, -0.4], record=False)
    for ours, theirs in zip(exact_posterior(deep, {"x": [0.3, 0.1, -0.4]}), exact_posterior(flat, {"x": [0.3, 0.1, -0.4]})):
        np.testing.assert_allclose(ours["z"] if isinstance(ours, dict) else ours,
                                   theirs["z"] if isinstance(theirs, dict) else theirs, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(deep.elbo(method="closed-form", covariance="laplace")[0],
                               flat.elbo(method="closed-form", covariance="laplace")[0], rtol=1e-10)


def test_deep_projections_and_encoders_are_saved_and_loaded(tmp_path):
    """Every layer, bias, activation, learning rate, credit rule and the feedback-alignment and
    inverse weights survive save → load, and the loaded circuit runs identically."""
    rng = np.random.default_rng(12)
    circuit = Circuit(seed=3)
    circuit.sensory("x", 4)
    circuit.column("z", 2)
    circuit.column("top", 2)
    circuit.connect("z", "x", [rng.normal(size=(5, 2)), rng.normal(size=(4, 5))], ["linear", "softplus"],
                    [0.1, rng.normal(size=4)], plastic=True, learning_rate=[0.01, 0.02], credit="target-prop")
    circuit.connect("top", "z", [rng.normal(size=(3, 2)), rng.normal(size=(2, 3))], ["tanh", "tanh"],
                    plastic=True, credit="feedback-alignment")
    circuit.encoder("z", weights=[rng.normal(size=(3, 4)), rng.normal(size=(2, 3))], activation=["linear", "tanh"],
                    bias=[0.0, 0.1])
    circuit.save(tmp_path / "deep.npz")
    loaded = Circuit.load(tmp_path / "deep.npz")
    for ours, theirs in zip(circuit.projections, loaded.projections):
        assert ours.credit == theirs.credit and ours.learning_rate == theirs.learning_rate
        assert [f.name for f in ours.activations] == [f.name for f in theirs.activations]
        for a, b in zip(ours.weights + ours.biases, theirs.weights + theirs.biases):
            np.testing.assert_array_equal(a, b)
        for kind in ("alignment_weights", "inverse_weights", "inverse_biases"):
            for a, b in zip(getattr(ours.dendrite, kind) or [], getattr(theirs.dendrite, kind) or []):
                np.testing.assert_array_equal(a, b)
    for a, b in zip(circuit.encoders["z"].weights, loaded.encoders["z"].weights):
        np.testing.assert_array_equal(a, b)
    first = circuit.run(5 * ms, stimulus=np.ones(4), learn=False)
    second = loaded.run(5 * ms, stimulus=np.ones(4), learn=False)
    np.testing.assert_array_equal(first.estimate["top"], second.estimate["top"])


def test_layer_specifications_and_their_errors():
    """activation lists: one entry per layer ("tanh", "tanh" is two named layers, never a custom
    pair); a one-layer pair keeps its meaning; ambiguous or malformed specs, weight chains that
    do not fit, wrong bias lists, and options a deep projection cannot take fail naming the
    argument and the fix."""
    def circuit():
        c = Circuit()
        c.sensory("x", 3)
        c.column("z", 2)
        return c

    V = [np.ones((4, 2)), np.ones((3, 4))]
    p = circuit().connect("z", "x", V, activation=("tanh", "tanh"))
    assert [f.name for f in p.activations] == ["tanh", "tanh"] and p.layers == 2
    p = circuit().connect("z", "x", np.ones((3, 2)), activation=("x**3", "3*x**2"))
    assert p.activation.rate_expression == "x**3"
    with pytest.raises(ValueError, match=r"'tanh' is a function, not an expression.*activation='tanh'"):
        circuit().connect("z", "x", np.ones((3, 2)), activation=("tanh", "tanh"))
    with pytest.raises(ValueError, match=r"2 layers takes a list of 2 activations"):
        circuit().connect("z", "x", V, activation="tanh")
    with pytest.raises(ValueError, match=r"activation\[0\]: unknown name 'x\*\*2'"):
        circuit().connect("z", "x", V, activation=("x**2", "2*x"))
    with pytest.raises(ValueError, match=r"activation\[1\]: a custom activation is a pair"):
        circuit().connect("z", "x", V, activation=["linear", ("tanh(x)",)])
    with pytest.raises(ValueError, match=r"weights\[1\] must have shape \(3, 4\)"):
        circuit().connect("z", "x", [np.ones((4, 2)), np.ones((3, 5))], activation=["linear", "tanh"])
    with pytest.raises(ValueError, match=r"weights\[0\] must have shape \(H_1, 2\)"):
        circuit().connect("z", "x", [np.ones((4, 3)), np.ones((3, 4))], activation=["linear", "tanh"])
    with pytest.raises(ValueError, match=r"bias: a pathway of 2 layers takes a scalar .* sizes \[4, 3\]"):
        circuit().connect("z", "x", V, activation=["linear", "tanh"], bias=np.zeros(3))
    with pytest.raises(ValueError, match=r"bias\[1\] must be a scalar or have shape \(3,\)"):
        circuit().connect("z", "x", V, activation=["linear", "tanh"], bias=[0.0, np.zeros(4)])
    with pytest.raises(ValueError, match="deep projection's bottom-up path is tied"):
        circuit().connect("z", "x", V, activation=["linear", "tanh"], feedback="random")
    with pytest.raises(ValueError, match="one-layer pathway has none"):
        circuit().connect("z", "x", np.ones((3, 2)), plastic=True, credit="target-prop")
    with pytest.raises(ValueError, match="pass plastic=True"):
        circuit().connect("z", "x", V, activation=["linear", "tanh"], credit="feedback-alignment")
    with pytest.raises(ValueError, match="credit must be one of"):
        circuit().connect("z", "x", V, activation=["linear", "tanh"], plastic=True, credit="hebb")
    with pytest.raises(ValueError, match=r"learning_rate: give one number, or a list of 2"):
        circuit().connect("z", "x", V, activation=["linear", "tanh"], plastic=True, learning_rate=[0.1])
    c = circuit()
    c.connect("z", "x", V, activation=["linear", "tanh"])
    with pytest.raises(ValueError, match="pass a list of 2 matrices"):
        c.set_weights("z", "x", np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"learn_at must be one of"):
        c.run_sequence(np.ones((1, 3)), 1 * ms, learn_at="posterior")
    with pytest.raises(ValueError, match=r"learn_at='laplace' samples at each item's end: it needs learn='trial'"):
        c.run_sequence(np.ones((1, 3)), 1 * ms, learn_at="laplace", learn=False)


def test_deep_encoder_with_iterative_amortization():
    """A deep encoder also drives iterative amortization: in amortized mode the held estimate
    moves from the deep proposal by the learned update γ u (u = Σ U_k ε_k read after the errors
    settled at the proposal), and in hybrid mode U learns from what the dynamics still changed."""
    rng = np.random.default_rng(13)
    circuit = Circuit()
    circuit.sensory("x", 3, covariance=0.5)
    circuit.column("z", 2)
    circuit.connect("z", "x", rng.normal(size=(3, 2)))
    encoder = circuit.encoder("z", weights=[rng.normal(size=(4, 3)), rng.normal(size=(2, 4))],
                              activation=["linear", "tanh"], iterations=1, read_duration=5 * ms, plastic=True,
                              learning_rate=0.0, update_learning_rate=0.1)
    encoder.update_weights["x"][:] = rng.normal(size=(2, 3)) * 0.1
    x = np.array([0.3, -0.6, 0.9])
    held = circuit.run_sequence(x[None], 10 * ms, inference="amortized", learn=False)
    assert np.abs(held.trial_end["z"][0] - held.trial_proposal["z"][0]).max() > 1e-3
    before = {k: u.copy() for k, u in encoder.update_weights.items()}
    circuit.run_sequence(x[None], 30 * ms, inference="hybrid")
    assert any(np.abs(before[k] - encoder.update_weights[k]).max() > 1e-6 for k in before)
