"""Learning: the Brian2 run against the NumPy reference, switching learning off, feedback
options, sequences, save/load."""
import numpy as np
import pytest
from brian2 import ms

from circuits import Circuit
from tests.conftest import DT, build_circuit, edge, random_covariance
from tests.reference import Level, Model, simulate, simulate_sequence

TOLERANCE = 1e-9   # same equations, same Euler scheme: only rounding differs


def plastic_model(rng, learning_rate=0.05, decay=0.1):
    model = Model({"x": Level(4, random_covariance(rng, 4), sensory=True),
                   "z": Level(2, np.eye(2), prior_mean=np.array([0.2, -0.1]))},
                  [edge("z", "x", rng.normal(size=(4, 2)) * 0.5, "tanh")])
    model.edges[0].learning_rate, model.edges[0].weight_decay = learning_rate, decay
    return model


def plastic_circuit(model, **kwargs):
    circuit = Circuit(**kwargs)
    for name, level in model.levels.items():
        add = circuit.sensory if level.sensory else circuit.column
        add(name, level.size, covariance=level.covariance,
            prior_mean=0.0 if level.prior_mean is None else level.prior_mean,
            learn_covariance=level.learn_covariance,
            covariance_learning_rate=level.covariance_learning_rate or 0.01)
    for e in model.edges:
        circuit.connect(e.upper, e.lower, weights=e.weights.copy(), activation=e.activation,
                        plastic=bool(e.learning_rate), learning_rate=e.learning_rate or 1e-3,
                        weight_decay=e.weight_decay)
    return circuit


def test_continuous_learning_matches_reference(rng):
    model = plastic_model(rng)
    circuit = plastic_circuit(model)
    stimulus = rng.normal(size=(500, 4))
    rec = circuit.run(50 * ms, stimulus=stimulus)
    mu, eps, _ = simulate(model, {"x": stimulus}, 500, float(DT), 0.010, 0.002, learn_continuously=True)
    for name in mu:
        np.testing.assert_allclose(rec.estimate[name], mu[name], rtol=0, atol=TOLERANCE)
        np.testing.assert_allclose(rec.error[name], eps[name], rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(circuit.weights("z", "x"), model.edges[0].weights, rtol=0, atol=TOLERANCE)
    assert np.abs(circuit.weights("z", "x") - plastic_model(np.random.default_rng(20171)).edges[0].weights).max() > 1e-3


def test_item_end_learning_in_a_sequence_matches_reference(rng):
    model = plastic_model(rng, learning_rate=0.02, decay=0.0)
    model.levels["x"].learn_covariance = True
    model.levels["x"].covariance_learning_rate = 0.05
    circuit = plastic_circuit(model)
    stimuli = rng.normal(size=(12, 4))
    rec = circuit.run_sequence(stimuli, item_duration=20 * ms)
    ends = simulate_sequence(model, {"x": stimuli}, 200, float(DT), 0.010, 0.002)
    for name in ends:
        np.testing.assert_allclose(rec.trial_end[name], ends[name], rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(circuit.weights("z", "x"), model.edges[0].weights, rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(circuit.covariance("x"), model.levels["x"].covariance, rtol=0, atol=TOLERANCE)
    assert rec.trial_end["z"].shape == (12, 2) and rec.trial_free_energy.shape == (12,)
    assert rec.trial_covariance["x"].shape == (12, 4, 4) and rec.estimate["z"].shape == (0, 2)
    assert np.allclose(circuit.covariance("x"), circuit.covariance("x").T)


def test_learning_switched_off_leaves_weights_bit_identical(rng):
    model = plastic_model(rng)
    circuit = plastic_circuit(model)
    before = circuit.weights("z", "x")
    circuit.run(20 * ms, stimulus=rng.normal(size=4), learn=False)
    circuit.run_sequence(rng.normal(size=(5, 4)), item_duration=5 * ms, learn=False)
    assert np.array_equal(circuit.weights("z", "x"), before)
    # a non-plastic projection keeps W while a covariance learns beside it
    c = Circuit()
    c.sensory("x", 2, learn_covariance=True)
    c.column("z", 1)
    c.connect("z", "x", weights=[[0.3], [0.7]])
    c.run_sequence(rng.normal(size=(5, 2)), item_duration=5 * ms)
    assert np.array_equal(c.weights("z", "x"), [[0.3], [0.7]])
    assert not np.array_equal(c.covariance("x"), np.eye(2))


def test_feedback_options(rng):
    def circuit_with(feedback):
        c = Circuit(seed=5)
        c.sensory("x", 3)
        c.column("z", 2)
        c.connect("z", "x", weights=rng.normal(size=(3, 2)), plastic=True, learning_rate=0.05,
                  weight_decay=0.5, feedback=feedback)
        return c
    stimuli = rng.normal(size=(200, 3))
    random = circuit_with("random")
    projection = random.projections[0]
    start = projection.feedback_weights
    random.run_sequence(stimuli, item_duration=5 * ms)
    assert np.array_equal(projection.feedback_weights, start)       # feedback alignment: fixed B
    kp = circuit_with("kolen-pollack")
    p = kp.projections[0]
    gap = np.linalg.norm(p.feedback_weights - p.weights.T)
    kp.run_sequence(stimuli, item_duration=5 * ms)
    # identical updates + decay: B − Wᵀ shrinks by (1 − αλ) per item, 200 items → × 0.0066
    np.testing.assert_allclose(np.linalg.norm(p.feedback_weights - p.weights.T),
                               gap * (1 - 0.05 * 0.5) ** 200, rtol=1e-6)
    tied = circuit_with("tied").projections[0]
    np.testing.assert_array_equal(tied.feedback_weights, tied.weights.T)


def test_sequence_without_reset_continues_the_state(rng):
    """reset_between=False: one run of K items equals K plain runs one after another."""
    model = plastic_model(rng, learning_rate=0.0)
    stimuli = rng.normal(size=(4, 4))
    c1 = build_circuit(model)
    seq = c1.run_sequence(stimuli, item_duration=5 * ms, reset_between=False, record="all")
    c2 = build_circuit(model)
    rows = np.concatenate([c2.run(5 * ms, stimulus=s).estimate["z"] for s in stimuli])
    np.testing.assert_allclose(seq.estimate["z"], rows, rtol=0, atol=1e-12)
    np.testing.assert_allclose(seq.trial_end["z"][-1], c2.estimate("z"), rtol=0, atol=1e-12)


def test_save_load_reproduces_the_run(rng, tmp_path):
    model = plastic_model(rng)
    model.levels["x"].learn_covariance = True
    circuit = plastic_circuit(model, seed=3)
    circuit.run_sequence(rng.normal(size=(6, 4)), item_duration=10 * ms)   # learn something
    path = tmp_path / "model.npz"
    circuit.save(path)
    loaded = Circuit.load(path)
    stimulus = rng.normal(size=(300, 4))
    circuit.reset()
    original = circuit.run(30 * ms, stimulus=stimulus)
    again = loaded.run(30 * ms, stimulus=stimulus)
    for name in original.estimate:
        np.testing.assert_array_equal(again.estimate[name], original.estimate[name])
    np.testing.assert_array_equal(loaded.weights("z", "x"), circuit.weights("z", "x"))
    np.testing.assert_array_equal(loaded.covariance("x"), circuit.covariance("x"))


def test_load_rejects_bad_files(tmp_path):
    import json
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="not a predictive-circuits model file"):
        Circuit.load(bad)
    c = Circuit()
    c.sensory("x", 1)
    c.save(tmp_path / "ok.npz")
    with np.load(tmp_path / "ok.npz") as data:
        arrays = dict(data)
    metadata = json.loads(str(arrays["metadata"]))
    metadata["format_version"] = 99
    np.savez(tmp_path / "newer.npz", **{**arrays, "metadata": np.array(json.dumps(metadata))})
    with pytest.raises(ValueError, match="newer than this version"):
        Circuit.load(tmp_path / "newer.npz")
    del arrays["column/x/covariance"]
    np.savez(tmp_path / "missing.npz", **arrays)
    with pytest.raises(ValueError, match="corrupt or inconsistent"):
        Circuit.load(tmp_path / "missing.npz")


def test_learning_argument_errors(rng):
    c = Circuit(backend="synapses")
    c.sensory("x", 2)
    c.column("z", 1)
    with pytest.raises(ValueError, match="need backend='dense'"):
        c.connect("z", "x", weights=np.ones((2, 1)), plastic=True)
    with pytest.raises(ValueError, match="learn_covariance needs"):
        c.column("w", 1, learn_covariance=True)
    with pytest.raises(ValueError, match="feedback must be one of"):
        c.connect("z", "x", weights=np.ones((2, 1)), feedback="mirror")
    d = Circuit()
    d.sensory("x", 2)
    d.column("z", 1)
    with pytest.raises(ValueError, match="learning_rate must be a finite number"):
        d.connect("z", "x", weights=np.ones((2, 1)), plastic=True, learning_rate=-1)
    d.connect("z", "x", weights=np.ones((2, 1)))
    with pytest.raises(ValueError, match="nothing learns"):
        d.run(1 * ms, learn="continuous")
    with pytest.raises(ValueError, match="learn must be None, 'continuous', 'trial' or False"):
        d.run(1 * ms, learn=True)
    with pytest.raises(ValueError, match=r"stimuli for 'x' must have shape \(K, 2\)"):
        d.run_sequence(np.ones((3, 3)), item_duration=1 * ms)
    with pytest.raises(ValueError, match="K ≥ 1"):
        d.run_sequence(np.ones(2), item_duration=1 * ms)


def test_save_load_keeps_generalized_columns_and_encoders(tmp_path):
    """Order, smoothness, dynamics, flat priors, and a trained encoder with learned updates."""
    circuit = Circuit()
    circuit.sensory("y", 1, covariance=0.5, order=3, smoothness=0.5)
    circuit.column("x", 2, covariance=0.2, order=3, smoothness=0.5, dynamics=[[0.0, 1.0], [-1.0, -0.1]])
    circuit.connect("x", "y", [[1.0, 0.0]])
    path = tmp_path / "generalized.npz"
    circuit.save(path)
    loaded = Circuit.load(path)
    stimulus = np.tile([1.0, 0.0, -1.0], (200, 1))
    np.testing.assert_array_equal(loaded.run(20 * ms, stimulus=stimulus).estimate["x"],
                                  circuit.run(20 * ms, stimulus=stimulus).estimate["x"])

    amortized = Circuit()
    amortized.sensory("x", 3, covariance=0.5)
    amortized.column("z", 2, flat_prior=False)
    amortized.connect("z", "x", [[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    amortized.encoder("z", iterations=1, read_duration=5 * ms)
    amortized.run_sequence(np.random.default_rng(0).normal(size=(5, 3)), 20 * ms, inference="hybrid")
    amortized.save(path)
    loaded = Circuit.load(path)
    for name in ("weights", "bias"):
        np.testing.assert_array_equal(getattr(loaded.encoders["z"], name), getattr(amortized.encoders["z"], name))
    for name, weights in amortized.encoders["z"].update_weights.items():
        np.testing.assert_array_equal(loaded.encoders["z"].update_weights[name], weights)
    assert np.any(amortized.encoders["z"].update_weights["x"])
