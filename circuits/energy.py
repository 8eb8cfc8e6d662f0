"""Free energy of a circuit's estimates (the Laplace / point-estimate form).

    F = Σ_ℓ ½ [ (μ_ℓ − g_ℓ)ᵀ Σ_ℓ⁻¹ (μ_ℓ − g_ℓ) + log det(2π Σ_ℓ) ],
    g_ℓ = Σ_p W_p f_p(μ_p) + b_ℓ   (the prediction from the upper columns p; m for a top column)

A deep projection contributes its network's output h_K instead of W_p f_p(μ_p)
(:meth:`Projection.prediction`, the final bias with b_ℓ).

In generalized coordinates μ_ℓ, g_ℓ and Σ_ℓ are the generalized ones (μ̃, (I ⊗ W) μ̃_p,
S(s) ⊗ Σ); a column with dynamics A puts (D − A) μ̃ (below the top order) in place of μ_ℓ
and has no prediction; a column with a flat prior contributes nothing.

For a linear Gaussian hierarchy F(μ) = −log p(x, μ) exactly; the estimate dynamics descend it.
A column with a sparse prior (:mod:`populations.priors`) adds α Σ_i φ(μ_ℓ,i): F is then the
energy the dynamics descend (Rao & Ballard 1999's cost function) and −log p(x, μ) up to the
sparse factor's normalising constant, which depends on the prediction and is left out.
With attention (precision gain γ) Σ_ℓ is replaced by the attended Σ'_ℓ = D⁻¹ Σ_ℓ D⁻¹,
D = diag(√γ): the quadratic term uses Π' = D Π D and log det 2πΣ' = log det 2πΣ − Σ log γ.
"""
from __future__ import annotations

import numpy as np

from populations import prior_shape

from .validation import as_array, is_diagonal, shown

__all__ = ["current_estimates", "current_free_energy", "current_gains", "equilibrium_errors", "free_energy_by_level"]


def free_energy_by_level(columns, estimates: dict[str, np.ndarray], gains: dict | None = None
                         ) -> dict[str, np.ndarray]:
    """F_ℓ for every column.

    Parameters
    ----------
    columns : iterable of Column
    estimates : dict
        μ of every column, each of shape (T, size) (T time points) or (size,).
    gains : dict, optional
        Attention gains γ per column, broadcastable to that column's estimates (default 1).

    Returns
    -------
    dict mapping column name to F_ℓ, shape (T,) (or a float for 1-D estimates).
    """
    energies = {}
    for column in columns:
        mu = np.asarray(estimates[column.name], dtype=float)
        shape = None if column.sensory else prior_shape(column.prior)
        sparse = 0.0 if shape is None else column.sparsity * np.sum(shape.rate_numpy(mu), axis=-1)
        if column.flat_prior:
            energies[column.name] = sparse + (np.zeros(mu.shape[:-1]) if mu.ndim > 1 else 0.0)
            continue
        residual, gain = _scaled_residual(column, estimates, gains)
        if is_diagonal(column.covariance):   # no matrix product, no inverse
            quadratic = (residual * residual) @ (1 / np.diagonal(column.covariance))
        else:
            quadratic = np.sum((residual @ column.precision) * residual, axis=-1)
        log_det = (column.error_size * np.log(2 * np.pi) + _log_det(column.covariance)
                   - np.sum(np.log(gain), axis=-1))
        energies[column.name] = 0.5 * (quadratic + log_det) + sparse
    return energies


def equilibrium_errors(columns, estimates: dict[str, np.ndarray], gains: dict | None = None) -> dict:
    """ε_ℓ = Π'_ℓ (μ_ℓ − g_ℓ), where every column's error neurons settle with the estimates held
    at ``estimates`` (arrays (..., size) as for :func:`free_energy_by_level`); {name: (..., error_size)}
    for the columns with error neurons of their own (not a flat prior)."""
    errors = {}
    for column in columns:
        if not column.flat_prior:
            residual, gain = _scaled_residual(column, estimates, gains)
            weighted = (residual / np.diagonal(column.covariance) if is_diagonal(column.covariance)
                        else residual @ column.precision)
            errors[column.name] = weighted * np.sqrt(gain)
    return errors


def _scaled_residual(column, estimates: dict, gains: dict | None):
    """(D (M μ − g), γ) of a column: its residual scaled by the square root of the attention gain."""
    mu = np.asarray(estimates[column.name], dtype=float)
    if column.estimate_map is not None:
        mu = mu @ column.estimate_map.T
    prediction = (column.offset if column.estimate_map is None else 0.0) + sum(
        (p.prediction(np.asarray(estimates[p.upper.name], dtype=float)) for p in column.downward),
        np.zeros(column.error_size))
    gain = np.ones(column.error_size) if gains is None or column.name not in gains else gains[column.name]
    return (mu - prediction) * np.sqrt(gain), gain


def _log_det(matrix: np.ndarray) -> float:
    """log det of a positive-definite matrix (a sum of logs when it is diagonal)."""
    return float(np.sum(np.log(np.diagonal(matrix)))) if is_diagonal(matrix) else np.linalg.slogdet(matrix)[1]


def current_estimates(graph, batch) -> dict[str, np.ndarray]:
    """μ of every column now, {name: (size,) or (B, size)} (copies)."""
    return {name: batch.split(column.state.estimate.copy()) for name, column in graph.columns.items()}


def current_gains(graph, batch) -> dict[str, np.ndarray]:
    """The attention gains γ now in the error neurons, {name: (error_size,) or (B, error_size)}."""
    return {name: batch.split(column.state.units(column.state.gain).copy()) for name, column in graph.columns.items()
            if column.state.gain is not None}


def current_free_energy(graph, batch, estimates: dict | None = None):
    """Total F at the current state, with some columns at the ``estimates`` given; a float, or
    one value per copy (B,) with a batch."""
    estimates = current_estimates(graph, batch) | _given(graph, batch, estimates)
    total = sum(free_energy_by_level(graph.columns.values(), estimates, current_gains(graph, batch)).values())
    return float(total) if batch.size is None else np.asarray(total, dtype=float)


def _given(graph, batch, estimates) -> dict[str, np.ndarray]:
    """``estimates`` checked: {column name: (size,) or, with a batch, (B, size)}."""
    if estimates is None:
        return {}
    if not isinstance(estimates, dict):
        raise TypeError(f"estimates must be a dict {{column name: values}}, got {shown(estimates)}")
    checked = {}
    for name, values in estimates.items():
        column = graph.lookup(name, "estimates")
        array = as_array(values, f"estimates[{column.name!r}]")
        shapes = [(column.size,)] + ([] if batch.size is None else [(batch.size, column.size)])
        if array.shape not in shapes:
            raise ValueError(f"estimates[{column.name!r}] must have shape {' or '.join(map(str, shapes))}, "
                             f"got {array.shape}")
        checked[column.name] = array
    return checked
