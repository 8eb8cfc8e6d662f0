"""Priors on a latent column's estimates: Gaussian (the default), Laplace and Cauchy.

Every latent column has the Gaussian prior of the hierarchy, p(μ_ℓ | μ_ℓ+1) = N(g_ℓ, Σ_ℓ)
(g_ℓ the prediction from above, or the prior mean m of a top column). A **sparse prior**
multiplies it by a factor per estimate neuron (Rao & Ballard 1999; Olshausen & Field 1996)::

    p(μ_ℓ | μ_ℓ+1) ∝ N(μ_ℓ; g_ℓ, Σ_ℓ) · Π_i exp(−α φ(μ_ℓ,i))

which adds the penalty α Σ_i φ(μ_i) to the free energy and −α φ'(μ) to the estimate neurons'
drive (:mod:`populations.estimate`):

========== ===================== ======================= =====================================
prior       φ(μ)                  φ'(μ)                   the factor exp(−α φ)
========== ===================== ======================= =====================================
gaussian    —                     —                       none: the Gaussian prior alone
laplace     |μ|                   sign(μ)                 Laplace (double exponential), scale 1/α
cauchy      log(1 + μ²)           2μ / (1 + μ²)           (1 + μ²)^−α: Cauchy for α = 1, the
                                                          kurtotic prior of Rao & Ballard (1999)
========== ===================== ======================= =====================================

φ'(μ) of the Laplace prior is a subgradient (sign(0) = 0): under forward Euler an estimate
that the data do not pull away from zero chatters around it with amplitude α dt/τ_μ.
A column with ``flat_prior=True`` has no Gaussian factor: its prior is the sparse factor alone.

Each φ is one pair of Brian2 expressions in ``x`` (φ, φ'); the NumPy twins used by the free
energy come from the same strings (:class:`~populations.activations.Activation`).
"""
from __future__ import annotations

from .activations import Activation

__all__ = ["PRIORS", "prior_shape"]

#: The priors a latent column accepts; the sparse ones map to their penalty φ and its φ'.
PRIORS = {
    "gaussian": None,
    "laplace": Activation("abs(x)", "sign(x)", "laplace"),
    "cauchy": Activation("log(1 + x**2)", "2*x/(1 + x**2)", "cauchy"),
}


def prior_shape(prior: str) -> Activation | None:
    """The penalty φ with its derivative φ' of ``prior`` (None for the Gaussian prior alone)."""
    try:
        return PRIORS[prior]
    except (KeyError, TypeError):
        raise ValueError(f"prior must be one of {sorted(PRIORS)}, got {prior!r}") from None
