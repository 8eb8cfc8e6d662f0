"""An independent NumPy reference of predictive-coding rate dynamics (tests and benchmarks only).

Written from Bogacz (2017), eqs. 12–14 in multivariate form, not from the package's
equation strings:

    ε_ℓ ← ε_ℓ + dt/τ_ε · (μ_ℓ − Σ_p W_p f_p(μ_p) − b_ℓ − m_ℓ − Σ_ℓ ε_ℓ)
    μ_ℓ ← μ_ℓ + dt/τ_μ · (−ε_ℓ + Σ_k f_k'(μ_ℓ) ⊙ W_kᵀ ε_k)       (latent levels)
    μ_0 = x[n]                                                     (sensory levels)

Every right-hand side reads the state at the start of the step (forward Euler). Row n of the
result is the state at the start of step n, after μ_0 was set to x[n].
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Level:
    size: int
    covariance: np.ndarray
    prior_mean: np.ndarray | None = None
    sensory: bool = False


@dataclass
class Edge:
    upper: str
    lower: str
    weights: np.ndarray
    f: callable = lambda v: v
    fprime: callable = lambda v: np.ones_like(v)
    bias: np.ndarray | float = 0.0


@dataclass
class Model:
    levels: dict
    edges: list = field(default_factory=list)


def simulate(model: Model, stimulus: dict, steps: int, dt: float, tau_estimate: float,
             tau_error: float, initial: dict | None = None):
    """Forward-Euler trajectories; ``stimulus[name]`` is (steps, size) for each sensory level.

    Returns (estimates, errors, final): trajectories as dicts of (steps, size) arrays, and the
    estimates after the last step.
    """
    mu = {name: (np.zeros(level.size) if level.sensory or level.prior_mean is None
                 else np.array(level.prior_mean, dtype=float))
          for name, level in model.levels.items()}
    if initial:
        mu.update({k: np.array(v, dtype=float) for k, v in initial.items()})
    eps = {name: np.zeros(level.size) for name, level in model.levels.items()}
    record_mu = {name: np.empty((steps, level.size)) for name, level in model.levels.items()}
    record_eps = {name: np.empty((steps, level.size)) for name, level in model.levels.items()}
    for n in range(steps):
        for name, level in model.levels.items():
            if level.sensory:
                mu[name] = np.array(stimulus[name][n], dtype=float)
            record_mu[name][n] = mu[name]
            record_eps[name][n] = eps[name]
        new_mu, new_eps = {}, {}
        for name, level in model.levels.items():
            prediction = np.zeros(level.size) if level.prior_mean is None else np.array(level.prior_mean, float)
            for edge in model.edges:
                if edge.lower == name:
                    prediction = prediction + edge.weights @ edge.f(mu[edge.upper]) + edge.bias
            new_eps[name] = eps[name] + dt / tau_error * (mu[name] - prediction - level.covariance @ eps[name])
            if level.sensory:
                new_mu[name] = mu[name]
            else:
                drive = -eps[name]
                for edge in model.edges:
                    if edge.upper == name:
                        drive = drive + edge.fprime(mu[name]) * (edge.weights.T @ eps[edge.lower])
                new_mu[name] = mu[name] + dt / tau_estimate * drive
        mu, eps = new_mu, new_eps
    return record_mu, record_eps, mu
