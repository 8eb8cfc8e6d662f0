"""The CUDA standalone engine: the circuit as one brian2cuda program (``device="cuda_standalone"``).

brian2cuda (``pip install 'predictive-circuits[cuda]'``; it needs Brian2 2.10.1, hence
Python ≥ 3.12) generates CUDA code for Brian2 networks. This engine is the C++ standalone
engine (:mod:`circuits.engines.standalone`: the state, stimuli and weights passed as
``run_args``, the program cached per structure, divergence checked at the end) on brian2cuda's
device, with every coupling a Brian2 ``Synapses`` object (brian2cuda's parallel summed
variables: this package's BLAS templates are C++, not CUDA), and the duration compiled in: a
run of another duration, and learning during a run, are refused by name (item-end learning,
``learn="trial"``, runs after the binary).

Two build preferences are set for the compilation only, for CUDA 13's toolkit: ``-std=c++17``
after brian2cuda's own ``-std=c++11`` for nvcc and the host compiler (Thrust and CUB refuse
C++11), and cuRAND's headers and library from the Python ``nvidia`` cuRAND package (the
toolkit here has none; its ``libcurand.so.10`` is linked through a ``libcurand.so`` link in the
cache). Without a GPU the program is generated and compiled for compute capability
``CUDA_ARCHITECTURE`` (Hopper) and fails when run.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

from ..compilation import cache_directory
from .standalone import StandaloneEngine

__all__ = ["CudaEngine", "CUDA_ARCHITECTURE"]

#: Compute capability compiled for when no GPU is detected (H100/H200).
CUDA_ARCHITECTURE = 9.0


class CudaEngine(StandaloneEngine):
    """brian2cuda's ``cuda_standalone`` device (see the module docstring)."""

    device = "cuda_standalone"
    generated_couplings = False

    def __init__(self, graph, batch, divergence_threshold, directory=None):
        if importlib.util.find_spec("brian2cuda") is None:
            raise ValueError("device='cuda_standalone' needs brian2cuda, which needs Brian2 2.10.1 and Python ≥ "
                             "3.12: pip install 'predictive-circuits[cuda]'")
        super().__init__(graph, batch, divergence_threshold, directory)

    def _new_device(self):
        import brian2cuda  # noqa: F401  (registers the device)
        from brian2.devices.device import all_devices
        return all_devices["cuda_standalone"]

    def _preferences(self) -> dict:
        import shutil

        import brian2cuda  # noqa: F401  (registers its preferences)
        import subprocess
        curand = _curand()
        names = {}
        detected = shutil.which("nvidia-smi") and subprocess.run(["nvidia-smi"], capture_output=True).returncode == 0
        if not detected:
            names.update({"devices.cuda_standalone.cuda_backend.detect_gpus": False,
                          "devices.cuda_standalone.cuda_backend.gpu_id": 0,
                          "devices.cuda_standalone.cuda_backend.compute_capability": CUDA_ARCHITECTURE})
        from brian2 import prefs
        names.update({
            "devices.cuda_standalone.cuda_backend.extra_compile_args_nvcc":
                list(prefs["devices.cuda_standalone.cuda_backend.extra_compile_args_nvcc"]) + ["-std=c++17"],
            "codegen.cpp.extra_compile_args_gcc": list(prefs["codegen.cpp.extra_compile_args_gcc"]) + ["-std=c++17"],
        })
        if curand is not None:
            include, library, linked = curand
            names.update({"codegen.cpp.include_dirs": list(prefs["codegen.cpp.include_dirs"]) + [include],
                          "codegen.cpp.library_dirs": list(prefs["codegen.cpp.library_dirs"]) + [linked],
                          "codegen.cpp.runtime_library_dirs": list(prefs["codegen.cpp.runtime_library_dirs"]) + [library]})
        return names


def _curand():
    """(include dir, library dir, dir holding a ``libcurand.so`` link) of the Python ``nvidia``
    cuRAND package, or None when it is not installed (the toolkit's own is used then)."""
    spec = importlib.util.find_spec("nvidia")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in sorted(Path(p) for location in spec.submodule_search_locations for p in Path(location).glob("*")):
        libraries = sorted(root.glob("lib/libcurand.so*"))
        if (root / "include" / "curand.h").exists() and libraries:
            linked = cache_directory() / "standalone" / "curand"
            linked.mkdir(parents=True, exist_ok=True)
            link = linked / "libcurand.so"
            if not link.exists():
                link.symlink_to(libraries[-1])
            return str(root / "include"), str(root / "lib"), str(linked)
    return None
