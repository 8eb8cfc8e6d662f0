"""Exact inference for linear Gaussian circuits (the closed form the dynamics must reach).

For a circuit whose projections are all linear, F(μ) is quadratic in the latent estimates z:
each level contributes ½ rᵀ Σ⁻¹ r with a residual r_ℓ = μ_ℓ − Σ_p W_p μ_p − b_ℓ that is affine
in z, r_ℓ = A_ℓ z − d_ℓ. The minimiser, the posterior mean, solves H z* = g with the posterior
precision H = Σ_ℓ A_ℓᵀ Σ_ℓ⁻¹ A_ℓ and g = Σ_ℓ A_ℓᵀ Σ_ℓ⁻¹ d_ℓ.
"""
from __future__ import annotations

import numpy as np

__all__ = ["exact_posterior"]


def exact_posterior(circuit, observations: dict) -> tuple[dict, np.ndarray]:
    """Posterior means of all latent columns given the sensory ``observations``.

    Parameters
    ----------
    circuit : Circuit
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
    nonlinear = [p for p in circuit.projections if not p.activation.is_identity]
    if nonlinear:
        raise ValueError(f"exact_posterior needs linear projections; {nonlinear[0]} is not")
    latent = [c for c in circuit.columns.values() if not c.sensory]
    missing = {c.name for c in circuit.columns.values() if c.sensory} - set(observations)
    if missing:
        raise ValueError(f"observations: give a vector for every sensory column, missing {sorted(missing)}")
    index, start = {}, 0
    for column in latent:
        index[column.name] = slice(start, start + column.size)
        start += column.size
    precision = np.zeros((start, start))
    drive = np.zeros(start)
    for column in circuit.columns.values():
        if column.flat_prior:
            continue
        # r = M μ_ℓ − Σ_p W_p μ_p − b_ℓ = A z − d, with μ_ℓ = x for a sensory column
        # (M = I, or D − A for a column with dynamics, which has no prediction or offset)
        A = np.zeros((column.error_size, start))
        d = column.offset.copy() if column.estimate_map is None else np.zeros(column.error_size)
        if column.sensory:
            d -= np.asarray(observations[column.name], dtype=float)
        else:
            A[:, index[column.name]] = (np.eye(column.size) if column.estimate_map is None
                                        else column.estimate_map)
        for projection in column.downward:
            A[:, index[projection.upper.name]] -= projection.synaptic_weights
        precision += A.T @ column.precision @ A
        drive += A.T @ column.precision @ d
    means = np.linalg.solve(precision, drive)
    return {name: means[s] for name, s in index.items()}, np.linalg.inv(precision)
