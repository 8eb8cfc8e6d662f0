"""device="cuda_standalone" (issue 12): brian2cuda generates and compiles the circuit here
(nvcc, no GPU needed); on a machine with a GPU the run equals the runtime engine's."""
import importlib.util
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from brian2 import ms

from tests.test_compiled import build

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
    compiled with nvcc (-std=c++17 after brian2cuda's -std=c++11; cuRAND from the nvidia
    package): the binary exists. Without a GPU running it fails; with one, every recorded step
    equals the runtime engine's to 1e-9."""
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
    assert "-std=c++17" in makefile and (Path(tmp_path) / "main").exists()
    assert sorted(p.name for p in (Path(tmp_path) / "code_objects").glob("generative_*codeobject.cu"))
