"""The CUDA standalone engine: the circuit as one brian2cuda program (``device="cuda_standalone"``).

brian2cuda (``pip install 'predictive-circuits[cuda]'``; it needs Brian2 2.10.1, hence
Python ≥ 3.12) generates CUDA code for Brian2 networks. This engine is the C++ standalone
engine (:mod:`circuits.engines.standalone`: the state, stimuli and weights passed as
``run_args``, the program cached per structure, any duration from one binary, continuous
learning of W compiled, divergence checked at the end) on brian2cuda's device, with the
compiled couplings as CUDA (:mod:`circuits.engines.compiled.cuda`): each dense coupling one
cuBLAS product per step (cublasDgemv, or cublasDgemm for a batch; cublasSgemv/Sgemm with
``precision="single"``, whose arrays are float32 on the GPU too), each one-to-one link one
elementwise kernel. brian2cuda's ``Synapses`` add their ``(summed)`` variables with an atomic
addition per synapse, which took 140 µs a step at (1024, 256, 64) and 2.1 ms at
(4096, 1024, 256) on an H200, against 68 and 61 µs as cuBLAS products (``benchmarks/bench_gpu.py``). One difference from C++: brian2cuda's ``StateMonitor`` allocates
the whole run's memory when the run starts, so a program that records runs the duration it was
compiled for (one that does not record runs any).

Build preferences are set for the compilation only, for CUDA 13's toolkit: ``-std=c++17``
after brian2cuda's own ``-std=c++11`` for nvcc and the host compiler (Thrust and CUB refuse
C++11), and cuRAND's and cuBLAS's headers and libraries from the Python ``nvidia`` packages
(the toolkit here has neither; their ``lib*.so.N`` are linked through ``lib*.so`` links in the
cache). Without a GPU the program is generated and compiled for compute capability
``CUDA_ARCHITECTURE`` (Hopper) and fails when run.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path

from ..compilation import cache_directory
from .compiled.objects import CUDA_TEMPLATES, INCLUDE
from .standalone import StandaloneEngine

__all__ = ["CudaEngine", "CUDA_ARCHITECTURE"]

#: Compute capability compiled for when no GPU is detected (H100/H200).
CUDA_ARCHITECTURE = 9.0

#: The NVIDIA libraries a program links: {library: a header it needs}.
_LIBRARIES = {"curand": "curand.h", "cublas": "cublas_v2.h"}


class CudaEngine(StandaloneEngine):
    """brian2cuda's ``cuda_standalone`` device (see the module docstring)."""

    device = "cuda_standalone"
    templates = CUDA_TEMPLATES
    records_any_duration = False

    precisions = ("double", "single")   # cuBLAS's D- or S-gemv/gemm (include/pc_cublas.h)

    def __init__(self, graph, batch, divergence_threshold, directory=None, precision="double"):
        if importlib.util.find_spec("brian2cuda") is None:
            raise ValueError("device='cuda_standalone' needs brian2cuda, which needs Brian2 2.10.1 and Python ≥ "
                             "3.12: pip install 'predictive-circuits[cuda]'")
        super().__init__(graph, batch, divergence_threshold, directory, precision)

    def _device_class(self):
        from .compiled.cuda import CompiledCudaDevice
        return CompiledCudaDevice

    def _generator_versions(self) -> dict:
        import brian2cuda
        return {"brian2cuda": brian2cuda.__version__}   # its brianlib headers are copied, not tracked

    def _preferences(self) -> dict:
        import shutil
        import subprocess

        import brian2cuda  # noqa: F401  (registers its preferences)
        from brian2 import prefs
        names = super()._preferences()
        detected = shutil.which("nvidia-smi") and subprocess.run(["nvidia-smi"], capture_output=True).returncode == 0
        if not detected:
            names.update({"devices.cuda_standalone.cuda_backend.detect_gpus": False,
                          "devices.cuda_standalone.cuda_backend.gpu_id": 0,
                          "devices.cuda_standalone.cuda_backend.compute_capability": CUDA_ARCHITECTURE})
        folders = _nvidia_libraries()
        names.update({
            "devices.cuda_standalone.cuda_backend.extra_compile_args_nvcc":
                list(prefs["devices.cuda_standalone.cuda_backend.extra_compile_args_nvcc"]) + ["-std=c++17"],
            "codegen.cpp.extra_compile_args_gcc": list(prefs["codegen.cpp.extra_compile_args_gcc"]) + ["-std=c++17"],
            "codegen.cpp.libraries": list(prefs["codegen.cpp.libraries"]) + ["cublas"],
            "codegen.cpp.include_dirs": names["codegen.cpp.include_dirs"] + [str(INCLUDE)] + folders["include"],
            "codegen.cpp.library_dirs": list(prefs["codegen.cpp.library_dirs"]) + folders["linked"],
            "codegen.cpp.runtime_library_dirs": list(prefs["codegen.cpp.runtime_library_dirs"]) + folders["lib"],
        })
        return names


def _nvidia_libraries() -> dict:
    """{"include", "lib", "linked": folders} for the libraries of ``_LIBRARIES`` found in the
    Python ``nvidia`` packages (those not found there come from the toolkit): their header
    folders, their library folders (searched at run time) and, for the linker, cache folders of
    ``lib<name>.so`` links (the packages ship only ``lib<name>.so.N``), one per package folder so
    that environments with other packages do not re-point each other's links; a link is made
    under another name and renamed into place, so that processes building at once never see
    half of one."""
    folders = {"include": [], "lib": [], "linked": []}
    spec = importlib.util.find_spec("nvidia")
    if spec is None or not spec.submodule_search_locations:
        return folders
    roots = sorted(Path(p) for location in spec.submodule_search_locations for p in Path(location).glob("*"))
    for library, header in _LIBRARIES.items():
        for root in roots:
            found = sorted(root.glob(f"lib/lib{library}.so.*"))
            if not ((root / "include" / header).exists() and found):
                continue
            linked = cache_directory() / "standalone" / "nvidia" / hashlib.sha256(str(root).encode()).hexdigest()[:12]
            linked.mkdir(parents=True, exist_ok=True)
            link = linked / f"lib{library}.so"
            if not (link.is_symlink() and link.resolve() == found[-1].resolve()):
                temporary = linked / f".lib{library}.so.{os.getpid()}"
                temporary.unlink(missing_ok=True)
                temporary.symlink_to(found[-1])
                os.replace(temporary, link)
            for key, folder in (("include", root / "include"), ("lib", root / "lib"), ("linked", linked)):
                if str(folder) not in folders[key]:
                    folders[key].append(str(folder))
            break
    return folders
