"""Reparameterized sampling and the evidence lower bound of a circuit's estimates.

The circuit's estimates are a point (Laplace) posterior: F(μ) = −log p(x, μ) for the Gaussian
model. A Gaussian q around them turns that into a proper variational posterior (Kingma &
Welling 2014; Marino 2022 §3):

    z = μ + σ ⊙ γ,   γ ~ N(0, I)                      (``"mean-field"``: σ² = 1 / diag H)
    z = μ + L γ,     L Lᵀ = H⁻¹                       (``"laplace"``: the full Laplace posterior)

with H the Gauss–Newton Hessian of F at μ (:func:`circuits.gaussian.laplace_precision`), and

    ELBO = E_q[log p(x, z)] + H[q] = E_q[−F(z)] + ½ log det(2πe Σ_q)

estimated by Monte Carlo (mean over samples, with its standard error) or, for linear
circuits where F is quadratic, in closed form: −F(μ) − ½ tr(H Σ_q) + ½ log det(2πe Σ_q).
With the Laplace q at the posterior mean of a linear circuit, the ELBO equals log p(x).
"""
from __future__ import annotations

import numpy as np

from .energy import free_energy_by_level
from .gaussian import laplace_precision, latent_index

__all__ = ["COVARIANCES", "posterior_scale", "sample", "elbo"]

#: The Gaussian families q of :func:`sample` and :func:`elbo`.
COVARIANCES = ("mean-field", "laplace")


def posterior_scale(graph, estimates: dict, gains: dict, covariance: str = "mean-field") -> np.ndarray:
    """The scale of q over the stacked latent estimates: σ (n,) for "mean-field", the Cholesky
    factor L (n, n) of H⁻¹ for "laplace"; H at ``estimates`` ({name: μ}) with ``gains``."""
    if covariance not in COVARIANCES:
        raise ValueError(f"covariance must be one of {COVARIANCES}, got {covariance!r}")
    H = laplace_precision(graph, estimates, gains)
    if covariance == "mean-field":
        return 1 / np.sqrt(np.diag(H))
    try:
        return np.linalg.cholesky(np.linalg.inv(H))
    except np.linalg.LinAlgError:
        raise ValueError("the Laplace precision H is singular at the current estimates (a latent "
                         "no error constrains); use covariance='mean-field'") from None


def _draw(graph, estimates, gains, samples: int, rng, covariance: str):
    index = latent_index(graph)
    mean = np.concatenate([estimates[name] for name in index])
    scale = posterior_scale(graph, estimates, gains, covariance)
    noise = rng.standard_normal((samples, len(mean)))
    draws = mean + (noise * scale if scale.ndim == 1 else noise @ scale.T)
    log_det = 2 * np.sum(np.log(scale if scale.ndim == 1 else np.diag(scale)))
    entropy = 0.5 * (len(mean) * np.log(2 * np.pi * np.e) + log_det)
    return index, draws, scale, entropy


def sample(graph, estimates: dict, gains: dict, samples: int, seed=None, covariance: str = "mean-field") -> dict:
    """``samples`` reparameterized draws z = μ + σ ⊙ γ (or μ + L γ) of every latent column
    around ``estimates`` ({name: μ} of every column, with attention ``gains``),
    {name: (samples, size)}."""
    index, draws, _, _ = _draw(graph, estimates, gains, _count(samples), np.random.default_rng(seed), covariance)
    return {name: draws[:, s] for name, s in index.items()}


def elbo(graph, estimates: dict, gains: dict, samples: int = 1000, seed=None, covariance: str = "mean-field",
         method: str = "monte-carlo") -> tuple[float, float]:
    """(ELBO, its standard error) of q around ``estimates`` ({name: μ} of every column, with
    attention ``gains``); the closed form (``method="closed-form"``, linear circuits only) has
    standard error 0."""
    if method not in ("monte-carlo", "closed-form"):
        raise ValueError(f"method must be 'monte-carlo' or 'closed-form', got {method!r}")
    rng = np.random.default_rng(seed)
    index, draws, scale, entropy = _draw(graph, estimates, gains, _count(samples), rng, covariance)
    if method == "closed-form":
        nonlinear = [p for p in graph.projections if not p.linear]
        if nonlinear:
            raise ValueError(f"the closed-form ELBO needs linear projections ({nonlinear[0]} is not); "
                             f"use method='monte-carlo'")
        H = laplace_precision(graph, estimates, gains)
        covariance_q = np.diag(scale ** 2) if scale.ndim == 1 else scale @ scale.T
        energy = sum(np.sum(v) for v in free_energy_by_level(graph.columns.values(), estimates, gains).values())
        return float(-energy - 0.5 * np.trace(H @ covariance_q) + entropy), 0.0
    sampled = dict(estimates)
    sampled.update({name: draws[:, s] for name, s in index.items()})
    energies = sum(free_energy_by_level(graph.columns.values(), sampled, gains).values())
    log_joint = -np.broadcast_to(energies, (len(draws),))
    return float(log_joint.mean() + entropy), float(log_joint.std(ddof=1) / np.sqrt(len(draws)))


def _count(samples) -> int:
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 2:
        raise ValueError(f"samples must be an integer ≥ 2, got {samples!r}")
    return int(samples)
