"""The Circuit API: recordings, state, reset, raw Brian2 access."""
import numpy as np
from brian2 import NeuronGroup, StateMonitor, ms

from circuits import Circuit, Column


def issue_circuit(backend="dense"):
    """The circuit of the foundation issue's example."""
    rng = np.random.default_rng(3)
    c = Circuit(dt=0.1 * ms, tau_estimate=10 * ms, tau_error=2 * ms, backend=backend)
    x = c.sensory("x", size=3, covariance=np.array([[1.0, 0.3, 0.0], [0.3, 1.0, 0.2], [0.0, 0.2, 0.5]]))
    z1 = c.column("z1", size=2, covariance=[0.5, 1.5])
    z2 = c.column("z2", size=1, prior_mean=0.8, covariance=1.0)
    c.connect(z1, x, weights=rng.normal(size=(3, 2)), activation="linear")
    c.connect(z2, z1, weights=rng.normal(size=(2, 1)), activation="tanh", bias=[0.1, -0.2])
    return c, x, z1, z2


def test_recording_shapes_and_units():
    c, x, z1, z2 = issue_circuit()
    rec = c.run(30 * ms, stimulus=np.ones((300, 3)))
    assert rec.t.shape == (300,) and rec.t[1] - rec.t[0] == 0.1 * ms
    assert rec.estimate["z1"].shape == (300, 2) and rec.error["x"].shape == (300, 3)
    assert rec.free_energy.shape == (300,)
    assert set(rec.free_energy_by_level) == {"x", "z1", "z2"}
    np.testing.assert_array_equal(rec.estimate["x"], np.ones((300, 3)))
    assert c.estimate("z1").shape == (2,) and c.error("x").shape == (3,)
    assert rec.estimate["z2"][0, 0] == 0.8        # starts at the prior mean


def test_free_energy_decreases_to_its_minimum_under_constant_input():
    c, *_ = issue_circuit()
    rec = c.run(300 * ms, stimulus=[0.5, -1.0, 0.2])
    assert rec.free_energy[-1] < rec.free_energy[0]
    assert abs(rec.free_energy[-1] - rec.free_energy[-100]) < 1e-6 * abs(rec.free_energy[-1])


def test_reset_restores_initial_state_and_time():
    c, *_ = issue_circuit()
    first = c.run(20 * ms, stimulus=[0.5, -1.0, 0.2])
    c.run(20 * ms, stimulus=[2.0, 2.0, 2.0])
    c.reset()
    assert c.network.t == 0 * ms
    np.testing.assert_array_equal(c.estimate("z2"), [0.8])
    np.testing.assert_array_equal(c.error("z1"), [0.0, 0.0])
    again = c.run(20 * ms, stimulus=[0.5, -1.0, 0.2])
    np.testing.assert_array_equal(again.estimate["z1"], first.estimate["z1"])
    np.testing.assert_array_equal(np.asarray(again.t), np.asarray(first.t))


def test_columns_expose_brian2_groups_and_user_monitors_work():
    c, x, z1, z2 = issue_circuit()
    assert isinstance(z1, Column) and isinstance(z1.estimate, NeuronGroup)
    assert isinstance(z1.error, NeuronGroup) and "deps/dt" in str(z1.error.equations).replace(" ", "")
    assert z1.downward[0].upper is z2 and z1.upward[0].lower is x
    np.testing.assert_allclose(z1.precision @ z1.covariance, np.eye(2), atol=1e-12)
    monitor = StateMonitor(z1.error, "prediction", record=True)
    c.network.add(monitor)
    c.run(5 * ms, stimulus=[0.0, 0.0, 0.0])
    assert monitor.prediction.shape == (2, 50)
    np.testing.assert_allclose(c.weights(z2, z1), c.weights("z2", "z1"))
    np.testing.assert_allclose(c.bias(z2, z1), [0.1, -0.2])


def test_synapses_backend_exposes_sparse_synapses():
    c = Circuit(backend="synapses")
    x = c.sensory("x", size=4)
    z = c.column("z", size=2)
    projection = c.connect(z, x, weights=[[1, 0], [0, 1], [0.5, 0], [0, 0]])
    c.build()
    generative, inference = projection.synapses
    assert len(generative) == 3 and len(inference) == 3     # only the non-zero weights
    np.testing.assert_allclose(sorted(generative.w[:]), [0.5, 1, 1])


def test_record_false_keeps_only_the_final_state():
    c, *_ = issue_circuit()
    rec = c.run(10 * ms, stimulus=[1.0, 1.0, 1.0], record=False)
    assert rec.estimate["z1"].shape == (0, 2)
    assert np.all(np.isfinite(c.estimate("z1")))


def test_the_circuit_dt_drives_every_brian2_object():
    """Circuit(dt=1 ms): 20 ms is 20 steps; groups, monitors and operations share that clock."""
    c = Circuit(dt=1 * ms, tau_estimate=10 * ms, tau_error=10 * ms)
    c.sensory("x", 2)
    c.column("z", 1)
    c.connect("z", "x", weights=[[1.0], [0.5]])
    rec = c.run(20 * ms, stimulus=[1.0, 1.0])
    assert rec.t.shape == (20,) and rec.t[1] == 1 * ms
    assert c.columns["z"].estimate.clock.dt == 1 * ms and c.columns["x"].error.clock.dt == 1 * ms
    # one Euler step by hand: ε_x(1 ms) = dt/τ_ε (x − W μ_z − Σ ε) = 0.1 · (1 − 0) from ε = μ_z = 0
    np.testing.assert_allclose(rec.error["x"][1], [0.1, 0.1], rtol=1e-12)


def test_record_every_kth_step_matches_full_recording():
    c, *_ = issue_circuit()
    full = c.run(20 * ms, stimulus=[0.5, -1.0, 0.2])
    c.reset()
    sparse = c.run(20 * ms, stimulus=[0.5, -1.0, 0.2], record=10)
    assert sparse.estimate["z1"].shape == (20, 2)
    np.testing.assert_array_equal(sparse.estimate["z1"], full.estimate["z1"][::10])
    np.testing.assert_array_equal(sparse.error["x"], full.error["x"][::10])
    np.testing.assert_allclose(np.asarray(sparse.t / ms), np.asarray(full.t / ms)[::10])
    np.testing.assert_allclose(sparse.free_energy, full.free_energy[::10])
    c.reset()
    seq = c.run_sequence(np.ones((3, 3)), item_duration=5 * ms, record=25)
    assert seq.estimate["z2"].shape == (6, 1) and seq.trial_end["z2"].shape == (3, 1)
    import pytest
    with pytest.raises(ValueError, match="record must be one of"):
        c.run(1 * ms, record="sometimes")


def test_progress_report_reaches_completion():
    """Brian2's report= callback is passed through (also by run_sequence) for long runs."""
    c, *_ = issue_circuit()
    calls = []
    c.run(20 * ms, stimulus=[0.5, -1.0, 0.2], report=lambda elapsed, done, start, duration: calls.append(done))
    assert calls and calls[0] == 0 and calls[-1] == 1
    calls.clear()
    c.run_sequence(np.ones((4, 3)), item_duration=5 * ms,
                   report=lambda elapsed, done, start, duration: calls.append(done))
    assert calls[-1] == 1
