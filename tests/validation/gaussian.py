"""Closed-form inference in linear Gaussian hierarchies via the joint Gaussian (tests only).

The hierarchy is a linear structural equation model z = B z + c + e, e ~ N(0, blockdiag Σ_ℓ),
so the joint of all levels is N(A c, A D Aᵀ) with A = (I − B)⁻¹. Conditioning that joint on the
sensory levels gives the exact posterior; this is independent of the free-energy gradient
that the circuit follows.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import multivariate_normal


def joint_gaussian(model):
    names = list(model.levels)
    sizes = [model.levels[n].size for n in names]
    starts = dict(zip(names, np.cumsum([0] + sizes[:-1])))
    total = sum(sizes)
    B = np.zeros((total, total))
    c = np.zeros(total)
    D = np.zeros((total, total))
    for name in names:
        level = model.levels[name]
        s = slice(starts[name], starts[name] + level.size)
        D[s, s] = level.covariance
        if level.prior_mean is not None:
            c[s] += level.prior_mean
    for edge in model.edges:
        lo = slice(starts[edge.lower], starts[edge.lower] + model.levels[edge.lower].size)
        up = slice(starts[edge.upper], starts[edge.upper] + model.levels[edge.upper].size)
        B[lo, up] = edge.weights
        c[lo] += edge.bias
    A = np.linalg.inv(np.eye(total) - B)
    slices = {n: slice(starts[n], starts[n] + model.levels[n].size) for n in names}
    return A @ c, A @ D @ A.T, slices


def posterior_mean(model, observations: dict) -> dict:
    """E[z_latent | x] for every latent level."""
    mean, cov, slices = joint_gaussian(model)
    observed = np.concatenate([np.arange(slices[n].start, slices[n].stop) for n in observations])
    latent_names = [n for n in model.levels if n not in observations]
    latent = np.concatenate([np.arange(slices[n].start, slices[n].stop) for n in latent_names])
    x = np.concatenate([np.asarray(observations[n], float) for n in observations])
    gain = cov[np.ix_(latent, observed)] @ np.linalg.inv(cov[np.ix_(observed, observed)])
    post = mean[latent] + gain @ (x - mean[observed])
    out, k = {}, 0
    for n in latent_names:
        out[n] = post[k:k + model.levels[n].size]
        k += model.levels[n].size
    return out


def log_joint(model, values: dict) -> float:
    """log p(x, z) of the joint Gaussian at the given values of every level."""
    mean, cov, slices = joint_gaussian(model)
    vector = np.concatenate([np.asarray(values[n], float) for n in model.levels])
    return float(multivariate_normal(mean, cov).logpdf(vector))

