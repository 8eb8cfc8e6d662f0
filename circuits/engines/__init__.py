"""Engines: how a circuit graph runs (see :mod:`circuits.engines.base` for the protocol).

``Circuit(device=...)`` chooses one, once:

- ``"runtime"`` (default): :class:`~circuits.engines.runtime.RuntimeEngine`, Brian2's runtime
  device, every feature;
- ``"cpp_standalone"``: :class:`~circuits.engines.standalone.StandaloneEngine`, one compiled
  C++ program rerun with new inputs (couplings as BLAS products: :mod:`.compiled`), in double
  precision or, with ``precision="single"``, in float32;
- ``"cuda_standalone"``: :class:`~circuits.engines.cuda.CudaEngine`, the same on brian2cuda's
  GPU device (the ``cuda`` extra; couplings and learning as cuBLAS calls).
"""
from __future__ import annotations

from ..validation import choice
from .base import Engine, RunPlan, SimulationDiverged
from .cuda import CudaEngine
from .runtime import RuntimeEngine
from .standalone import PRECISIONS, StandaloneEngine

__all__ = ["DEVICES", "Engine", "RunPlan", "SimulationDiverged", "make_engine"]

#: ``Circuit(device=...)`` names and their engines.
DEVICES = {engine.device: engine for engine in (RuntimeEngine, StandaloneEngine, CudaEngine)}


def make_engine(device: str, graph, batch, divergence_threshold: float, check_interval, target=None,
                standalone_directory=None, precision="double") -> Engine:
    """The engine for ``device`` (options that the engine does not use must be left at their
    defaults)."""
    choice(device, tuple(DEVICES), "device")
    choice(precision, tuple(PRECISIONS), "precision")
    if precision not in DEVICES[device].precisions:
        able = [name for name, engine in DEVICES.items() if precision in engine.precisions]
        raise ValueError(f"precision={precision!r}: device={device!r} computes in double precision only; "
                         f"use device={' or '.join(map(repr, able))} for precision={precision!r}")
    if device == "runtime":
        if standalone_directory is not None:
            raise ValueError("standalone_directory is only used with the standalone devices")
        return RuntimeEngine(graph, batch, divergence_threshold, check_interval, target)
    if target is not None:
        raise ValueError(f"target={target!r} chooses the runtime device's code objects; device={device!r} "
                         f"generates its own code (leave target at None)")
    return DEVICES[device](graph, batch, divergence_threshold, standalone_directory, precision)
