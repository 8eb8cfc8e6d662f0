"""What a compiled circuit program is made of: its couplings and its cache key.

:func:`build_couplings` turns a circuit's couplings into Brian2 objects for a standalone
device — dense ones into :class:`~.objects.DenseProduct` (one BLAS product per step),
one-to-one links into :class:`~.objects.OneToOne`, sparse ones (a ``"synapses"`` backend) into
``Synapses`` connected where M is non-zero — and returns them with the ``run_args`` that pass
every matrix's current values to the program at each run.

:func:`structure_key` names a compiled program by everything that changes its code, so that
a program compiled once is found again by a later process (the cache directory of
:mod:`circuits.compilation`).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import brian2
import numpy as np
from brian2 import NeuronGroup
from brian2.core.variables import ArrayVariable

from ...coupling import build_synapses, synapse_layout
from .blas import find_blas
from . import objects
from .objects import INCLUDE, TEMPLATES, DenseProduct, HebbianUpdate, OneToOne, matrix_group, rate_group

__all__ = ["CompiledCouplings", "build_couplings", "build_learning", "learned_matrices", "learning_args", "read_learned",
           "structure_key"]


@dataclass
class CompiledCouplings:
    """The Brian2 objects of a circuit's couplings in a compiled program, and what each run
    passes them (see :meth:`run_args`)."""

    objects: list = field(default_factory=list)
    matrices: list = field(default_factory=list)   # (parameter group, coupling): M row-major in w
    sparse: list = field(default_factory=list)     # (Synapses, coupling, SynapseLayout, connected where M ≠ 0)
    copies: int = 1
    products: dict = field(default_factory=dict)   # coupling name -> (matrix group, rate (group, variable))
    learning: list = field(default_factory=list)   # (control group, projection, weights group, feedback group)
    item_learning: list = field(default_factory=list)   # the same, of the learning at item ends

    def shares_matrix(self, name: str) -> bool:
        """Whether the dense coupling ``name`` reads another coupling's parameter group (its
        matrix is that one's transpose: tied feedback, fused or not)."""
        if name not in self.products:
            return False
        group = self.products[name][0]
        return next(coupling.name for owner, coupling in self.matrices if owner is group) != name

    def run_args(self) -> dict:
        """{Brian2 variable: values} of every coupling's current matrix; raises ValueError if a
        sparse coupling's matrix has non-zero weights where the program has no synapse."""
        args = {group.w: np.ascontiguousarray(coupling.matrix).ravel() for group, coupling in self.matrices}
        for synapses, coupling, layout, where_nonzero in self.sparse:
            if coupling.matrix is None:
                continue
            if where_nonzero:
                outside = coupling.matrix.copy()
                outside[layout.entries] = 0.0
                if np.any(outside):
                    raise ValueError(f"coupling {coupling.name!r} (backend 'synapses') has non-zero weights where "
                                     f"the compiled program has no synapse (its connectivity was fixed by the "
                                     f"first run); use backend='dense' for weights whose zeros move")
            args[synapses.w] = layout.weights(coupling.matrix)
        return args


def build_couplings(couplings, groups: dict, clock, copies: int, sparse: set[str],
                    paired=frozenset()) -> CompiledCouplings:
    """Brian2 objects computing ``couplings`` in a standalone program; ``sparse`` names the
    couplings that stay ``Synapses`` (connected where their matrix is non-zero now). Couplings
    from or to the ε+/ε− groups named in ``paired`` (rectified errors) are ``Synapses`` at every pair (their layout reads e = ε+ − ε−), and so
    are couplings from or to a subexpression (a deep projection's compartments). A dense
    coupling whose matrix is the transpose of an earlier one's (tied feedback, B = Wᵀ) reads
    that one's parameter group transposed: one copy of W, which learning changes for both.
    Where the tied coupling reads its source as it is (no activation) at the same ``order``
    (tied feedback always does), both products are computed by one object, in one pass over W
    (a batch: panel by panel where the shapes fit the blocked kernel's blocks; otherwise, and
    on CUDA, two products); otherwise the tied coupling is a product of its own."""
    built = CompiledCouplings(copies=copies)
    fused = set()   # tied bottom-up couplings computed with their generative one
    for index, coupling in enumerate(couplings):
        source, target = groups[coupling.source], groups[coupling.target]
        if coupling.name in fused:
            continue
        pairs = (coupling.source in paired, coupling.target in paired)
        arrays = _arrays(coupling, groups)
        if (coupling.matrix is not None and coupling.name in sparse) or any(pairs) or not arrays:
            where_nonzero = coupling.matrix is not None and not any(pairs)
            layout = synapse_layout(coupling, source.N, target.N, copies, *pairs, all_pairs=not where_nonzero)
            synapses = build_synapses(coupling, groups, clock, copies, all_pairs=not where_nonzero, paired=paired,
                                      layout=layout)
            built.sparse.append((synapses, coupling, layout, where_nonzero))
            built.objects.append(synapses)
        elif coupling.matrix is None:
            if coupling.activation is not None and not coupling.activation.is_identity:
                raise ValueError(f"coupling {coupling.name}: a one-to-one link carries no activation")
            built.objects.append(OneToOne(coupling, source, target, clock))
        else:
            shared = [group for group, other in built.matrices if _transposed(coupling.matrix, other.matrix)]
            matrix = shared[0] if shared else matrix_group(coupling, clock)
            buffer = rate_group(coupling, source.N, clock)
            back = None
            if not shared:
                built.matrices.append((matrix, coupling))
                built.objects.append(matrix)
                tied = [other for other in couplings[index + 1:] if _fusable(other, coupling, groups, sparse, paired)]
                if tied:
                    back = (tied[0], groups[tied[0].source], groups[tied[0].target])
                    fused.add(tied[0].name)
                    built.products[tied[0].name] = (matrix, (groups[tied[0].source], tied[0].source_variable))
            built.objects.append(DenseProduct(coupling, source, target, matrix, buffer, copies, clock,
                                              transposed=bool(shared), back=back))
            built.products[coupling.name] = (matrix, (buffer, "rate") if buffer is not None
                                             else (source, coupling.source_variable))
            if buffer is not None:
                built.objects.append(buffer)
    return built


def _fusable(tied, coupling, groups: dict, sparse: set[str], paired) -> bool:
    """Whether ``tied`` (a later coupling) can be computed in ``coupling``'s pass over M: its
    matrix is Mᵀ (the same memory), it is a dense product of plain arrays, and the fused pass
    reads its source as it is (no activation) at ``coupling``'s place in the step (the same
    ``order``)."""
    return (tied.matrix is not None and _transposed(tied.matrix, coupling.matrix) and tied.name not in sparse
            and not {tied.source, tied.target} & set(paired) and _arrays(tied, groups)
            and (tied.activation is None or tied.activation.is_identity) and tied.order == coupling.order)


def _arrays(coupling, groups: dict) -> bool:
    """Whether the coupling reads and writes plain arrays (not subexpressions)."""
    return all(isinstance(groups[group].variables[name], ArrayVariable) for group, name in
               ((coupling.source, coupling.source_variable), (coupling.target, coupling.target_variable)))


def _transposed(matrix: np.ndarray, other: np.ndarray) -> bool:
    """Whether ``matrix`` is a transposed view of ``other`` (the same memory)."""
    return (matrix.shape == other.shape[::-1] and matrix.strides == other.strides[::-1]
            and np.shares_memory(matrix, other))


def build_learning(projections, built: CompiledCouplings, groups: dict, clock, item_steps: int = 0) -> list:
    """:class:`~.objects.HebbianUpdate` objects for the plastic projections among
    ``projections`` (learning of W, and of B with Kolen–Pollack feedback): one learning every step
    (continuous) and, for a sequence of items of ``item_steps`` steps, one at every item's end
    (trial), each with a control group whose ``scale`` and ``keep`` every run sets
    (:func:`learning_args`)."""
    objects = []
    for projection in projections:
        if not projection.plastic:
            continue
        generative, inference = projection.couplings()   # one layer (deep ones are refused)
        weights, rates = built.products[generative.name]
        feedback = built.products[inference.name][0] if projection.feedback == "kolen-pollack" else None
        name = f"learning_{projection.upper.name}_to_{projection.lower.name}"
        errors, upper = groups[generative.target], groups[generative.source]
        control = _control(f"{name}_rates", "α dt/(τ_μ B)", "1 − α λ dt/τ_μ", clock)
        objects += [control, HebbianUpdate(name, errors, rates, weights, feedback, control,
                                           generative.matrix.shape, built.copies, clock)]
        built.learning.append((control, projection, weights, feedback))
        if item_steps:
            control = _control(f"{name}_item_rates", "α/B", "1 − α λ", clock)
            rates, code = (upper, generative.source_variable), ""
            if generative.activation is not None and not generative.activation.is_identity:   # f(μ) at the item's end
                buffer = NeuronGroup(upper.N, "rate : 1", name=f"{name}_item_rate", clock=clock)
                objects.append(buffer)
                rates, code = (buffer, "rate"), f"_rates = {generative.activation.rate(generative.source_variable)}"
            objects += [control, HebbianUpdate(f"{name}_item_end", errors, rates, weights, feedback, control,
                                               generative.matrix.shape, built.copies, clock, item_steps, upper, code)]
            built.item_learning.append((control, projection, weights, feedback))
    return objects


def _control(name: str, scale: str, keep: str, clock) -> NeuronGroup:
    """A learning control group: ``scale`` and ``keep`` (documented as given), set per run."""
    return NeuronGroup(1, f"scale : 1  # {scale}\nkeep : 1  # {keep}", name=name, clock=clock)


def learning_args(built: CompiledCouplings, step: float, trial: bool = False) -> dict:
    """run_args of the learning control groups: ``step`` = dt/τ_μ for a run that learns
    continuously, 0 for one that does not; ``trial``: whether it learns at item ends."""
    args = {}
    for entries, scale in ((built.learning, step), (built.item_learning, 1.0 if trial else 0.0)):
        for control, projection, _, _ in entries:
            rate = scale * projection.learning_rate
            args[control.scale] = rate / built.copies
            args[control.keep] = 1.0 - rate * projection.weight_decay
    return args


def read_learned(built: CompiledCouplings):
    """After a run: the learned W (and B) back into the projections' live arrays."""
    for group, coupling in _learned_groups(built):
        coupling.matrix[:] = group.w[:].reshape(coupling.matrix.shape)


def learned_matrices(built: CompiledCouplings) -> list:
    """The live arrays of the W (and Kolen–Pollack B) that the program learns."""
    return [coupling.matrix for _, coupling in _learned_groups(built)]


def _learned_groups(built: CompiledCouplings) -> list:
    """(parameter group, coupling) of every W (and B) that the program learns."""
    pairs = []
    for _, projection, weights, feedback in built.learning:
        generative, inference = projection.couplings()
        pairs.append((weights, generative))
        if feedback is not None:
            pairs.append((feedback, inference))
    return pairs


def structure_key(groups: dict, couplings, sparse: set[str], built: CompiledCouplings, templates: Path,
                  **settings) -> str:
    """A name for the program of this structure: a hash of every group's size and equations,
    every coupling's shape, activation, order, (sparse) connectivity and whether it shares
    another's matrix (``built``: the compiled couplings), ``settings`` (dt, time constants,
    precision, batch, recording, stimulus kinds, plastic projections, brian2cuda's version…),
    the Brian2 version, the BLAS library, this package's templates for the device (the folder
    ``templates``), its C++ templates (``TEMPLATES``, whose macros the CUDA templates import)
    and its headers (brian2's makefiles track no header dependencies)."""
    digest = hashlib.sha256()

    def add(*parts):
        digest.update(repr(parts).encode())

    add(brian2.__version__, find_blas().path, objects.SMALL_PRODUCT, sorted(settings.items()))
    for folder in dict.fromkeys([templates, TEMPLATES, INCLUDE]):
        for template in sorted(folder.glob("*")):
            add(folder.name, template.name, template.read_text())
    for name in sorted(groups):
        add(name, groups[name].N, str(groups[name].equations))
    for coupling in couplings:
        shape = None if coupling.matrix is None else coupling.matrix.shape
        rate = None if coupling.activation is None else coupling.activation.rate_expression
        add(coupling.name, coupling.source, coupling.source_variable, coupling.target, coupling.target_variable,
            shape, rate, coupling.order, coupling.name in sparse, built.shares_matrix(coupling.name))
        if coupling.name in sparse and coupling.matrix is not None:
            add(np.flatnonzero(coupling.matrix).tobytes())
    return digest.hexdigest()[:20]
