"""Local learning rules, applied inside the Brian2 run.

Both rules are Hebbian in the activity on the two sides of a synapse (Bogacz 2017):

- generative weights (eq. 39; Rao & Ballard 1999):  ΔW = α (ε_lower f(μ_upper)ᵀ − λ W),
  Δb = α ε_lower, and for Kolen–Pollack feedback ΔB = α (f(μ_upper) ε_lowerᵀ − λ B);
- covariance through interneurons (eqs. 59–63, 67–71):  ΔΣ = α (sym(ε aᵀ) − I);
- the lateral-inhibition flow of a whitening column: ΔB = α (tril or sym((x − m) uᵀ) − B);
- an encoder (:mod:`circuits.amortization`): ΔV = α (μ − μ_q) f(x)ᵀ, Δc = α (μ − μ_q).

``scale`` chooses the schedule: 1 for one update at the end of an item (Bogacz's scheme:
inference settles, then the synapses change), dt/τ_μ for one forward-Euler step of the
continuous-time rule τ_μ dW/dt = α (ε f(μ)ᵀ − λ W). Updates are written in place into the
arrays the couplings read, so the network sees them at its next step.

Σ stays symmetric positive definite: the Hebbian term is symmetrised (ε aᵀ is symmetric only at
the fixed point) and Σ's eigenvalues are floored at the column's ``min_variance``.

With ``Circuit(batch_size=B)`` every Hebbian term is averaged over the B copies,
ε fᵀ → (1/B) Σ_b ε_b f_bᵀ: one update per batch, as in minibatch learning.
"""
from __future__ import annotations

import numpy as np
from brian2 import NetworkOperation

__all__ = ["batch_outer", "batch_mean", "update_weights", "update_covariance", "update_flow",
           "apply_learning", "continuous_learning"]


def batch_outer(post: np.ndarray, pre: np.ndarray, batch: int) -> np.ndarray:
    """(1/B) Σ_b post_b pre_bᵀ for batch-major arrays of B copies (np.outer when B = 1)."""
    if batch == 1:
        return np.outer(post, pre)
    return post.reshape(batch, -1).T @ pre.reshape(batch, -1) / batch


def batch_mean(values: np.ndarray, batch: int) -> np.ndarray:
    """(1/B) Σ_b values_b for a batch-major array of B copies."""
    return values if batch == 1 else values.reshape(batch, -1).mean(axis=0)


def update_weights(projection, scale: float):
    """One update of W (and b, B) of a plastic projection."""
    batch = projection.lower.batch
    eps = projection.lower._error.variables["eps"].get_value()
    rate = projection.activation.rate_numpy(projection.upper._estimate.variables["mu"].get_value())
    step = scale * projection.learning_rate
    hebbian = batch_outer(eps, rate, batch)
    projection._weights += step * (hebbian - projection.weight_decay * projection._weights)
    if projection.feedback == "kolen-pollack":
        projection._feedback += step * (hebbian.T - projection.weight_decay * projection._feedback)
    if projection.learn_bias:
        change = step * batch_mean(eps, batch)
        projection.bias += change
        projection.lower._error.variables["prediction_offset"].get_value()[:] += projection.lower._tile(change)


def update_covariance(column, scale: float):
    """One update of Σ of a covariance-learning column, kept symmetric positive definite."""
    eps = column._error.variables["eps"].get_value()
    activity = column._interneuron.variables["activity"].get_value()
    hebbian = batch_outer(eps, activity, column.batch)
    updated = column.covariance + scale * column.covariance_learning_rate * (
        (hebbian + hebbian.T) / 2 - np.eye(column.size))
    values, vectors = np.linalg.eigh(updated)
    if values.min() < column.min_variance:
        updated = (vectors * np.maximum(values, column.min_variance)) @ vectors.T
    column.covariance[:] = updated


def update_flow(column, scale: float):
    """One update of the lateral-inhibition flow B of a whitening column (u = B⁻¹(x − m)).

    Each lateral weight B_ij changes with the input x_i − m_i of its postsynaptic unit and the
    output u_j of its presynaptic unit: ΔB = α (tril((x − m) uᵀ) − B) for the autoregressive
    flow (B stays lower-triangular) and ΔB = α (sym((x − m) uᵀ) − B) for the symmetric one. At
    the fixed point E[(x − m) uᵀ] = Σ B⁻ᵀ equals B, so B Bᵀ = Σ and u is white. B's diagonal
    (the self-inhibition β) is kept ≥ √min_variance, which keeps B invertible. For the
    centre-surround predictor u = x − m − W x: ΔW = α u xᵀ on neighbour synapses (anti-Hebbian
    in effect, as the synapses inhibit), the LMS rule whose fixed point is Wiener–Hopf.
    """
    output = column._error.variables["eps"].get_value()
    if column.flow == "surround":
        # ΔW = α (u xᵀ) on the neighbour synapses: LMS towards E[u_i x_j] = 0 (Wiener–Hopf)
        column.flow_matrix += scale * column.flow_learning_rate * batch_outer(
            output, column._estimate.variables["mu"].get_value(), column.batch) * column.surround_mask
        return
    centred = column._estimate.variables["mu"].get_value() - column._tile(column.offset)
    hebbian = batch_outer(centred, output, column.batch)
    target = np.tril(hebbian) if column.flow == "autoregressive" else (hebbian + hebbian.T) / 2
    B = column.flow_matrix
    B += scale * column.flow_learning_rate * (target - B)
    if column.flow == "autoregressive":
        np.fill_diagonal(B, np.maximum(np.diag(B), np.sqrt(column.min_variance)))
    else:
        values, vectors = np.linalg.eigh(B)
        B[:] = (vectors * np.maximum(values, np.sqrt(column.min_variance))) @ vectors.T
    column._error.variables["variance"].get_value()[:] = column._tile(np.diag(B))
    column._lateral[:] = B - np.diag(np.diag(B))
    column.covariance[:] = B @ B.T


def apply_learning(circuit, scale: float):
    """Update every plastic projection and covariance-learning column of ``circuit``."""
    for projection in circuit.projections:
        if projection.plastic:
            update_weights(projection, scale)
    for column in circuit.columns.values():
        if column.learn_covariance:
            update_covariance(column, scale)
        if column.learn_flow:
            update_flow(column, scale)
    for encoder in circuit.encoders.values():
        encoder.learn(scale)


def continuous_learning(circuit) -> NetworkOperation:
    """A network operation applying the rules every step (scale dt/τ_μ), after the couplings
    have read the weights of this step and before the groups update: a forward-Euler step of
    weights and rates together. Active only while a run learns continuously."""
    scale = float(circuit.dt / circuit.tau_estimate)
    return NetworkOperation(lambda: apply_learning(circuit, scale), when="before_groups", order=1,
                            clock=circuit._clock, name="continuous_learning")
