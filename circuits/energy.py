"""Free energy of a circuit's estimates (the Laplace / point-estimate form).

    F = Σ_ℓ ½ [ (μ_ℓ − g_ℓ)ᵀ Σ_ℓ⁻¹ (μ_ℓ − g_ℓ) + log det(2π Σ_ℓ) ],
    g_ℓ = Σ_p W_p f_p(μ_p) + b_ℓ   (the prediction from the upper columns p; m for a top column)

For a linear Gaussian hierarchy F(μ) = −log p(x, μ) exactly; the estimate dynamics descend it.
"""
from __future__ import annotations

import numpy as np

__all__ = ["free_energy_by_level"]


def free_energy_by_level(columns, estimates: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """F_ℓ for every column.

    Parameters
    ----------
    columns : iterable of Column
    estimates : dict
        μ of every column, each of shape (T, size) (T time points) or (size,).

    Returns
    -------
    dict mapping column name to F_ℓ, shape (T,) (or a float for 1-D estimates).
    """
    energies = {}
    for column in columns:
        mu = np.asarray(estimates[column.name], dtype=float)
        prediction = column.offset + sum(
            (p.activation.rate_numpy(np.asarray(estimates[p.upper.name], dtype=float)) @ p.weights.T
             for p in column.downward), np.zeros(column.size))
        residual = mu - prediction
        quadratic = np.sum((residual @ column.precision) * residual, axis=-1)
        log_det = np.linalg.slogdet(2 * np.pi * column.covariance)[1]
        energies[column.name] = 0.5 * (quadratic + log_det)
    return energies
