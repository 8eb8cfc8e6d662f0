"""Couplings: every connection of a circuit, and the two ways Brian2 computes them.

A *coupling* is a target variable that equals a matrix times a (possibly nonlinear) function of
a source variable, recomputed every time step::

    target.<target_variable> = M @ f(source.<source_variable>)

A :class:`~circuits.projection.Projection` from an upper column p to a lower column ℓ
contributes two: the top-down generative synapses (``prediction_p`` of ℓ's error neurons
= W f(μ_p)) and the bottom-up inference synapses (``input_ℓ`` of p's estimate neurons =
B ε_ℓ, the f'(μ_p) gain applied inside the estimate neurons' equations). Inside a column, the
one-to-one links μ → error neurons and ε → estimate neurons, and the lateral covariance
connection (Σ − diag Σ) ε, are couplings too.

Couplings name their populations by the Brian2 group names (``"z1_estimate"``), so that every
engine resolves them to its own groups. Two builders compute them; they give identical
trajectories:

:func:`dense_couplings`
    One function, called by the runtime engine's per-step ``network_operation`` before the
    state updaters, does all dense couplings as NumPy matrix products written in place into
    the target groups' variables (the fast path for all-to-all weights).
:func:`build_synapses`
    One Brian2 ``Synapses`` object per coupling with a ``(summed)`` variable, connected where M
    is non-zero (or at every pair): sparse or structured connectivity, and the standalone engine.

Both run before the groups' state updaters, so every step is a plain forward-Euler step of
the whole circuit (all couplings read the state at the start of the step). In a spiking
circuit every coupling is carried by spikes instead (:mod:`circuits.spiking`, on the same
:func:`synapse_layout`).

**Paired populations.** A rectified column's error neurons (and interneurons) are ε+/ε−
pairs (:mod:`populations.error`, layout :meth:`Batch.pairs`), each neuron with a membrane v
and the rate [v]+. A coupling is still written for the signed quantity it carries,
target = M f(e); the builders read a paired source as e = ε+ − ε− = [v+]+ − [v−]+ (synapses
from ε+ with weight +M, from ε− with −M) and write a paired target's value into both neurons
of each pair (whose equations apply the sign).

With a batch of B copies (:class:`~circuits.batch.Batch`) every group holds B copies of its
neurons, batch-major: a dense coupling is one matrix–matrix product over the batch,
(B, n_source) @ Mᵀ, and a Synapses coupling connects each copy to its own copy only.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from brian2 import NeuronGroup, Synapses

from populations import Activation

__all__ = ["Coupling", "MEMBRANE", "SynapseLayout", "build_synapses", "dense_couplings", "synapse_layout"]

#: The state variable of a paired (rectified) neuron: its membrane potential v; it transmits [v]+.
MEMBRANE = "v"


@dataclass
class Coupling:
    """``target.<target_variable> = matrix @ f(source.<source_variable>)``.

    ``source`` and ``target`` are Brian2 group names. ``matrix`` is (target size, source size)
    — the live parameter array, so learning is seen at the next step — or None for a
    one-to-one copy; ``activation`` is f, or None for the identity.
    """

    name: str
    source: str
    source_variable: str
    target: str
    target_variable: str
    matrix: np.ndarray | None
    activation: Activation | None = None

    def source_expression(self) -> str:
        variable = f"{self.source_variable}_pre"
        return self.activation.rate(variable) if self.activation is not None else variable


@dataclass(frozen=True)
class SynapseLayout:
    """The synapses of one coupling over all copies of a batch: synapse s connects neuron
    ``pre[s]`` of the source group to neuron ``post[s]`` of the target group. Its weight is
    ``sign * M[row, column]`` for the matrix entry it carries (``sign`` alone for a one-to-one
    link): −1 from the negative neurons of a paired source, +1 otherwise."""

    pre: np.ndarray
    post: np.ndarray
    sign: np.ndarray
    entries: tuple | None   # (rows, columns) into M, per synapse of one copy; None: one-to-one
    copies: int

    def weights(self, matrix: np.ndarray | None) -> np.ndarray:
        """Every synapse's weight for the coupling's current ``matrix``."""
        per_copy = self.sign if self.entries is None else self.sign * matrix[self.entries]
        return np.tile(per_copy, self.copies)


def synapse_layout(coupling: Coupling, source_neurons: int, target_neurons: int, copies: int = 1,
                   source_paired: bool = False, target_paired: bool = False,
                   all_pairs: bool = False) -> SynapseLayout:
    """Where ``coupling``'s synapses go, between groups of ``source_neurons`` and
    ``target_neurons`` neurons holding ``copies`` copies each: where M is non-zero (or at every
    pair of units with ``all_pairs``, so that any later weights fit the same synapses), from
    both neurons of a paired source unit and onto both neurons of a paired target unit."""
    source_units = source_neurons // copies // (2 if source_paired else 1)
    target_units = target_neurons // copies // (2 if target_paired else 1)
    if coupling.matrix is None:
        post = pre = np.arange(target_units)
        rows = columns = None
    else:
        rows, columns = np.nonzero(np.ones(coupling.matrix.shape, dtype=bool) if all_pairs else coupling.matrix)
        post, pre = rows, columns
    sign = np.ones(len(post))
    if source_paired:   # ε+ with +M, ε− with −M
        pre, post, sign = np.concatenate([pre, pre + source_units]), np.concatenate([post, post]), np.concatenate([sign, -sign])
        rows, columns = (None, None) if rows is None else (np.tile(rows, 2), np.tile(columns, 2))
    if target_paired:   # the same value onto ε+ and ε−
        pre, post, sign = np.concatenate([pre, pre]), np.concatenate([post, post + target_units]), np.tile(sign, 2)
        rows, columns = (None, None) if rows is None else (np.tile(rows, 2), np.tile(columns, 2))
    copy = np.arange(copies)[:, None]
    return SynapseLayout((pre + copy * (source_neurons // copies)).ravel(),
                         (post + copy * (target_neurons // copies)).ravel(), sign,
                         None if rows is None else (rows, columns), copies)


def build_synapses(coupling: Coupling, groups: dict[str, NeuronGroup], clock, copies: int = 1,
                   codeobj_class=None, all_pairs: bool = False, paired=frozenset()) -> Synapses:
    """A Brian2 ``Synapses`` object computing ``coupling`` as a summed variable (within each of
    the ``copies``), with synapses where the matrix is non-zero or at ``all_pairs``;
    ``paired`` names the groups that hold ε+/ε− pairs."""
    source, target = groups[coupling.source], groups[coupling.target]
    pairs = (coupling.source in paired, coupling.target in paired)
    if coupling.matrix is None and not any(pairs):
        synapses = Synapses(source, target,
                            f"{coupling.target_variable}_post = {coupling.source_expression()} : 1 (summed)",
                            name=coupling.name, clock=clock, codeobj_class=codeobj_class)
        synapses.connect(j="i")
        return synapses
    synapses = Synapses(source, target,
                        f"w : 1 (constant)\n"
                        f"{coupling.target_variable}_post = w * {coupling.source_expression()} : 1 (summed)",
                        name=coupling.name, clock=clock, codeobj_class=codeobj_class)
    layout = synapse_layout(coupling, source.N, target.N, copies, *pairs, all_pairs)
    synapses.connect(i=layout.pre, j=layout.post)
    synapses.w = layout.weights(coupling.matrix)
    return synapses


def dense_couplings(couplings: list[Coupling], groups: dict[str, NeuronGroup], batched: bool, copies: int = 1,
                    paired=frozenset()):
    """A function computing all ``couplings`` with NumPy, to be called every step before the
    state updaters.

    The group arrays are looked up once; they are the arrays Brian2's generated code reads,
    so writing them in place is seen by the state updaters of the same step. When
    ``batched``, the arrays are viewed as (B, n) and each product is (B, n_source) @ Mᵀ.
    Couplings from or to the groups named in ``paired`` (ε+/ε− pairs, ``copies`` copies each)
    read e = ε+ − ε− and write both neurons of each pair.
    """
    copies_of, products, pairs = [], [], []
    for coupling in couplings:
        variable = MEMBRANE if coupling.source in paired else coupling.source_variable
        source = groups[coupling.source].variables[variable].get_value()
        target = groups[coupling.target].variables[coupling.target_variable].get_value()
        rate = coupling.activation.rate_numpy if coupling.activation is not None else None
        if coupling.source in paired or coupling.target in paired:
            pairs.append(_paired_link(coupling, source, target, rate, copies, paired))
        elif coupling.matrix is None:
            if rate is not None:
                raise ValueError(f"coupling {coupling.name}: a one-to-one link carries no activation")
            copies_of.append((source, target))
        elif batched:
            source_rows = source.reshape(len(target) // coupling.matrix.shape[0], -1)
            target_rows = target.reshape(source_rows.shape[0], -1)
            products.append((source_rows, coupling.matrix.T, target_rows, rate))
        else:
            products.append((coupling.matrix, source, target, rate))

    def compute_couplings():
        # every product reads the state at the start of the step; copies are one-to-one links
        for left, right, target, rate in products:
            if rate is None:
                np.dot(left, right, out=target)
            elif batched:
                np.dot(rate(left), right, out=target)   # (B, n_s) @ Mᵀ: the same M, seen transposed
            else:
                np.dot(left, rate(right), out=target)
        for source, target in copies_of:
            target[:] = source
        for link in pairs:
            link()

    return compute_couplings


def _paired_link(coupling: Coupling, source: np.ndarray, target: np.ndarray, rate, copies: int, paired):
    """One dense coupling from or to ε+/ε− pairs: (B, n) rows of e = [v+]+ − [v−]+ (``source``
    holds the membranes v of a paired source) or of the source, times Mᵀ, written into the
    target (into both halves of a paired target)."""
    source_paired, target_paired = coupling.source in paired, coupling.target in paired
    if source_paired and rate is not None:
        raise ValueError(f"coupling {coupling.name}: a paired (rectified) source carries no activation")
    halves = source.reshape(copies, 2, -1) if source_paired else None
    rows = np.empty((copies, halves.shape[-1])) if source_paired else source.reshape(copies, -1)
    negative = np.empty_like(rows) if source_paired else None
    written = target.reshape(copies, 2, -1) if target_paired else target.reshape(copies, 1, -1)
    product = np.empty(written.shape[::2]) if coupling.matrix is not None else None

    def link():
        if source_paired:
            np.maximum(halves[:, 0], 0.0, out=rows)
            np.maximum(halves[:, 1], 0.0, out=negative)
            np.subtract(rows, negative, out=rows)
        value = rows if rate is None else rate(rows)
        if product is not None:
            value = np.dot(value, coupling.matrix.T, out=product)
        written[:] = value[:, None, :]

    return link
