"""Projections between columns and the two ways of computing them.

Every connection in a circuit is a *coupling*: a target variable that equals a matrix times
a (possibly nonlinear) function of a source variable, recomputed every time step::

    target.<target_variable> = M @ f(source.<source_variable>)

A :class:`Projection` from an upper column p to a lower column ℓ contributes two couplings:

- top-down generative synapses:  ``prediction_p`` of ℓ's error neurons = W f(μ_p);
- bottom-up inference synapses:  ``input_ℓ`` of p's estimate neurons  = Wᵀ ε_ℓ
  (the f'(μ_p) gain is applied inside the estimate neurons' equations).

Inside a column, the one-to-one links μ → error neurons and ε → estimate neurons, and the
lateral covariance connection (Σ − diag Σ) ε, are couplings too.

Two backends compute couplings; they give identical trajectories:

``"dense"`` (default)
    One Brian2 ``network_operation`` per circuit, scheduled ``before_groups``, does all dense
    couplings as NumPy matrix products written in place into the target groups' parameters.
    The fast path for all-to-all weights (Brian2 ``(summed)`` variables cost 2.6–10.6× a NumPy
    loop of the same equations in ``benchmarks/bench_inference.py``).
``"synapses"``
    One Brian2 ``Synapses`` object per coupling with a ``(summed)`` variable, connected only
    where M is non-zero: the path for sparse or structured connectivity, and for users who
    want to work with the synapses directly.

Both run before the groups' state updaters, so every step is a plain forward-Euler step of
the whole circuit (all couplings read the state at the start of the step).

With ``Circuit(batch_size=B)`` every group holds B copies of its neurons, batch-major (neuron
b·n + i is neuron i of copy b): a dense coupling is one matrix–matrix product over the batch,
(B, n_source) @ Mᵀ, and a Synapses coupling connects each copy to its own copy only.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from brian2 import NetworkOperation, NeuronGroup, Synapses

from populations import Activation

BACKENDS = ("dense", "synapses")

__all__ = ["BACKENDS", "FEEDBACK", "Coupling", "Projection", "build_dense_couplings", "build_synapses",
           "synapse_indices"]


@dataclass
class Coupling:
    """``target.<target_variable> = matrix @ f(source.<source_variable>)``.

    ``matrix`` is (target size, source size), or None for a one-to-one copy;
    ``activation`` is f, or None for the identity.
    """

    name: str
    source: NeuronGroup
    source_variable: str
    target: NeuronGroup
    target_variable: str
    matrix: np.ndarray | None
    activation: Activation | None = None

    def source_expression(self) -> str:
        variable = f"{self.source_variable}_pre"
        return self.activation.rate(variable) if self.activation is not None else variable


FEEDBACK = ("tied", "random", "kolen-pollack")


class Projection:
    """A connection from an upper column to a lower column with weights W (lower × upper),
    activation f and bias b: the lower column is predicted as W f(μ_upper) + b.

    The bottom-up inference synapses carry B ε_lower with B = Wᵀ (``feedback="tied"``), a fixed
    random B (``"random"``: feedback alignment, Lillicrap et al. 2016) or a B that learns with
    the transposed Hebbian rule and the same decay (``"kolen-pollack"``, Akrout et al. 2019),
    which drives B towards Wᵀ.

    Plasticity (Bogacz 2017 eq. 39; Rao & Ballard 1999), with learning rate α and decay λ::

        ΔW = α (ε_lower f(μ_upper)ᵀ − λ W),   Δb = α ε_lower   (if learn_bias)

    applied once per item end in :meth:`Circuit.run_sequence` (Bogacz's scheme), or in
    continuous time as τ_μ dW/dt = α (ε f(μ)ᵀ − λ W).

    Attributes
    ----------
    upper, lower : Column
    activation : populations.Activation
    bias : ndarray, shape (lower.size,)  (live: changes when biases learn)
    backend : "dense" or "synapses"
    plastic : bool
    learning_rate, weight_decay : float
        α and λ.
    learn_bias : bool
    feedback : "tied", "random" or "kolen-pollack"
    synapses : list of brian2.Synapses (synapses backend, after the circuit is built)
    """

    def __init__(self, upper, lower, weights: np.ndarray, activation: Activation, bias: np.ndarray,
                 backend: str, plastic=False, learning_rate=0.0, weight_decay=0.0, learn_bias=False,
                 feedback="tied", feedback_weights: np.ndarray | None = None):
        self.upper = upper
        self.lower = lower
        self._weights = weights
        # on the neurons: W, or I_n ⊗ W between columns in generalized coordinates of order n
        self._synaptic = weights if lower.order == 1 else np.kron(np.eye(lower.order), weights)
        self.activation = activation
        self.bias = bias
        self.backend = backend
        self.plastic = plastic
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.learn_bias = learn_bias
        self.feedback = feedback
        # B, (upper × lower): a view of W when tied, so learning W updates it too
        self._feedback = self._synaptic.T if feedback == "tied" else feedback_weights
        self.synapses: list[Synapses] = []

    @property
    def weights(self) -> np.ndarray:
        """W, shape (lower.size, upper.size) (a copy)."""
        return self._weights.copy()

    @property
    def synaptic_weights(self) -> np.ndarray:
        """The generative weights on the neurons, shape (lower.size, upper.size): W, or
        I_n ⊗ W in generalized coordinates of order n (each order predicted alike)."""
        return self._synaptic.copy()

    @property
    def feedback_weights(self) -> np.ndarray:
        """B of the bottom-up inference synapses, shape (upper.size, lower.size) (a copy)."""
        return self._feedback.copy()

    def couplings(self) -> list[Coupling]:
        """The top-down and bottom-up couplings of this projection (the columns' groups must
        have been created by the circuit's build)."""
        upper, lower = self.upper, self.lower
        return [
            Coupling(f"generative_{upper.name}_to_{lower.name}", upper._estimate, "mu",
                     lower._error, f"prediction_{upper.name}", self._synaptic, self.activation),
            Coupling(f"inference_{lower.name}_to_{upper.name}", lower._error, "eps",
                     upper._estimate, f"input_{lower.name}", self._feedback),
        ]

    def __repr__(self):
        return (f"Projection({self.upper.name} -> {self.lower.name}, W {self._weights.shape}, "
                f"activation={self.activation.name}, backend={self.backend!r})")


def synapse_indices(matrix: np.ndarray, all_pairs: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(post, pre) of the synapses of a coupling with ``matrix``: where it is non-zero, or every
    pair (so that any later weights fit the same synapses)."""
    return np.nonzero(np.ones(matrix.shape, dtype=bool) if all_pairs else matrix)


def build_synapses(coupling: Coupling, clock, codeobj_class=None, batch: int = 1,
                   all_pairs: bool = False) -> Synapses:
    """A Brian2 ``Synapses`` object computing ``coupling`` as a summed variable (within each of
    the ``batch`` copies), with synapses where the matrix is non-zero or at ``all_pairs``."""
    if coupling.matrix is None:
        synapses = Synapses(coupling.source, coupling.target,
                            f"{coupling.target_variable}_post = {coupling.source_expression()} : 1 (summed)",
                            name=coupling.name, clock=clock, codeobj_class=codeobj_class)
        synapses.connect(j="i")
        return synapses
    synapses = Synapses(coupling.source, coupling.target,
                        f"w : 1 (constant)\n"
                        f"{coupling.target_variable}_post = w * {coupling.source_expression()} : 1 (summed)",
                        name=coupling.name, clock=clock, codeobj_class=codeobj_class)
    post, pre = synapse_indices(coupling.matrix, all_pairs)
    rows, columns = coupling.matrix.shape
    copies = np.arange(batch)[:, None]
    synapses.connect(i=(pre + columns * copies).ravel(), j=(post + rows * copies).ravel())
    synapses.w = np.tile(coupling.matrix[post, pre], batch)
    return synapses


def build_dense_couplings(couplings: list[Coupling], clock, name: str = "dense_couplings",
                          batch: int | None = None):
    """One ``network_operation`` (``before_groups``) computing all ``couplings`` with NumPy.

    The group arrays are looked up once; they are the arrays Brian2's generated code reads,
    so writing them in place is seen by the state updaters of the same step. With a ``batch``
    (B copies), the arrays are viewed as (B, n) and each product is (B, n_s) @ Mᵀ.
    """
    steps = []
    for coupling in couplings:
        source = coupling.source.variables[coupling.source_variable].get_value()
        target = coupling.target.variables[coupling.target_variable].get_value()
        matrix = coupling.matrix
        if batch is not None and matrix is not None:
            source, target, matrix = source.reshape(batch, -1), target.reshape(batch, -1), matrix.T
        rate = coupling.activation.rate_numpy if coupling.activation is not None else None
        steps.append((source, target, matrix, rate, batch is not None))

    def compute_couplings():
        for source, target, matrix, rate, batched in steps:
            values = source if rate is None else rate(source)
            if matrix is None:
                target[:] = values
            elif batched:
                np.dot(values, matrix, out=target)   # (B, n_s) @ Mᵀ: the same M, seen transposed
            else:
                np.dot(matrix, values, out=target)

    return NetworkOperation(compute_couplings, when="before_groups", clock=clock, name=name)
