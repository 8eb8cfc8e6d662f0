"""Proof 5: bad input raises a clear ValueError/TypeError naming the parameter; a diverging run
stops with an error naming the column and suggesting a smaller dt."""
import numpy as np
import pytest
from brian2 import TimedArray, mV, ms

from circuits import Circuit, SimulationDiverged


def small_circuit(**kwargs):
    c = Circuit(**kwargs)
    x = c.sensory("x", size=3)
    z = c.column("z", size=2)
    c.connect(z, x, weights=np.ones((3, 2)) * 0.1)
    return c, x, z


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(dt=1 * ms, tau_error=2 * ms), ValueError, ["dt", "tau_error"]),
    (dict(dt=5 * ms), ValueError, ["dt", "tau_estimate"]),
    (dict(dt=0.1), TypeError, ["dt", "10*ms"]),
    (dict(tau_error=2 * mV), TypeError, ["tau_error", "time"]),
    (dict(tau_estimate=-1 * ms), ValueError, ["tau_estimate", "positive"]),
    (dict(backend="gpu"), ValueError, ["backend", "dense"]),
    (dict(target="fortran"), ValueError, ["target", "cython"]),
])
def test_bad_circuit_parameters(kwargs, error, words):
    with pytest.raises(error) as info:
        Circuit(**kwargs)
    assert all(w in str(info.value) for w in words), str(info.value)


@pytest.mark.parametrize("covariance, words", [
    ([[1.0, 0.5], [0.4, 1.0]], ["covariance", "symmetric"]),
    ([[1.0, 2.0], [2.0, 1.0]], ["covariance", "positive definite", "eigenvalue"]),
    ([1.0, -1.0], ["covariance", "positive"]),
    (np.eye(3), ["covariance", "(2, 2)"]),
    ([1.0, np.nan], ["covariance", "NaN"]),
    (1000.0, ["covariance", "dt", "tau_error"]),   # dt·λ/τ_ε = 50: Euler would explode
])
def test_bad_covariances(covariance, words):
    c = Circuit()
    with pytest.raises(ValueError) as info:
        c.column("z", size=2, covariance=covariance)
    assert all(w in str(info.value) for w in words), str(info.value)


def test_bad_columns():
    c = Circuit()
    c.column("z", size=2)
    with pytest.raises(ValueError, match="name 'z' is already used"):
        c.column("z", size=2)
    with pytest.raises(ValueError, match="name must be a Python identifier"):
        c.column("my column", size=2)
    with pytest.raises(TypeError, match="size must be a positive integer"):
        c.column("w", size=2.5)
    with pytest.raises(ValueError, match="size must be at least 1"):
        c.column("w", size=0)
    with pytest.raises(ValueError, match=r"prior_mean must be a scalar or have shape \(2,\)"):
        c.column("w", size=2, prior_mean=[1, 2, 3])


def test_bad_connections():
    c = Circuit()
    x = c.sensory("x", size=3)
    z = c.column("z", size=2)
    top = c.column("top", size=1)
    with pytest.raises(ValueError, match=r"weights must have shape \(3, 2\)"):
        c.connect(z, x, weights=np.ones((2, 3)))
    with pytest.raises(ValueError, match="same column 'z'"):
        c.connect(z, z, weights=np.ones((2, 2)))
    with pytest.raises(ValueError, match="activation: unknown name 'tanhh'"):
        c.connect(z, x, weights=np.ones((3, 2)), activation="tanhh")
    with pytest.raises(ValueError, match="unknown name"):
        c.connect(z, x, weights=np.ones((3, 2)), activation=("foo(x)", "1"))
    with pytest.raises(TypeError, match="activation must be"):
        c.connect(z, x, weights=np.ones((3, 2)), activation=42)
    with pytest.raises(ValueError, match="upper column 'x' is sensory"):
        c.connect(x, z, weights=np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"bias must be a scalar or have shape \(3,\)"):
        c.connect(z, x, weights=np.ones((3, 2)), bias=[1, 2])
    with pytest.raises(ValueError, match="weights contains NaN"):
        c.connect(z, x, weights=[[1, 2], [np.inf, 1], [0, 0]])
    with pytest.raises(ValueError, match="no column named 'y'"):
        c.connect("y", x, weights=np.ones((3, 2)))
    c.connect(top, z, weights=np.ones((2, 1)))
    with pytest.raises(ValueError, match="cycles"):
        c.connect(z, top, weights=np.ones((1, 2)))
    c.connect(z, x, weights=np.ones((3, 2)))
    with pytest.raises(ValueError, match="already predicts"):
        c.connect(z, x, weights=np.ones((3, 2)))
    other = Circuit()
    foreign = other.column("top", size=1)
    with pytest.raises(ValueError, match="another circuit"):
        c.connect(foreign, z, weights=np.ones((2, 1)))


def test_derivative_mismatch_warns():
    c = Circuit()
    x = c.sensory("x", size=1)
    z = c.column("z", size=1)
    with pytest.warns(UserWarning, match="differs from the numerical derivative"):
        c.connect(z, x, weights=[[1.0]], activation=("x**2", "x"))


@pytest.mark.parametrize("stimulus, error, words", [
    ([1.0, np.nan, 0.0], ValueError, ["stimulus", "NaN"]),
    ([1.0, np.inf, 0.0], ValueError, ["stimulus", "infinite"]),
    ([1.0, 2.0], ValueError, ["stimulus", "(3,)"]),
    (np.zeros((5, 3)), ValueError, ["stimulus", "T = 100"]),
    (np.zeros((100, 2)), ValueError, ["stimulus", "(T, 3)"]),
    ("bright", TypeError, ["stimulus", "numeric"]),
    (TimedArray(np.zeros((4, 2)), dt=1 * ms), ValueError, ["stimulus", "(K, 3)"]),
    (TimedArray(np.full((4, 3), np.nan), dt=1 * ms), ValueError, ["stimulus", "NaN"]),
    ({"y": [1, 2, 3]}, ValueError, ["stimulus", "not sensory or clamped columns"]),
])
def test_bad_stimuli(stimulus, error, words):
    c, _, _ = small_circuit()
    with pytest.raises(error) as info:
        c.run(10 * ms, stimulus=stimulus)
    assert all(w in str(info.value) for w in words), str(info.value)


@pytest.mark.parametrize("duration, error", [(10, TypeError), (0.05 * ms, ValueError), (-5 * ms, ValueError)])
def test_bad_durations(duration, error):
    c, _, _ = small_circuit()
    with pytest.raises(error, match="duration"):
        c.run(duration, stimulus=[1, 2, 3])


def test_structure_is_fixed_after_build():
    c, x, z = small_circuit()
    c.run(1 * ms)
    with pytest.raises(RuntimeError, match="already built"):
        c.column("late", size=1)


def test_divergence_names_the_column_and_suggests_smaller_dt():
    """W = 40 makes the estimate dynamics stiff (rate W²/(Σ τ_μ) ≈ 160/ms): Euler at dt = 0.1 ms
    is unstable, which the run must report instead of returning garbage."""
    c = Circuit()
    x = c.sensory("x", size=1)
    z = c.column("z", size=1)
    c.connect(z, x, weights=[[40.0]])
    with pytest.raises(SimulationDiverged) as info:
        c.run(200 * ms, stimulus=[1.0])
    message = str(info.value)
    assert "column 'z'" in message or "column 'x'" in message, message
    assert "smaller dt" in message and "dt=25. us" in message, message
    # stopped early: the network time is at the first check past the blow-up, not 200 ms
    assert c.network.t < 200 * ms
    c.reset()
    assert c.network.t == 0 * ms and c.estimate("z")[0] == 0.0


def test_generalized_coordinates_errors():
    circuit = Circuit()
    with pytest.raises(ValueError, match="smoothness"):
        circuit.column("a", 2, order=3)
    with pytest.raises(ValueError, match="order ≥ 2"):
        circuit.column("b", 2, dynamics=np.eye(2))
    with pytest.raises(ValueError, match="order must be"):
        circuit.column("c", 2, order=0)
    with pytest.raises(ValueError, match="dynamics"):
        circuit.column("d", 2, order=2, smoothness=0.5, dynamics=np.eye(3))
    circuit.sensory("y", 1, order=2, smoothness=0.5)
    circuit.column("x", 1)
    with pytest.raises(ValueError, match="same order"):
        circuit.connect("x", "y", [[1.0]])
    circuit.column("h", 1, order=2, smoothness=0.5, dynamics=[[-1.0]])
    circuit.column("top", 1, order=2, smoothness=0.5)
    with pytest.raises(ValueError, match="top column"):
        circuit.connect("top", "h", [[1.0]])
    with pytest.raises(ValueError, match="linear"):
        circuit.connect("top", "y", [[1.0]], activation="tanh")
