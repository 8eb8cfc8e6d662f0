"""Local learning rules, applied inside the run.

Every rule is Hebbian in the activity on the two sides of a synapse (Bogacz 2017), and lives
with what it changes:

- generative weights (eq. 39; Rao & Ballard 1999), :meth:`Projection.learn`:
  ΔW = α (ε_lower f(μ_upper)ᵀ − λ W), Δb = α ε_lower, Kolen–Pollack ΔB = α (f(μ_upper) ε_lowerᵀ − λ B);
- covariance through interneurons (eqs. 59–63, 67–71), :func:`update_covariance`:
  ΔΣ = α (sym(ε aᵀ) − I);
- the lateral-inhibition flow of a whitening column, :func:`update_flow`:
  ΔB = α (tril or sym((x − m) uᵀ) − B), or LMS ΔW = α u xᵀ for the surround;
- an encoder (:mod:`circuits.amortization`): ΔV = α (μ − μ_q) f(x)ᵀ, Δc = α (μ − μ_q);
- every layer of a deep projection or encoder (:mod:`circuits.dendrite`): ΔV_k = α δ_k f_k(h_k−1)ᵀ.

``scale`` chooses the schedule: 1 for one update at the end of an item (Bogacz's scheme:
inference settles, then the synapses change), dt/τ_μ for one forward-Euler step of the
continuous-time rule τ_μ dW/dt = α (ε f(μ)ᵀ − λ W). Updates are written in place into the
arrays the couplings read, so the network sees them at its next step.

Σ stays symmetric positive definite: the Hebbian term is symmetrised (ε aᵀ is symmetric only at
the fixed point) and Σ's eigenvalues are floored at the column's ``min_variance``.

With a batch of B copies every Hebbian term is averaged over the copies (:meth:`Batch.outer`),
ε fᵀ → (1/B) Σ_b ε_b f_bᵀ: one update per batch, as in minibatch learning.
"""
from __future__ import annotations

import numpy as np

__all__ = ["update_covariance", "update_flow", "apply_learning"]


def update_covariance(column, scale: float):
    """One update of Σ of a covariance-learning column, kept symmetric positive definite."""
    state = column.state
    hebbian = state.batch.outer(state.error, state.activity)
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
    state = column.state
    batch = state.batch
    if column.flow == "surround":
        # ΔW = α (u xᵀ) on the neighbour synapses: LMS towards E[u_i x_j] = 0 (Wiener–Hopf)
        column.flow_matrix += scale * column.flow_learning_rate * batch.outer(
            state.error, state.estimate) * column.surround_mask
        return
    hebbian = batch.outer(state.estimate - batch.tile(column.offset), state.error)
    target = np.tril(hebbian) if column.flow == "autoregressive" else (hebbian + hebbian.T) / 2
    B = column.flow_matrix
    B += scale * column.flow_learning_rate * (target - B)
    if column.flow == "autoregressive":
        np.fill_diagonal(B, np.maximum(np.diag(B), np.sqrt(column.min_variance)))
    else:
        values, vectors = np.linalg.eigh(B)
        B[:] = (vectors * np.maximum(values, np.sqrt(column.min_variance))) @ vectors.T
    state.variance[:] = batch.tile(np.diag(B))
    column.lateral[:] = B - np.diag(np.diag(B))
    column.covariance[:] = B @ B.T


def apply_learning(graph, scale: float, which: str = "all"):
    """One update of everything that learns in ``graph``: ``which`` = "all", "model" (the
    generative model: projections and columns) or "encoders" (the recognition model)."""
    parts = []
    if which in ("all", "model"):
        parts += [*graph.projections, *graph.columns.values()]
    if which in ("all", "encoders"):
        parts += graph.encoders.values()
    for part in parts:
        if part.learns:
            part.learn(scale)
