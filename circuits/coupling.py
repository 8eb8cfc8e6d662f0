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
the whole circuit (all couplings read the state at the start of the step).

With a batch of B copies (:class:`~circuits.batch.Batch`) every group holds B copies of its
neurons, batch-major: a dense coupling is one matrix–matrix product over the batch,
(B, n_source) @ Mᵀ, and a Synapses coupling connects each copy to its own copy only.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from brian2 import NeuronGroup, Synapses

from populations import Activation

__all__ = ["Coupling", "build_synapses", "dense_couplings", "synapse_indices"]


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


def synapse_indices(matrix: np.ndarray, all_pairs: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(post, pre) of the synapses of a coupling with ``matrix``: where it is non-zero, or every
    pair (so that any later weights fit the same synapses)."""
    return np.nonzero(np.ones(matrix.shape, dtype=bool) if all_pairs else matrix)


def build_synapses(coupling: Coupling, groups: dict[str, NeuronGroup], clock, copies: int = 1,
                   codeobj_class=None, all_pairs: bool = False) -> Synapses:
    """A Brian2 ``Synapses`` object computing ``coupling`` as a summed variable (within each of
    the ``copies``), with synapses where the matrix is non-zero or at ``all_pairs``."""
    source, target = groups[coupling.source], groups[coupling.target]
    if coupling.matrix is None:
        synapses = Synapses(source, target,
                            f"{coupling.target_variable}_post = {coupling.source_expression()} : 1 (summed)",
                            name=coupling.name, clock=clock, codeobj_class=codeobj_class)
        synapses.connect(j="i")
        return synapses
    synapses = Synapses(source, target,
                        f"w : 1 (constant)\n"
                        f"{coupling.target_variable}_post = w * {coupling.source_expression()} : 1 (summed)",
                        name=coupling.name, clock=clock, codeobj_class=codeobj_class)
    post, pre = synapse_indices(coupling.matrix, all_pairs)
    rows, columns = coupling.matrix.shape
    copy = np.arange(copies)[:, None]
    synapses.connect(i=(pre + columns * copy).ravel(), j=(post + rows * copy).ravel())
    synapses.w = np.tile(coupling.matrix[post, pre], copies)
    return synapses


def dense_couplings(couplings: list[Coupling], groups: dict[str, NeuronGroup], batched: bool):
    """A function computing all ``couplings`` with NumPy, to be called every step before the
    state updaters.

    The group arrays are looked up once; they are the arrays Brian2's generated code reads,
    so writing them in place is seen by the state updaters of the same step. When
    ``batched``, the arrays are viewed as (B, n) and each product is (B, n_source) @ Mᵀ.
    """
    copies, products = [], []
    for coupling in couplings:
        source = groups[coupling.source].variables[coupling.source_variable].get_value()
        target = groups[coupling.target].variables[coupling.target_variable].get_value()
        rate = coupling.activation.rate_numpy if coupling.activation is not None else None
        if coupling.matrix is None:
            if rate is not None:
                raise ValueError(f"coupling {coupling.name}: a one-to-one link carries no activation")
            copies.append((source, target))
            continue
        if batched:
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
        for source, target in copies:
            target[:] = source

    return compute_couplings
