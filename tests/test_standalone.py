"""Standalone mode (issue 6): a compiled C++ program with run_args, equal to the runtime device."""
import os
from pathlib import Path

import numpy as np
import pytest
from brian2 import NetworkOperation, TimedArray, ms

from circuits import Circuit

#: One test process runs this whole file (pytest-xdist's loadgroup): its module fixtures are built once.
pytestmark = pytest.mark.xdist_group("standalone")


def build(**options):
    rng = np.random.default_rng(0)
    circuit = Circuit(**options)
    circuit.sensory("x", 6, covariance=0.5)
    circuit.column("z1", 4, covariance=np.eye(4) + 0.2)        # lateral synapses
    circuit.column("z2", 2, prior_mean=[0.3, -0.2])
    circuit.connect("z1", "x", rng.normal(size=(6, 4)) / 2, activation="tanh")
    circuit.connect("z2", "z1", rng.normal(size=(4, 2)) / 2)
    return circuit


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """The same circuit on both devices, run through the same sequence of calls."""
    directory = tmp_path_factory.mktemp("standalone")
    standalone, runtime = build(device="cpp_standalone", standalone_directory=str(directory)), build()
    rng = np.random.default_rng(1)
    x1, x2 = rng.normal(size=6), rng.normal(size=6)
    results = {"runtime": [], "standalone": []}
    stamps = []
    for circuit, key in ((standalone, "standalone"), (runtime, "runtime")):
        results[key].append(circuit.run(20 * ms, stimulus=x1))
        if key == "standalone":
            stamps.append(_binary(directory).stat().st_mtime_ns)
        results[key].append(circuit.run(20 * ms, stimulus=x2))          # continues, new stimulus
        circuit.set_weights("z1", "x", 0.5 * circuit.weights("z1", "x"))
        circuit.attend("z1", 2.0)
        results[key].append(circuit.run(20 * ms, stimulus=x2))          # new weights and gains
        circuit.reset()
        results[key].append(circuit.run(20 * ms, stimulus=x1))
        if key == "standalone":
            stamps.append(_binary(directory).stat().st_mtime_ns)
    return standalone, runtime, results, stamps


def _binary(directory) -> Path:
    return Path(directory) / ("main.exe" if os.name == "nt" else "main")


def test_standalone_equals_runtime(pair):
    """Every recorded step of four runs (continuing, new stimulus, new weights and attention,
    after reset): equal to the runtime device to 1e-12."""
    standalone, runtime, results, _ = pair
    for ours, theirs in zip(results["standalone"], results["runtime"]):
        np.testing.assert_allclose(np.asarray(ours.t), np.asarray(theirs.t), atol=1e-12)
        for name in theirs.estimate:
            np.testing.assert_allclose(ours.estimate[name], theirs.estimate[name], rtol=0, atol=1e-12)
            np.testing.assert_allclose(ours.error[name], theirs.error[name], rtol=0, atol=1e-12)
        np.testing.assert_allclose(ours.free_energy, theirs.free_energy, rtol=1e-12)
    np.testing.assert_allclose(standalone.estimate("z2"), runtime.estimate("z2"), atol=1e-12)


def test_reruns_reuse_the_compiled_binary(pair):
    """The program is compiled once: the binary is not rewritten by later runs."""
    _, _, _, stamps = pair
    assert stamps[0] == stamps[1]


def test_no_network_operation_is_skipped(pair):
    """The standalone network contains no network operation, and one added by hand is refused
    (Brian2 would skip it silently)."""
    standalone, _, _, _ = pair
    assert not any(isinstance(o, NetworkOperation) for o in standalone.network.objects)
    operation = NetworkOperation(lambda: None, dt=1 * ms)
    standalone.network.add(operation)
    try:
        with pytest.raises(ValueError, match="skip them silently"):
            standalone.run(20 * ms, stimulus=np.zeros(6))
    finally:
        standalone.network.remove(operation)
    with pytest.raises(ValueError, match="records as it was compiled"):
        standalone.run(10 * ms, stimulus=np.zeros(6), record=False)


def test_standalone_refuses_what_needs_python():
    plastic = Circuit(device="cpp_standalone")
    plastic.sensory("x", 2)
    plastic.column("z", 1)
    plastic.connect("z", "x", [[1.0], [1.0]], plastic=True, learn_bias=True)
    with pytest.raises(ValueError, match="learned biases"):
        plastic.run(5 * ms, stimulus=[1.0, 0.0])
    with pytest.raises(ValueError, match="run_sequence with item-end learning .*learned biases"):
        plastic.run_sequence(np.zeros((2, 2)), 5 * ms)
    sequence = Circuit(device="cpp_standalone")
    sequence.sensory("x", 2)
    with pytest.raises(ValueError, match="run_sequence with reset_between='prediction'"):
        sequence.run_sequence(np.zeros((2, 2)), 5 * ms, reset_between="prediction")
    with pytest.raises(RuntimeError, match="first run"):
        sequence.estimate("x")
    shifting = Circuit(device="cpp_standalone")
    shifting.sensory("x", 1)
    shifting.attend("x", TimedArray(np.ones((2, 1)), dt=1 * ms))
    with pytest.raises(ValueError, match="TimedArray"):
        shifting.run(5 * ms, stimulus=[1.0])
    with pytest.raises(ValueError, match="device"):
        Circuit(device="cuda")
