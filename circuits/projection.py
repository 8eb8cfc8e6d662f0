"""Projections between columns: top-down generative and bottom-up inference synapses.

A :class:`Projection` from an upper column p to a lower column ℓ contributes two couplings
(see :mod:`circuits.coupling`):

- top-down generative synapses:  ``prediction_p`` of ℓ's error neurons = W f(μ_p);
- bottom-up inference synapses:  ``input_ℓ`` of p's estimate neurons  = B ε_ℓ, B = Wᵀ
  (the f'(μ_p) gain is applied inside the estimate neurons' equations).

A **deep projection** (``weights=[V_1, …, V_K]``) predicts through a small network whose
hidden layers are dendritic compartments (:mod:`circuits.dendrite`): its generative path runs
μ_p → h_1 → … → h_K−1 → ℓ's error neurons, and its bottom-up path carries ε_ℓ back through
the same compartments, arriving as V_1ᵀ δ_1 (so that f'_1(μ_p) ⊙ V_1ᵀ δ_1 = Jᵀ ε_ℓ).

It owns its layers' weights and biases, B, and their learning rules (:meth:`Projection.learn`).
"""
from __future__ import annotations

import numpy as np

from .coupling import Coupling
from .dendrite import Dendrite, layer_rates
from .validation import as_matrix

__all__ = ["BACKENDS", "FEEDBACK", "Projection"]

#: How couplings are computed (see :mod:`circuits.coupling`).
BACKENDS = ("dense", "synapses")

#: The bottom-up weights B of a projection.
FEEDBACK = ("tied", "random", "kolen-pollack")


class Projection:
    """A connection from an upper column to a lower column with weights W (lower × upper),
    activation f and bias b: the lower column is predicted as W f(μ_upper) + b — or, for a
    deep projection, as h_K with h_1 = V_1 f_1(μ_upper) + c_1, h_k = V_k f_k(h_k−1) + c_k.

    The bottom-up inference synapses carry B ε_lower with B = Wᵀ (``feedback="tied"``), a fixed
    random B (``"random"``: feedback alignment, Lillicrap et al. 2016) or a B that learns with
    the transposed Hebbian rule and the same decay (``"kolen-pollack"``, Akrout et al. 2019),
    which drives B towards Wᵀ. A deep projection's bottom-up path is tied: its compartments
    carry δ_k = f'_k+1(h_k) ⊙ V_k+1ᵀ δ_k+1 back to V_1ᵀ δ_1.

    Plasticity (Bogacz 2017 eq. 39; Rao & Ballard 1999), with learning rate α and decay λ::

        ΔW = α (ε_lower f(μ_upper)ᵀ − λ W)      (plastic)
        Δb = α ε_lower                          (learn_bias)
        ΔB = α (f(μ_upper) ε_lowerᵀ − λ B)      (feedback="kolen-pollack", with plastic)

    and for a deep projection, every layer: ΔV_k = α (δ_k f_k(h_k−1)ᵀ − λ V_k), Δc_k = α δ_k,
    with δ_k formed by the ``credit`` rule (:mod:`circuits.dendrite`); for ``"backprop"`` this
    is −α ∂F/∂V_k. Applied once per item end in :meth:`Circuit.run_sequence` (Bogacz's
    scheme), or in continuous time as τ_μ dW/dt = α (ε f(μ)ᵀ − λ W).

    Attributes
    ----------
    upper, lower : Column
    dendrite : Dendrite
        The layers (one for a plain projection), their maths and compartments.
    layers : int
        K.
    activation : populations.Activation
        f (f_1 of a deep projection: the gain f'_1(μ) the estimate neurons apply).
    activations : list of Activation
        f_1 … f_K.
    bias : ndarray, shape (lower.state_size,)  (live: changes when biases learn)
        b (c_K of a deep projection), held by the lower column's prediction offset.
    backend : "dense" or "synapses"
    plastic : bool
    learning_rate : float, or list of float
        α, or [α_1, …, α_K] per layer of a deep projection (c_k learns at α_k).
    weight_decay : float
        λ.
    learn_bias : bool
    feedback : "tied", "random" or "kolen-pollack"
    credit : "backprop", "feedback-alignment" or "target-prop"
    synapses : list of brian2.Synapses (synapses backend of the runtime engine, once built)
    """

    def __init__(self, upper, lower, weights: list, activations: list, biases: list, backend: str,
                 plastic=False, learning_rate=0.0, weight_decay=0.0, learn_bias=False, feedback="tied",
                 feedback_weights: np.ndarray | None = None, **credit):
        self.upper = upper
        self.lower = lower
        self._weights = weights
        # on the neurons: W, or I_n ⊗ W between columns in generalized coordinates of order n
        synaptic = weights if lower.order == 1 else [np.kron(np.eye(lower.order), weights[0])]
        self.dendrite = Dendrite(f"{upper.name}_to_{lower.name}", synaptic, activations, biases, **credit)
        self.backend = backend
        self.plastic = plastic
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.learn_bias = learn_bias
        self.feedback = feedback
        # B, (upper × lower) for one layer: a view of W when tied, so learning W updates it too
        self._feedback = synaptic[0].T if feedback == "tied" else feedback_weights
        self.synapses = []

    layers = property(lambda self: self.dendrite.layers, doc="K, the number of weight matrices.")
    activation = property(lambda self: self.dendrite.activations[0], doc="f (f_1 of a deep projection).")
    activations = property(lambda self: list(self.dendrite.activations), doc="f_1 … f_K.")
    bias = property(lambda self: self.dendrite.biases[-1], doc="b (c_K), live, shape (lower.state_size,).")
    credit = property(lambda self: self.dendrite.credit, doc="How the hidden layers get their learning signal.")

    @property
    def weights(self):
        """W, shape (lower.state_size, upper.state_size), or the list [V_1, …, V_K] of a deep
        projection (copies)."""
        return self._weights[0].copy() if self.layers == 1 else [v.copy() for v in self._weights]

    @property
    def biases(self) -> list:
        """[c_1, …, c_K] (copies); c_K is :attr:`bias`."""
        return [c.copy() for c in self.dendrite.biases]

    @property
    def synaptic_weights(self) -> np.ndarray:
        """The generative weights on the neurons of a one-layer projection, shape (lower.size,
        upper.size): W, or I_n ⊗ W in generalized coordinates of order n (each order predicted
        alike) (a copy)."""
        if self.layers > 1:
            raise ValueError(f"{self}: a deep projection has no single weight matrix; use prediction() "
                             f"and jacobian()")
        return self.dendrite.weights[0].copy()

    @property
    def feedback_weights(self) -> np.ndarray:
        """B of the bottom-up inference synapses, shape (upper.size, first layer's size) (a copy)."""
        return self._feedback.copy()

    @property
    def learns(self) -> bool:
        """Whether the weights (and with them a Kolen–Pollack B) or the biases are learned."""
        return self.plastic or self.learn_bias

    @property
    def linear(self) -> bool:
        """Whether the prediction is affine in μ_upper (every activation the identity)."""
        return self.dendrite.linear

    def prediction(self, upper_estimates: np.ndarray) -> np.ndarray:
        """The top-down prediction without its final bias (which the lower column's offset
        holds), W f(μ) or V_K f_K(h_K−1), for estimates (..., upper.size) → (..., lower.size)."""
        return self.dendrite.forward(upper_estimates)[1]

    def jacobian(self, upper_estimate: np.ndarray) -> np.ndarray:
        """J = ∂prediction/∂μ_upper at one estimate (upper.size,), shape (lower.size, upper.size),
        or at estimates (..., upper.size), shape (..., lower.size, upper.size)."""
        return self.dendrite.jacobian(upper_estimate)

    def set_weights(self, weights):
        """Replace W (shape (lower.state_size, upper.state_size)), or every V_k of a deep
        projection (a list of K matrices of the current shapes), in place: the couplings read
        the same arrays."""
        if self.layers == 1:
            checked = [as_matrix(weights, self._weights[0].shape, "weights")]
        elif not isinstance(weights, (list, tuple)) or len(weights) != self.layers:
            raise ValueError(f"weights: this deep projection has {self.layers} layers; pass a list of "
                             f"{self.layers} matrices of shapes {[v.shape for v in self._weights]}")
        else:
            checked = [as_matrix(new, live.shape, f"weights[{k}]") for k, (new, live) in
                       enumerate(zip(weights, self._weights))]
        for live, new in zip(self._weights, checked):
            live[:] = new
        if self.dendrite.weights[0] is not self._weights[0]:   # generalized coordinates: I ⊗ W
            self.dendrite.weights[0][:] = np.kron(np.eye(self.lower.order), self._weights[0])

    def couplings(self) -> list[Coupling]:
        """The top-down and bottom-up couplings of this projection (through its compartments)."""
        upper, lower = self.upper, self.lower
        errors = (lower.group_name("error"), "eps")
        generative = self.dendrite.forward_couplings((upper.group_name("estimate"), "mu"),
                                                     (lower.group_name("error"), f"prediction_{upper.name}"),
                                                     f"generative_{upper.name}_to_{lower.name}")
        return generative + self.dendrite.backward_couplings(errors) + [
            Coupling(f"inference_{lower.name}_to_{upper.name}", *self.dendrite.first_delta(errors),
                     upper.group_name("estimate"), f"input_{lower.name}", self._feedback)]

    def learn(self, scale: float):
        """One update of the weights, biases and B from the current state of the two columns
        (``scale``: 1 at an item's end, dt/τ_μ for a step of the continuous rule)."""
        lower, batch = self.lower.state, self.lower.state.batch
        steps = [scale * rate for rate in layer_rates(self.learning_rate, self.layers)]
        hebbians = self.dendrite.learn(batch.rows(self.upper.state.estimate), batch.rows(lower.error), batch,
                                       steps, scale, self.weight_decay, weights=self.plastic, biases=self.learn_bias)
        if self.plastic and self.feedback == "kolen-pollack":
            self._feedback += steps[0] * (hebbians[0].T - self.weight_decay * self._feedback)
        if self.learn_bias:
            # m + Σ b recomputed (not incremented; the dendrite has updated b = c_K): the same
            # rounding as a circuit loaded with this b
            lower.offset[:] = lower.tile(self.lower.offset)

    def __repr__(self):
        shapes = " → ".join(str(v.shape) for v in self._weights)
        names = ", ".join(f.name for f in self.activations)
        return (f"Projection({self.upper.name} -> {self.lower.name}, W {shapes}, activation={names}, "
                f"backend={self.backend!r})")
