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

A source variable may be a Brian2 subexpression of its group (the potential h_k and the
backpropagating δ_k of a dendritic compartment, :mod:`populations.dendrite`): Synapses read it
as Brian2 does, and the dense builder evaluates the same expression with NumPy. Couplings
into compartments carry an ``order`` < 0: within a step they are computed first, in
increasing order (a deep pathway's forward pass, then its backward pass), so that each reads
the compartments before it *in the same step*; the dense builder computes them in that order
and a Synapses coupling's summed variable is scheduled at that order (before the default −1
of every other summed variable, and before the state updaters at 0).

With a batch of B copies (:class:`~circuits.batch.Batch`) every group holds B copies of its
neurons, batch-major: a dense coupling is one matrix–matrix product over the batch,
(B, n_source) @ Mᵀ, and a Synapses coupling connects each copy to its own copy only.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from brian2 import NeuronGroup, Synapses
from brian2.core.variables import Subexpression
from brian2.utils.stringtools import get_identifiers, word_substitute

from populations import Activation, numpy_function

__all__ = ["Coupling", "build_synapses", "dense_couplings", "synapse_indices"]


@dataclass
class Coupling:
    """``target.<target_variable> = matrix @ f(source.<source_variable>)``.

    ``source`` and ``target`` are Brian2 group names. ``matrix`` is (target size, source size)
    — the live parameter array, so learning is seen at the next step — or None for a
    one-to-one copy; ``activation`` is f, or None for the identity. ``order`` < 0 computes the
    coupling earlier within the step (couplings into dendritic compartments; 0: with all
    others, which never read a coupling's result in the same step).
    """

    name: str
    source: str
    source_variable: str
    target: str
    target_variable: str
    matrix: np.ndarray | None
    activation: Activation | None = None
    order: int = 0

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
        return _scheduled(synapses, coupling)
    synapses = Synapses(source, target,
                        f"w : 1 (constant)\n"
                        f"{coupling.target_variable}_post = w * {coupling.source_expression()} : 1 (summed)",
                        name=coupling.name, clock=clock, codeobj_class=codeobj_class)
    post, pre = synapse_indices(coupling.matrix, all_pairs)
    rows, columns = coupling.matrix.shape
    copy = np.arange(copies)[:, None]
    synapses.connect(i=(pre + columns * copy).ravel(), j=(post + rows * copy).ravel())
    synapses.w = np.tile(coupling.matrix[post, pre], copies)
    return _scheduled(synapses, coupling)


def _scheduled(synapses: Synapses, coupling: Coupling) -> Synapses:
    """Schedule the summed variable of a coupling with an ``order`` (see the module docstring)."""
    if coupling.order:
        synapses.summed_updaters[f"{coupling.target_variable}_post"].order = coupling.order
    return synapses


def _source_values(group: NeuronGroup, variable: str, activation: Activation | None):
    """(function, arrays): f(source.variable) = function(*arrays) with NumPy; function None
    means the values are arrays[0] itself. A subexpression is expanded into the group's
    arrays (the live arrays Brian2's code reads)."""
    expression = variable
    while True:   # expand subexpressions until only array variables are left
        names = [n for n in get_identifiers(expression) if isinstance(group.variables.get(n), Subexpression)]
        if not names:
            break
        expression = word_substitute(expression, {n: f"({group.variables[n].expr})" for n in names})
    if expression == variable and (activation is None or activation.is_identity):
        return None, (group.variables[variable].get_value(),)
    if expression == variable:
        return activation.rate_numpy, (group.variables[variable].get_value(),)
    if activation is not None:
        expression = activation.rate(expression)
    arguments = sorted(n for n in get_identifiers(expression) if n in group.variables)
    return numpy_function(expression, arguments), tuple(group.variables[n].get_value() for n in arguments)


def dense_couplings(couplings: list[Coupling], groups: dict[str, NeuronGroup], batched: bool):
    """A function computing all ``couplings`` with NumPy, to be called every step before the
    state updaters.

    The group arrays are looked up once; they are the arrays Brian2's generated code reads,
    so writing them in place is seen by the state updaters of the same step. When
    ``batched``, the arrays are viewed as (B, n) and each product is (B, n_source) @ Mᵀ.
    Couplings are computed in increasing ``order`` (stable: the others in the order given).
    """
    copies, products = [], []
    for coupling in sorted(couplings, key=lambda c: c.order):
        rate, arguments = _source_values(groups[coupling.source], coupling.source_variable, coupling.activation)
        target = groups[coupling.target].variables[coupling.target_variable].get_value()
        if coupling.matrix is None:
            if rate is not None:
                raise ValueError(f"coupling {coupling.name}: a one-to-one link carries no activation")
            copies.append((arguments[0], target))
            continue
        if batched:
            rows = len(target) // coupling.matrix.shape[0]
            arguments = tuple(a.reshape(rows, -1) for a in arguments)
            products.append((arguments, coupling.matrix.T, target.reshape(rows, -1), rate))
        else:
            products.append((arguments, coupling.matrix, target, rate))

    def compute_couplings():
        # in order: compartments first (each reads those before it), then every other coupling,
        # which reads the state at the start of the step; copies are one-to-one links
        for arguments, matrix, target, rate in products:
            values = arguments[0] if rate is None else rate(*arguments)
            if batched:
                np.dot(values, matrix, out=target)   # (B, n_s) @ Mᵀ: the same M, seen transposed
            else:
                np.dot(matrix, values, out=target)
        for source, target in copies:
            target[:] = source

    return compute_couplings
