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

from .errors import SimulationDiverged

__all__ = ["update_covariance", "update_flow", "apply_learning"]


def update_covariance(column, scale: float, timing):
    """One update of Σ of a covariance-learning column, kept symmetric positive definite.

    A learned Σ must keep the error neurons stable under forward Euler, dt·λmax(Σ)/τ_ε < 1
    (``timing``: the circuit's :class:`~circuits.graph.Timing`), as the Σ a column is created
    with must: an update that would break the bound (or that is not finite, because the rates
    diverged) raises :class:`SimulationDiverged` naming the column, the learned Σ and the fix,
    and leaves the last stable Σ in place.
    """
    state = column.state
    hebbian = state.batch.outer(state.error, state.activity)
    updated = column.covariance + scale * column.covariance_learning_rate * (
        (hebbian + hebbian.T) / 2 - np.eye(column.size))
    if not np.all(np.isfinite(updated)):
        raise SimulationDiverged(f"covariance learning of column {column.name!r}: the Hebbian term ε aᵀ is not "
                                 f"finite (its error neurons or interneurons diverged); the last stable Σ is "
                                 f"kept. Use a smaller covariance_learning_rate (now "
                                 f"{column.covariance_learning_rate:g}) or a smaller dt; call reset() before "
                                 f"running again.")
    values, vectors = np.linalg.eigh(updated)
    if values.min() < column.min_variance:
        values = np.maximum(values, column.min_variance)
        updated = (vectors * values) @ vectors.T
    timing.check_variance(float(values.max()), f"covariance learning of column {column.name!r} (learned Σ = "
                          f"{_one_line(updated)})",
                          f"the last stable Σ is kept (circuit.covariance({column.name!r})) and the state "
                          f"needs reset() before the next run; use a smaller covariance_learning_rate (now "
                          f"{column.covariance_learning_rate:g})", SimulationDiverged)
    column.covariance[:] = updated


def update_flow(column, scale: float, timing):
    """One update of the lateral-inhibition flow B of a whitening column (u = B⁻¹(x − m)).

    Each lateral weight B_ij changes with the input x_i − m_i of its postsynaptic unit and the
    output u_j of its presynaptic unit: ΔB = α (tril((x − m) uᵀ) − B) for the autoregressive
    flow (B stays lower-triangular) and ΔB = α (sym((x − m) uᵀ) − B) for the symmetric one. At
    the fixed point E[(x − m) uᵀ] = Σ B⁻ᵀ equals B, so B Bᵀ = Σ and u is white. B's diagonal
    (the self-inhibition β) is kept ≥ √min_variance, which keeps B invertible. For the
    centre-surround predictor u = x − m − W x: ΔW = α u xᵀ on neighbour synapses (anti-Hebbian
    in effect, as the synapses inhibit), the LMS rule whose fixed point is Wiener–Hopf. As for
    :func:`update_covariance`, a B whose largest eigenvalue breaks the Euler bound of the error
    neurons (dt·λmax(B)/τ_ε < 1) raises :class:`SimulationDiverged` and is not written.
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
    B = column.flow_matrix + scale * column.flow_learning_rate * (target - column.flow_matrix)
    if column.flow == "autoregressive":   # triangular: its eigenvalues are its diagonal
        values = np.maximum(np.diag(B), np.sqrt(column.min_variance))
        np.fill_diagonal(B, values)
    else:
        values, vectors = np.linalg.eigh(B)
        values = np.maximum(values, np.sqrt(column.min_variance))
        B = (vectors * values) @ vectors.T
    largest = float(values.max())
    if not np.isfinite(largest):
        raise SimulationDiverged(f"learning the lateral inhibition of column {column.name!r}: the update is not "
                                 f"finite (the rates diverged); the last stable B is kept. Use a smaller "
                                 f"inhibition_learning_rate (now {column.flow_learning_rate:g}) or a smaller dt; "
                                 f"call reset() before running again.")
    timing.check_variance(largest, f"learning the lateral inhibition of column {column.name!r} (B's "
                          f"largest eigenvalue, the error neurons' fastest rate)",
                          f"the last stable B is kept and the state needs reset() before the next run; use a "
                          f"smaller inhibition_learning_rate (now {column.flow_learning_rate:g})", SimulationDiverged)
    column.flow_matrix[:] = B
    state.variance[:] = state.tile(np.diag(B))
    column.lateral[:] = B - np.diag(np.diag(B))
    column.covariance[:] = B @ B.T


def _one_line(matrix: np.ndarray) -> str:
    """A matrix for an error message: one line, 3 digits, elided when large."""
    return np.array2string(matrix, precision=3, separator=", ", threshold=16, max_line_width=10 ** 6).replace("\n", "")


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
