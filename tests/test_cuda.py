"""device="cuda_standalone" (issue 12): brian2cuda generates and compiles the circuit here
(nvcc, no GPU needed), with every dense coupling and the learning as cuBLAS calls; on a machine
with a GPU the runs equal the runtime engine's."""
import importlib.util
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from brian2 import Synapses, ms

import tests.test_compiled as compiled
from tests.test_compiled import build, learning_circuit

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("brian2cuda") is None,
                       reason="brian2cuda is not installed (it needs Brian2 2.10.1, Python >= 3.12: "
                              "pip install -e '.[cuda]')"),
    pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc (the CUDA toolkit) is not on PATH"),
]


def _gpu() -> bool:
    return bool(shutil.which("nvidia-smi")) and subprocess.run(["nvidia-smi"], capture_output=True).returncode == 0


def test_cuda_generates_compiles_and_matches_on_a_gpu(tmp_path):
    """The circuit of tests/test_compiled.py (tanh, lateral Σ, prior) is generated as CUDA and
    compiled with nvcc (-std=c++17 after brian2cuda's -std=c++11; cuRAND and cuBLAS from the
    nvidia packages): the binary exists, each dense coupling is a cuBLAS product (one copy:
    cublasDgemv through include/pc_cublas.h; tied feedback in the same code object) and no
    coupling is a Synapses object. Without a GPU running it fails; with one, every recorded
    step equals the runtime engine's to 1e-9 (float64 on both; the GPU sums in another order),
    and a recording program refuses another duration, naming record=False."""
    circuit, runtime = build(device="cuda_standalone", standalone_directory=str(tmp_path)), build()
    x = np.random.default_rng(2).normal(size=6)
    if _gpu():
        ours, theirs = circuit.run(10 * ms, stimulus=x), runtime.run(10 * ms, stimulus=x)
        for name in theirs.estimate:
            np.testing.assert_allclose(ours.estimate[name], theirs.estimate[name], rtol=0, atol=1e-9)
    else:
        with pytest.raises(RuntimeError):
            circuit.run(10 * ms, stimulus=x)
    makefile = (Path(tmp_path) / "makefile").read_text()
    assert "-std=c++17" in makefile and "-lcublas" in makefile and (Path(tmp_path) / "main").exists()
    assert not any(isinstance(o, Synapses) for o in circuit.network.objects)
    code = Path(tmp_path) / "code_objects"
    for name in ("generative_z1_to_x", "generative_z2_to_z1"):   # with the tied inference product
        assert (code / f"{name}_codeobject.cu").read_text().count("pc_cublas_gemv(") == 2
    if _gpu():
        with pytest.raises(ValueError, match="record=False"):
            circuit.run(5 * ms, stimulus=x)


#: Continuous-learning updates in test_cuda_learns_and_runs_any_duration (20 + 7 ms at dt = 0.1 ms).
UPDATES = 270


@pytest.mark.parametrize("precision", ["double", "single"])
def test_cuda_learns_and_runs_any_duration(tmp_path, precision):
    """A batch of 2 with continuous learning of W (tanh, tied feedback) and of W and B
    (Kolen–Pollack), without recording: one binary runs 20, 7 and 5 ms (the stop is host code),
    each product one gemm (the tied pair's two in one object) and each learning step one (two
    with Kolen–Pollack): cublasDgemm, or with precision="single" cublasSgemm on float32 arrays
    (include/pc_cublas.h). With a GPU the estimates after each run and the learned W and B equal
    the runtime engine's to 1e-9 in double; in single within float32 rounding of them, as for
    the C++ engine (tests/test_compiled.py): W and B within one rounding per update,
    UPDATES · 2^-24 · max|W|, the estimates within SINGLE."""
    circuit = learning_circuit(2, device="cuda_standalone", precision=precision, standalone_directory=str(tmp_path))
    runtime = learning_circuit(2)
    tolerance = {"double": (1e-9, lambda reference: 1e-9),
                 "single": (compiled.SINGLE, lambda reference: UPDATES * compiled.ROUNDING * np.abs(reference).max())}
    estimates, weights = tolerance[precision]
    x = np.random.default_rng(4).normal(size=(2, 5))

    def calls(c):
        finals = []
        for duration, stimulus, learn in ((20 * ms, x, "continuous"), (7 * ms, -x, "continuous"), (5 * ms, x, False)):
            c.run(duration, stimulus=stimulus, record=False, learn=learn)
            finals.append({name: c.estimate(name).copy() for name in ("z1", "z2")})
        return finals, [c.weights("z1", "x"), c.weights("z2", "z1"), c.graph.projection("z2", "z1").feedback_weights]
    if _gpu():
        (ours, learned), (theirs, expected) = calls(circuit), calls(runtime)
        assert not np.allclose(expected[0], learning_circuit(2).weights("z1", "x"))   # it learned
        for mine, reference in zip(ours, theirs):
            for name in reference:
                np.testing.assert_allclose(mine[name], reference[name], rtol=0, atol=estimates)
        for mine, reference in zip(learned, expected):
            np.testing.assert_allclose(mine, reference, rtol=0, atol=weights(reference))
    else:
        with pytest.raises(RuntimeError):
            circuit.run(20 * ms, stimulus=x, record=False, learn="continuous")
    code = Path(tmp_path) / "code_objects"
    assert [(code / f"learning_{name}_codeobject.cu").read_text().count("pc_cublas_gemm(")
            for name in ("z1_to_x", "z2_to_z1")] == [1, 2]
    # the tied pair (W f(μ) and Wᵀ ε) is one object: two gemm calls, no inference object
    pair = (code / "generative_z1_to_x_codeobject.cu").read_text()
    assert pair.count("pc_cublas_gemm(") == 2 and not (code / "inference_x_to_z1_codeobject.cu").exists()
    real = {"double": "double", "single": "float"}[precision]   # the overload of include/pc_cublas.h it calls
    assert f"const {real} _one = 1" in pair
    dtype = {"double": np.float64, "single": np.float32}[precision]
    assert circuit.columns["z1"].estimate.variables["mu"].dtype == dtype


def test_cuda_runs_sequences(tmp_path):
    """run_sequence on the GPU: the C++ engine's test (items, resets, item-end learning with f(μ)
    at the item's end, a batch of 2) on device='cuda_standalone', to 1e-9 (the GPU sums in
    another order); without a GPU the run fails and the generated learning and reset code is
    checked. Not yet run on a GPU."""
    if _gpu():
        compiled.test_sequences_run_compiled_and_equal_runtime(tmp_path, 2, True, "cuda_standalone", 1e-9)
        return
    circuit = learning_circuit(2, device="cuda_standalone", standalone_directory=str(tmp_path))
    with pytest.raises(RuntimeError):
        circuit.run_sequence(np.zeros((3, 2, 5)), 6 * ms)
    code = Path(tmp_path) / "code_objects"
    assert "_step % 60 != 0" in (code / "learning_z1_to_x_item_end_codeobject.cu").read_text()
    assert (code / "z1_estimate_reset_codeobject.cu").exists()


def test_cuda_clocks_tick_together_past_64_seconds(tmp_path):
    """brian2cuda's network loop compares clock times to 1e-14 s, less than a unit in the last
    place of t past 64 s (tests/test_compiled.py has the drift); the program's loop uses
    Brian2's runtime rule instead (templates/runtime_clocks.jinja): the generated network.cu
    calls pc_same_step where brian2cuda compares to Clock_epsilon, and compiles. On a GPU, 650
    items of 100 ms (65 s) equal the runtime engine's, as in C++. Not yet run on a GPU."""
    if _gpu():
        compiled.test_a_sequence_past_64_seconds_equals_runtime(tmp_path, "cuda_standalone", 1e-9)
        return
    circuit = learning_circuit(None, device="cuda_standalone", standalone_directory=str(tmp_path))
    with pytest.raises(RuntimeError):
        circuit.run_sequence(np.zeros((3, 5)), 6 * ms)
    loop = (Path(tmp_path) / "network.cu").read_text()
    assert "pc_same_step(s, t, clock, minclock)" in loop and "fabs(s-t)<=Clock_epsilon" not in loop
    assert (Path(tmp_path) / "main").exists()
