"""Local learning rules, applied inside the Brian2 run.

Both rules are Hebbian in the activity on the two sides of a synapse (Bogacz 2017):

- generative weights (eq. 39; Rao & Ballard 1999):  ΔW = α (ε_lower f(μ_upper)ᵀ − λ W),
  Δb = α ε_lower, and for Kolen–Pollack feedback ΔB = α (f(μ_upper) ε_lowerᵀ − λ B);
- covariance through interneurons (eqs. 59–63, 67–71):  ΔΣ = α (sym(ε aᵀ) − I).

``scale`` chooses the schedule: 1 for one update at the end of an item (Bogacz's scheme:
inference settles, then the synapses change), dt/τ_μ for one forward-Euler step of the
continuous-time rule τ_μ dW/dt = α (ε f(μ)ᵀ − λ W). Updates are written in place into the
arrays the couplings read, so the network sees them at its next step.

Σ stays symmetric positive definite: the Hebbian term is symmetrised (ε aᵀ is symmetric only at
the fixed point) and Σ's eigenvalues are floored at the column's ``min_variance``.
"""
from __future__ import annotations

import numpy as np
from brian2 import NetworkOperation

__all__ = ["update_weights", "update_covariance", "apply_learning", "continuous_learning"]


def update_weights(projection, scale: float):
    """One update of W (and b, B) of a plastic projection."""
    eps = projection.lower._error.variables["eps"].get_value()
    rate = projection.activation.rate_numpy(projection.upper._estimate.variables["mu"].get_value())
    step = scale * projection.learning_rate
    hebbian = np.outer(eps, rate)
    projection._weights += step * (hebbian - projection.weight_decay * projection._weights)
    if projection.feedback == "kolen-pollack":
        projection._feedback += step * (hebbian.T - projection.weight_decay * projection._feedback)
    if projection.learn_bias:
        projection.bias += step * eps
        projection.lower._error.variables["prediction_offset"].get_value()[:] += step * eps


def update_covariance(column, scale: float):
    """One update of Σ of a covariance-learning column, kept symmetric positive definite."""
    eps = column._error.variables["eps"].get_value()
    activity = column._interneuron.variables["activity"].get_value()
    hebbian = np.outer(eps, activity)
    updated = column.covariance + scale * column.covariance_learning_rate * (
        (hebbian + hebbian.T) / 2 - np.eye(column.size))
    values, vectors = np.linalg.eigh(updated)
    if values.min() < column.min_variance:
        updated = (vectors * np.maximum(values, column.min_variance)) @ vectors.T
    column.covariance[:] = updated


def apply_learning(circuit, scale: float):
    """Update every plastic projection and covariance-learning column of ``circuit``."""
    for projection in circuit.projections:
        if projection.plastic:
            update_weights(projection, scale)
    for column in circuit.columns.values():
        if column.learn_covariance:
            update_covariance(column, scale)


def continuous_learning(circuit) -> NetworkOperation:
    """A network operation applying the rules every step (scale dt/τ_μ), after the couplings
    have read the weights of this step and before the groups update: a forward-Euler step of
    weights and rates together. Active only while a run learns continuously."""
    scale = float(circuit.dt / circuit.tau_estimate)
    return NetworkOperation(lambda: apply_learning(circuit, scale), when="before_groups", order=1,
                            clock=circuit._clock, name="continuous_learning")
