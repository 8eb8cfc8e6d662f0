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

__all__ = ["Coupling", "MEMBRANE", "SynapseLayout", "build_synapses", "dense_couplings", "synapse_layout"]

#: The state variable of a paired (rectified) neuron: its membrane potential v; it transmits [v]+.
MEMBRANE = "v"


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
                   codeobj_class=None, all_pairs: bool = False, paired=frozenset(),
                   layout: SynapseLayout | None = None) -> Synapses:
    """A Brian2 ``Synapses`` object computing ``coupling`` as a summed variable (within each of
    the ``copies``), with synapses where the matrix is non-zero or at ``all_pairs``;
    ``paired`` names the groups that hold ε+/ε− pairs; ``layout``: the :func:`synapse_layout`
    of these arguments, when the caller has it already."""
    source, target = groups[coupling.source], groups[coupling.target]
    pairs = (coupling.source in paired, coupling.target in paired)
    if coupling.matrix is None and not any(pairs):
        synapses = Synapses(source, target,
                            f"{coupling.target_variable}_post = {coupling.source_expression()} : 1 (summed)",
                            name=coupling.name, clock=clock, codeobj_class=codeobj_class)
        synapses.connect(j="i")
        return _scheduled(synapses, coupling)
    synapses = Synapses(source, target,
                        f"w : 1 (constant)\n"
                        f"{coupling.target_variable}_post = w * {coupling.source_expression()} : 1 (summed)",
                        name=coupling.name, clock=clock, codeobj_class=codeobj_class)
    layout = layout if layout is not None else synapse_layout(coupling, source.N, target.N, copies, *pairs, all_pairs)
    synapses.connect(i=layout.pre, j=layout.post)
    synapses.w = layout.weights(coupling.matrix)
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


def dense_couplings(couplings: list[Coupling], groups: dict[str, NeuronGroup], batched: bool, copies: int = 1,
                    paired=frozenset()):
    """A function computing all ``couplings`` with NumPy, to be called every step before the
    state updaters.

    The group arrays are looked up once; they are the arrays Brian2's generated code reads,
    so writing them in place is seen by the state updaters of the same step. When
    ``batched``, the arrays are viewed as (B, n) and each product is (B, n_source) @ Mᵀ.
    Couplings from or to the groups named in ``paired`` (ε+/ε− pairs, ``copies`` copies each)
    read e = ε+ − ε− and write both neurons of each pair. Couplings are computed in increasing
    ``order`` (within one order: products, then one-to-one copies, then paired links).
    """
    steps = []   # (order, kind, function)
    for coupling in couplings:
        target = groups[coupling.target].variables[coupling.target_variable].get_value()
        if coupling.source in paired or coupling.target in paired:
            steps.append((coupling.order, 2, _paired_link(coupling, groups[coupling.source], target, copies, paired)))
            continue
        rate, arguments = _source_values(groups[coupling.source], coupling.source_variable, coupling.activation)
        if coupling.matrix is None:
            if rate is not None:
                raise ValueError(f"coupling {coupling.name}: a one-to-one link carries no activation")
            steps.append((coupling.order, 1, _copy(arguments[0], target)))
        elif batched:
            rows = len(target) // coupling.matrix.shape[0]
            arguments = tuple(a.reshape(rows, -1) for a in arguments)
            steps.append((coupling.order, 0, _product(arguments, coupling.matrix.T, target.reshape(rows, -1),
                                                      rate, batched)))
        else:
            steps.append((coupling.order, 0, _product(arguments, coupling.matrix, target, rate, batched)))
    functions = [function for _, _, function in sorted(steps, key=lambda step: step[:2])]

    def compute_couplings():
        # in order: compartments first (each reads those before it), then every other coupling,
        # which reads the state at the start of the step
        for function in functions:
            function()

    return compute_couplings


def _product(arguments: tuple, matrix: np.ndarray, target: np.ndarray, rate, batched: bool):
    """target = M f(source): (B, n_s) @ Mᵀ when ``batched`` (``matrix`` is then Mᵀ)."""
    def product():
        values = arguments[0] if rate is None else rate(*arguments)
        if batched:
            np.dot(values, matrix, out=target)   # (B, n_s) @ Mᵀ: the same M, seen transposed
        else:
            np.dot(matrix, values, out=target)
    return product


def _copy(source: np.ndarray, target: np.ndarray):
    """A one-to-one link: target = source."""
    def copy():
        target[:] = source
    return copy


def _paired_link(coupling: Coupling, group: NeuronGroup, target: np.ndarray, copies: int, paired):
    """One dense coupling from or to ε+/ε− pairs: (B, n) rows of e = [v+]+ − [v−]+ (a paired
    source, read from its membranes v) or of f(source) (any variable or subexpression of
    ``group``), times Mᵀ, written into the target (into both halves of a paired target)."""
    source_paired, target_paired = coupling.source in paired, coupling.target in paired
    if source_paired and coupling.activation is not None:
        raise ValueError(f"coupling {coupling.name}: a paired (rectified) source carries no activation")
    if source_paired:
        halves = group.variables[MEMBRANE].get_value().reshape(copies, 2, -1)
        rows, negative = np.empty((copies, halves.shape[-1])), np.empty((copies, halves.shape[-1]))
    else:
        rate, arguments = _source_values(group, coupling.source_variable, coupling.activation)
    written = target.reshape(copies, 2, -1) if target_paired else target.reshape(copies, 1, -1)
    product = np.empty(written.shape[::2]) if coupling.matrix is not None else None

    def link():
        if source_paired:
            np.maximum(halves[:, 0], 0.0, out=rows)
            np.maximum(halves[:, 1], 0.0, out=negative)
            value = np.subtract(rows, negative, out=rows)
        else:
            value = (arguments[0] if rate is None else rate(*arguments)).reshape(copies, -1)
        if product is not None:
            value = np.dot(value, coupling.matrix.T, out=product)
        written[:] = value[:, None, :]

    return link
