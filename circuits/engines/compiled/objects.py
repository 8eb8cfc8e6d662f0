"""Brian2 objects of the compiled engines: couplings as generated array code, not Synapses.

``Synapses`` with a ``(summed)`` variable add up every synapse in a serial loop (~557k
additions a step for the (1024, 256, 64) hierarchy); a dense coupling is a matrix product,
and a one-to-one link is a copy. These objects are Brian2 ``CodeRunner``s whose code objects
come from this package's templates (``templates/``, found through a Templater derived from
C++ standalone's, the way brian2cuda extends Brian2):

:class:`DenseProduct`
    target = M f(source) as one ``cblas_dgemv`` per step, or one ``cblas_dgemm`` over a batch
    ((B, n_source) @ Mᵀ); f is applied by Brian2-generated code into a buffer first. M lives in
    a parameter group (``<coupling>_matrix``, variable ``w``, row-major) set by ``run_args``.
:class:`OneToOne`
    target = source, neuron by neuron: one generated loop (Brian2's ``stateupdate`` template).
:class:`StopAfter`
    ends the run after ``steps`` steps (a ``run_args`` value), so one binary runs any duration.

All couplings run in the ``before_groups`` slot and read the state at the start of the step,
as the runtime engine's network operation does.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from brian2 import NeuronGroup
from brian2.core.variables import Variables
from brian2.devices.cpp_standalone.codeobject import CPPStandaloneCodeObject
from brian2.groups.group import CodeRunner

from .blas import find_blas

__all__ = ["DenseProduct", "OneToOne", "StopAfter", "code_object_class", "TEMPLATES"]

#: The C++ templates of this package (part of every compiled program's cache key).
TEMPLATES = Path(__file__).with_name("templates")
_INCLUDE = Path(__file__).with_name("include")


@lru_cache(maxsize=1)
def code_object_class():
    """C++ standalone's code object with this package's templates added and the BLAS library
    (:func:`~circuits.engines.compiled.blas.find_blas`) linked and pinned to one thread."""
    blas = find_blas()
    macros = [("PC_DGEMM", blas.dgemm), ("PC_DGEMV", blas.dgemv), ("PC_BLAS_INT", blas.integer)]
    if blas.set_threads:
        macros.append(("PC_BLAS_SET_THREADS", blas.set_threads))
    linked = dict(blas.compiler_kwds, define_macros=macros, include_dirs=[str(_INCLUDE)])

    class CompiledCodeObject(CPPStandaloneCodeObject):
        templater = CPPStandaloneCodeObject.templater.derive("circuits.engines.compiled")

        def __init__(self, *args, **kwds):
            super().__init__(*args, **kwds)
            merged = {key: list(values) for key, values in self.compiler_kwds.items()}
            for key, values in linked.items():
                merged[key] = merged.get(key, []) + [v for v in values if v not in merged.get(key, [])]
            self.compiler_kwds = merged

    return CompiledCodeObject


class DenseProduct(CodeRunner):
    """``coupling`` (a :class:`~circuits.coupling.Coupling` with a matrix) as one BLAS product
    per step, from ``source`` to ``target`` (Brian2 groups holding ``copies`` copies each).

    ``matrix`` is the parameter group whose ``w`` holds M row-major (``rows × columns``);
    ``buffer`` a group of the source's size whose ``rate`` holds f(source), or None for f = x.
    """

    def __init__(self, coupling, source, target, matrix: NeuronGroup, buffer: NeuronGroup | None, copies: int,
                 clock):
        rows, columns = coupling.matrix.shape
        code = f"_rate = {coupling.activation.rate(coupling.source_variable)}" if buffer is not None else ""
        needed = ["_source", "_matrix", "_target"] + (["_rate"] if buffer is not None else [])
        CodeRunner.__init__(self, source, "dense_product", code=code, clock=clock, when="before_groups",
                            name=coupling.name, needed_variables=needed, codeobj_class=code_object_class(),
                            template_kwds={"rows": rows, "columns": columns, "copies": copies,
                                           "has_rate": buffer is not None})
        self.variables = Variables(self)
        self.variables.add_reference("_source", source, coupling.source_variable)
        self.variables.add_reference("_target", target, coupling.target_variable)
        self.variables.add_reference("_matrix", matrix, "w")
        if buffer is not None:
            self.variables.add_reference("_rate", buffer, "rate")


class OneToOne(CodeRunner):
    """``coupling`` without a matrix: target neuron k = source neuron k, one generated loop."""

    def __init__(self, coupling, source, target, clock):
        CodeRunner.__init__(self, target, "stateupdate", code=f"{coupling.target_variable} = _link",
                            clock=clock, when="before_groups", name=coupling.name, codeobj_class=code_object_class())
        self.variables = Variables(self)
        self.variables.add_reference("_link", source, coupling.source_variable)


class StopAfter(CodeRunner):
    """Stops the network after ``control.steps`` steps (``control``: a 1-neuron group with a
    ``steps`` variable, set per run), at the end of the step."""

    def __init__(self, control: NeuronGroup, clock):
        CodeRunner.__init__(self, control, "stop_after", clock=clock, when="end", order=10_000,
                            name="stop_after", needed_variables=["steps", "_timestep"],
                            codeobj_class=code_object_class())
        self.variables = Variables(self)
        self.variables.add_reference("_timestep", clock, "timestep")


def matrix_group(coupling, clock) -> NeuronGroup:
    """The parameter group holding M of a dense coupling row-major in ``w`` (set by run_args)."""
    return NeuronGroup(int(np.prod(coupling.matrix.shape)), "w : 1", name=f"{coupling.name}_matrix", clock=clock)


def rate_group(coupling, size: int, clock) -> NeuronGroup | None:
    """The buffer for f(source) of a dense coupling with a non-identity f (None otherwise)."""
    if coupling.activation is None or coupling.activation.is_identity:
        return None
    return NeuronGroup(size, "rate : 1", name=f"{coupling.name}_rate", clock=clock)
