"""The BLAS library the compiled engines link: found on this machine, never downloaded.

Generated C++ calls the CBLAS interface (``cblas_dgemv``, ``cblas_dgemm``, and their single-precision
``cblas_sgemv``, ``cblas_sgemm`` for ``precision="single"`` programs). The search order is

1. the OpenBLAS that NumPy's wheel ships (``numpy.libs/libscipy_openblas64_*.so``: 64-bit
   integers, symbols ``scipy_cblas_dgemm64_`` …) — the library NumPy itself calls, so the
   runtime engine's products and the compiled ones run the same kernels;
2. the OpenBLAS of SciPy's wheel (``scipy.libs``, 32-bit integers, ``scipy_cblas_dgemm``);
3. a system CBLAS (``libopenblas``, ``libcblas``, ``libblas`` with ``cblas_dgemm``).

Each candidate is opened with ctypes and its symbols are checked before it is used. The
compiled program pins the library to one thread at start-up (the benchmarks' and the issue's
convention: one thread per process; small products gain nothing from threads).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import glob
import importlib.util
import os
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["Blas", "find_blas"]


@dataclass(frozen=True)
class Blas:
    """A CBLAS library: where it is and what its symbols are called.

    path : the shared library file
    dgemm, dgemv : the CBLAS function names (double precision)
    sgemm, sgemv : their single-precision counterparts (the same names with ``s``)
    set_threads : the function that sets the number of threads (or None)
    integer : the C type of BLAS integers (``int64_t`` for ILP64 builds, ``int``)
    """

    path: str
    dgemm: str
    dgemv: str
    sgemm: str
    sgemv: str
    set_threads: str | None
    integer: str

    @property
    def macros(self) -> list[tuple[str, str]]:
        """The preprocessor macros that ``include/pc_blas.h`` reads: the symbol names and the
        integer type."""
        macros = [("PC_DGEMM", self.dgemm), ("PC_DGEMV", self.dgemv), ("PC_SGEMM", self.sgemm),
                  ("PC_SGEMV", self.sgemv), ("PC_BLAS_INT", self.integer)]
        if self.set_threads:
            macros.append(("PC_BLAS_SET_THREADS", self.set_threads))
        return macros

    @property
    def compiler_kwds(self) -> dict:
        """Brian2 ``compiler_kwds`` that link the library (by file name, with an rpath)."""
        directory, name = os.path.split(self.path)
        return {"libraries": [f":{name}"], "library_dirs": [directory], "runtime_library_dirs": [directory]}


#: (dgemm, dgemv, set_threads, integer type) of the known builds, in order of preference.
_SYMBOLS = [
    ("scipy_cblas_dgemm64_", "scipy_cblas_dgemv64_", "scipy_openblas_set_num_threads64_", "int64_t"),
    ("cblas_dgemm64_", "cblas_dgemv64_", "openblas_set_num_threads64_", "int64_t"),
    ("scipy_cblas_dgemm", "scipy_cblas_dgemv", "scipy_openblas_set_num_threads", "int"),
    ("cblas_dgemm", "cblas_dgemv", "openblas_set_num_threads", "int"),
]


def _wheel_libraries(package: str) -> list[str]:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return []
    root = os.path.dirname(list(spec.submodule_search_locations)[0])
    return sorted(glob.glob(os.path.join(root, f"{package}.libs", "*openblas*.so*")))


def _system_libraries() -> list[str]:
    found = [ctypes.util.find_library(name) for name in ("openblas", "cblas", "blas")]
    paths = []
    for name in filter(None, found):
        for directory in ("/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib"):
            if os.path.exists(os.path.join(directory, name)):
                paths.append(os.path.join(directory, name))
                break
    return paths


def _identify(path: str) -> Blas | None:
    try:
        library = ctypes.CDLL(path)
    except OSError:
        return None
    for dgemm, dgemv, threads, integer in _SYMBOLS:
        sgemm, sgemv = dgemm.replace("dgemm", "sgemm"), dgemv.replace("dgemv", "sgemv")
        if all(hasattr(library, name) for name in (dgemm, dgemv, sgemm, sgemv)):
            return Blas(os.path.realpath(path), dgemm, dgemv, sgemm, sgemv,
                        threads if hasattr(library, threads) else None, integer)
    return None


@lru_cache(maxsize=1)
def find_blas() -> Blas:
    """The first usable CBLAS library (see the module docstring); raises RuntimeError naming
    what was searched when there is none."""
    candidates = _wheel_libraries("numpy") + _wheel_libraries("scipy") + _system_libraries()
    for path in candidates:
        blas = _identify(path)
        if blas is not None:
            return blas
    raise RuntimeError(f"device='cpp_standalone' computes dense couplings with a CBLAS library and found none "
                       f"(searched numpy.libs, scipy.libs and the system's libopenblas/libcblas/libblas: "
                       f"{candidates or 'nothing found'}). Install NumPy from its wheel (it ships OpenBLAS) or "
                       f"the system package libopenblas-dev")
