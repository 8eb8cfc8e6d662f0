"""Projections between columns: top-down generative and bottom-up inference synapses.

A :class:`Projection` from an upper column p to a lower column ℓ contributes two couplings
(see :mod:`circuits.coupling`):

- top-down generative synapses:  ``prediction_p`` of ℓ's error neurons = W f(μ_p);
- bottom-up inference synapses:  ``input_ℓ`` of p's estimate neurons  = B ε_ℓ, B = Wᵀ
  (the f'(μ_p) gain is applied inside the estimate neurons' equations).

It owns W, b and B and their learning rules (:meth:`Projection.learn`).
"""
from __future__ import annotations

import numpy as np

from populations import Activation

from .coupling import Coupling

__all__ = ["BACKENDS", "FEEDBACK", "Projection"]

#: How couplings are computed (see :mod:`circuits.coupling`).
BACKENDS = ("dense", "synapses")

#: The bottom-up weights B of a projection.
FEEDBACK = ("tied", "random", "kolen-pollack")


class Projection:
    """A connection from an upper column to a lower column with weights W (lower × upper),
    activation f and bias b: the lower column is predicted as W f(μ_upper) + b.

    The bottom-up inference synapses carry B ε_lower with B = Wᵀ (``feedback="tied"``), a fixed
    random B (``"random"``: feedback alignment, Lillicrap et al. 2016) or a B that learns with
    the transposed Hebbian rule and the same decay (``"kolen-pollack"``, Akrout et al. 2019),
    which drives B towards Wᵀ.

    Plasticity (Bogacz 2017 eq. 39; Rao & Ballard 1999), with learning rate α and decay λ::

        ΔW = α (ε_lower f(μ_upper)ᵀ − λ W)      (plastic)
        Δb = α ε_lower                          (learn_bias)
        ΔB = α (f(μ_upper) ε_lowerᵀ − λ B)      (feedback="kolen-pollack", with plastic)

    applied once per item end in :meth:`Circuit.run_sequence` (Bogacz's scheme), or in
    continuous time as τ_μ dW/dt = α (ε f(μ)ᵀ − λ W).

    Attributes
    ----------
    upper, lower : Column
    activation : populations.Activation
    bias : ndarray, shape (lower.state_size,)  (live: changes when biases learn)
    backend : "dense" or "synapses"
    plastic : bool
    learning_rate, weight_decay : float
        α and λ.
    learn_bias : bool
    feedback : "tied", "random" or "kolen-pollack"
    synapses : list of brian2.Synapses (synapses backend of the runtime engine, once built)
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
        self.synapses = []

    @property
    def weights(self) -> np.ndarray:
        """W, shape (lower.state_size, upper.state_size) (a copy)."""
        return self._weights.copy()

    @property
    def synaptic_weights(self) -> np.ndarray:
        """The generative weights on the neurons, shape (lower.size, upper.size): W, or
        I_n ⊗ W in generalized coordinates of order n (each order predicted alike) (a copy)."""
        return self._synaptic.copy()

    @property
    def feedback_weights(self) -> np.ndarray:
        """B of the bottom-up inference synapses, shape (upper.size, lower.size) (a copy)."""
        return self._feedback.copy()

    @property
    def learns(self) -> bool:
        """Whether W (and with it a Kolen–Pollack B) or b is learned."""
        return self.plastic or self.learn_bias

    def set_weights(self, weights: np.ndarray):
        """Replace W in place (the couplings read the same arrays), shape (lower.state_size,
        upper.state_size), already checked."""
        self._weights[:] = weights
        if self._synaptic is not self._weights:   # generalized coordinates: I ⊗ W
            self._synaptic[:] = np.kron(np.eye(self.lower.order), weights)

    def couplings(self) -> list[Coupling]:
        """The top-down and bottom-up couplings of this projection."""
        upper, lower = self.upper, self.lower
        return [
            Coupling(f"generative_{upper.name}_to_{lower.name}", upper.group_name("estimate"), "mu",
                     lower.group_name("error"), f"prediction_{upper.name}", self._synaptic, self.activation),
            Coupling(f"inference_{lower.name}_to_{upper.name}", lower.group_name("error"), "eps",
                     upper.group_name("estimate"), f"input_{lower.name}", self._feedback),
        ]

    def learn(self, scale: float):
        """One update of W, b and B from the current state of the two columns (``scale``: 1 at
        an item's end, dt/τ_μ for a step of the continuous rule)."""
        lower, batch = self.lower.state, self.lower.state.batch
        step = scale * self.learning_rate
        if self.plastic:
            hebbian = batch.outer(lower.error, self.activation.rate_numpy(self.upper.state.estimate))
            self._weights += step * (hebbian - self.weight_decay * self._weights)
            if self.feedback == "kolen-pollack":
                self._feedback += step * (hebbian.T - self.weight_decay * self._feedback)
        if self.learn_bias:
            change = step * batch.mean(lower.error)
            self.bias += change
            # m + Σ b recomputed (not incremented): the same rounding as a circuit loaded with this b
            lower.offset[:] = lower.tile(self.lower.offset)

    def __repr__(self):
        return (f"Projection({self.upper.name} -> {self.lower.name}, W {self._weights.shape}, "
                f"activation={self.activation.name}, backend={self.backend!r})")
