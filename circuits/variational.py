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

**Learning from samples** (variational EM; ``run_sequence(..., learn_at="laplace")``): the
local rules read the settled state, where they follow −∇F at the MAP. That ignores the
posterior's width: a decoder learned so sharpens until its posterior is far narrower than
the data allow, and its ELBO falls (the MAP-learning failure of point-estimate EM). With
:func:`resample_state` the latent estimates jump to one reparameterized sample z ~ q at each
item's end and the error neurons take their equilibrium there; the same local rules then
follow E_q[∇ log p(x, z)], the ELBO's gradient with respect to the generative weights (the
decoder gradient of a VAE with this q; Kingma & Welling 2014). Neural variability as
posterior sampling: Hoyer & Hyvärinen (2003), Orbán et al. (2016); Monte Carlo predictive
coding, Oliviers, Bogacz & Meulemans (2024).
"""
from __future__ import annotations

import numpy as np

from .energy import current_estimates, current_gains, equilibrium_errors, free_energy_by_level
from .gaussian import laplace_precision, latent_index
from .validation import choice, random_generator

__all__ = ["COVARIANCES", "LEARN_AT", "check_resampling", "elbo", "posterior_scale", "resample_state", "sample"]

#: The Gaussian families q of :func:`sample` and :func:`elbo`.
COVARIANCES = ("mean-field", "laplace")

#: Where item-end learning reads the state: the settled estimates, or a sample of q around them.
LEARN_AT = ("settled", *COVARIANCES)


def posterior_scale(graph, estimates: dict, gains: dict, covariance: str = "mean-field") -> np.ndarray:
    """The scale of q over the stacked latent estimates: σ (n,) for "mean-field", the Cholesky
    factor L (n, n) of H⁻¹ for "laplace"; H at ``estimates`` ({name: μ}) with ``gains``. For
    estimates of a batch ({name: (B, size)}): (B, n) or (B, n, n)."""
    choice(covariance, COVARIANCES, "covariance")
    H = laplace_precision(graph, estimates, gains)
    if covariance == "mean-field":
        return 1 / np.sqrt(np.diagonal(H, axis1=-2, axis2=-1))
    try:
        return np.linalg.cholesky(np.linalg.inv(H))
    except np.linalg.LinAlgError:
        raise ValueError("the Laplace precision H is singular at the current estimates (a latent "
                         "no error constrains); use covariance='mean-field'") from None


def _draw(graph, estimates, gains, samples: int, rng, covariance: str):
    """(index, draws (..., samples, n), scale, entropy (...,)) of q around ``estimates``."""
    index = latent_index(graph)
    mean = np.concatenate([estimates[name] for name in index], axis=-1)
    scale = posterior_scale(graph, estimates, gains, covariance)
    mean_field = scale.ndim == mean.ndim
    noise = rng.standard_normal((*mean.shape[:-1], samples, mean.shape[-1]))
    draws = mean[..., None, :] + (noise * scale[..., None, :] if mean_field else noise @ np.swapaxes(scale, -1, -2))
    log_det = 2 * np.sum(np.log(scale if mean_field else np.diagonal(scale, axis1=-2, axis2=-1)), axis=-1)
    entropy = 0.5 * (mean.shape[-1] * np.log(2 * np.pi * np.e) + log_det)
    return index, draws, scale, entropy


def sample(graph, estimates: dict, gains: dict, samples: int, seed=None, covariance: str = "mean-field") -> dict:
    """``samples`` reparameterized draws z = μ + σ ⊙ γ (or μ + L γ) of every free latent column
    around ``estimates`` ({name: μ} of every column, with attention ``gains``),
    {name: (samples, size)}; for a batch of estimates ({name: (B, size)}), (B, samples, size)."""
    index, draws, _, _ = _draw(graph, estimates, gains, _count(samples), random_generator(seed), covariance)
    return {name: draws[..., s] for name, s in index.items()}


def elbo(graph, estimates: dict, gains: dict, samples: int = 1000, seed=None, covariance: str = "mean-field",
         method: str = "monte-carlo") -> tuple:
    """(ELBO, its standard error) of q around ``estimates`` ({name: μ} of every column, with
    attention ``gains``); the closed form (``method="closed-form"``, linear circuits only) has
    standard error 0. For a batch of estimates ({name: (B, size)}): one value and standard
    error per copy, arrays (B,)."""
    choice(method, ("monte-carlo", "closed-form"), "method")
    rng = random_generator(seed)
    index, draws, scale, entropy = _draw(graph, estimates, gains, _count(samples), rng, covariance)
    batched = draws.ndim == 3
    if method == "closed-form":
        nonlinear = [p for p in graph.projections if not p.linear]
        if nonlinear:
            raise ValueError(f"the closed-form ELBO needs linear projections ({nonlinear[0]} is not); "
                             f"use method='monte-carlo'")
        H = laplace_precision(graph, estimates, gains)
        trace = (np.sum(np.diagonal(H, axis1=-2, axis2=-1) * scale ** 2, axis=-1) if scale.ndim == draws.ndim - 1
                 else np.sum(H * (scale @ np.swapaxes(scale, -1, -2)), axis=(-2, -1)))
        energy = sum(free_energy_by_level(graph.columns.values(), estimates, gains).values())
        value = -energy - 0.5 * trace + entropy
        return (value, np.zeros_like(value)) if batched else (float(value), 0.0)
    sampled = {name: np.asarray(values, dtype=float)[..., None, :] for name, values in estimates.items()}
    sampled.update({name: draws[..., s] for name, s in index.items()})
    gains = {name: np.asarray(gain)[..., None, :] for name, gain in (gains or {}).items()}
    energies = sum(free_energy_by_level(graph.columns.values(), sampled, gains).values())
    log_joint = -np.broadcast_to(energies, draws.shape[:-1])
    value = log_joint.mean(axis=-1) + entropy
    error = log_joint.std(axis=-1, ddof=1) / np.sqrt(draws.shape[-2])
    return (value, error) if batched else (float(value), float(error))


def check_resampling(graph):
    """Refuse circuits whose error neurons :func:`resample_state` cannot set to equilibrium, or
    whose posterior has no Gaussian q to sample (a free column with a sparse prior)."""
    special = [c.name for c in graph.columns.values() if c.learn_covariance or c.flow]
    if special:
        raise ValueError(f"learn_at: columns {special} learn their covariance through interneurons or are "
                         f"whitening columns; learning from samples needs plain error neurons "
                         f"(ε = Σ⁻¹(μ − g)); use learn_at='settled'")
    sparse = [c.name for c in graph.columns.values() if not c.clamped and c.prior != "gaussian"]
    if sparse:
        raise ValueError(f"learn_at: columns {sparse} have sparse priors, whose posterior has no Gaussian "
                         f"(Laplace) q to sample; use learn_at='settled' (or prior='gaussian')")


def resample_state(graph, batch, rng, covariance: str = "laplace"):
    """Hold every free latent column at one reparameterized sample z ~ q (``covariance``: the
    family of q) around its current estimates, in every copy of ``batch``, and every error
    neuron at its equilibrium Π'(μ − g) there. Returns a function that puts the state back."""
    estimates, gains = current_estimates(graph, batch), current_gains(graph, batch)
    index, draws, _, _ = _draw(graph, estimates, gains, 1, rng, covariance)
    saved = [(c.state.estimate.copy(), c.state.error_neurons.copy()) for c in graph.columns.values()]
    sampled = dict(estimates)
    sampled.update({name: draws[..., 0, s] for name, s in index.items()})
    errors = equilibrium_errors(graph.columns.values(), sampled, gains)
    for name, column in graph.columns.items():
        column.state.estimate[:] = np.reshape(sampled[name], -1)
        if name in errors:
            column.state.set_error(np.reshape(errors[name], -1))

    def restore():
        for column, (estimate, error_neurons) in zip(graph.columns.values(), saved):
            column.state.estimate[:], column.state.error_neurons[:] = estimate, error_neurons

    return restore


def _count(samples) -> int:
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 2:
        raise ValueError(f"samples must be an integer ≥ 2, got {samples!r}")
    return int(samples)
