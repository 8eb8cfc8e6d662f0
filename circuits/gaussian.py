"""Gaussian inference for circuits: the exact posterior of linear circuits, and the Laplace
(Gauss–Newton) posterior precision of any circuit at its current estimates.

Each level contributes ½ rᵀ Σ⁻¹ r to F with the residual r_ℓ = M_ℓ μ_ℓ − Σ_p W_p f(μ_p) − b_ℓ
(M_ℓ = I, or D − A for a column with dynamics; μ_ℓ = x for a sensory column; a deep projection
puts its network's output in place of W_p f(μ_p)). Stacking the latent estimates in z, the
Jacobian of r_ℓ is J_ℓ = ∂r_ℓ/∂z (through every layer of a deep projection), and

    H = Σ_ℓ J_ℓᵀ Σ_ℓ⁻¹ J_ℓ

is the Gauss–Newton Hessian of F: exact for linear projections (one layer or several), where F
is quadratic and r_ℓ = J_ℓ z − d_ℓ, so the posterior mean solves H z* = Σ_ℓ J_ℓᵀ Σ_ℓ⁻¹ d_ℓ and
the posterior covariance is H⁻¹.
"""
from __future__ import annotations

import numpy as np

__all__ = ["exact_posterior", "laplace_precision", "latent_index"]


def latent_index(graph) -> dict[str, slice]:
    """Where each latent column of ``graph`` (a CircuitGraph or Circuit) sits in the stacked
    latent vector z."""
    index, start = {}, 0
    for column in graph.columns.values():
        if not column.sensory:
            index[column.name] = slice(start, start + column.size)
            start += column.size
    return index


def _jacobian(column, index: dict, size: int, estimates: dict, batch: tuple = ()) -> np.ndarray:
    """J_ℓ = ∂r_ℓ/∂z at ``estimates`` (f' evaluated there), shape (*batch, error_size, size) for
    estimates of shape (*batch, size)."""
    J = np.zeros((*batch, column.error_size, size))
    if not column.sensory:
        J[..., index[column.name]] = np.eye(column.size) if column.estimate_map is None else column.estimate_map
    for projection in column.downward:
        J[..., index[projection.upper.name]] -= projection.jacobian(estimates[projection.upper.name])
    return J


def _weighted_columns(graph):
    """The columns that contribute to F (a flat prior contributes nothing)."""
    return [c for c in graph.columns.values() if not c.flat_prior]


def laplace_precision(graph, estimates: dict, gains: dict | None = None) -> np.ndarray:
    """H = Σ_ℓ J_ℓᵀ Π'_ℓ J_ℓ at ``estimates`` ({name: μ}), with attention gains γ if given
    (Π' = D Π D, D = diag √γ). Shape (n, n), n the number of latent estimate neurons; for a
    batch of estimates ({name: (B, size)}) one H per copy, (B, n, n)."""
    index = latent_index(graph)
    size = sum(s.stop - s.start for s in index.values())
    batch = np.shape(next(iter(estimates.values())))[:-1]
    precision = np.zeros((*batch, size, size))
    for column in _weighted_columns(graph):
        J = _jacobian(column, index, size, estimates, batch)
        scale = np.sqrt(gains[column.name]) if gains and column.name in gains else np.ones(column.error_size)
        weighted = column.precision * (scale[..., :, None] * scale[..., None, :])
        precision += np.swapaxes(J, -1, -2) @ weighted @ J
    return precision


def exact_posterior(circuit, observations: dict) -> tuple[dict, np.ndarray]:
    """Posterior means of all latent columns given the sensory ``observations``.

    Parameters
    ----------
    circuit : Circuit or CircuitGraph
        Every projection must be linear.
    observations : dict
        {sensory column name: vector x}.

    Returns
    -------
    means : dict of str to ndarray
        E[z | x] for each latent column.
    covariance : ndarray
        The posterior covariance H⁻¹ of the stacked latents (in ``means`` order).
    """
    nonlinear = [p for p in circuit.projections if not p.linear]
    if nonlinear:
        raise ValueError(f"exact_posterior needs linear projections; {nonlinear[0]} is not")
    missing = {c.name for c in circuit.columns.values() if c.sensory} - set(observations)
    if missing:
        raise ValueError(f"observations: give a vector for every sensory column, missing {sorted(missing)}")
    index = latent_index(circuit)
    size = sum(s.stop - s.start for s in index.values())
    zeros = {name: np.zeros(s.stop - s.start) for name, s in index.items()}
    precision = np.zeros((size, size))
    drive = np.zeros(size)
    for column in _weighted_columns(circuit):
        # r = J z − d with d = b_ℓ + the predictions at z = 0 (hidden biases of deep projections),
        # − x for a sensory column; no offset under dynamics
        J = _jacobian(column, index, size, zeros)
        d = column.offset.copy() if column.estimate_map is None else np.zeros(column.error_size)
        d += sum((p.prediction(zeros[p.upper.name]) for p in column.downward), np.zeros(column.error_size))
        if column.sensory:
            d -= np.asarray(observations[column.name], dtype=float)
        precision += J.T @ column.precision @ J
        drive += J.T @ column.precision @ d
    means = np.linalg.solve(precision, drive)
    return {name: means[s] for name, s in index.items()}, np.linalg.inv(precision)
