"""Generalized coordinates of motion (Friston 2008; Friston, Stephan, Li & Daunizeau 2010).

A column of embedding order n carries its estimate as μ̃ = (μ, μ′, μ″, …, μ⁽ⁿ⁻¹⁾), stacked
order-major: neurons ``[k * state_size : (k + 1) * state_size]`` hold the k-th derivative.
Its estimates follow a gradient descent in a moving frame of reference::

    dμ̃/dt = D μ̃ − ∂F/∂μ̃            (D: the shift operator, (D μ̃)_k = μ⁽ᵏ⁺¹⁾, top order 0)

so that at the optimum the estimate's motion equals its estimated velocity (μ̇ = μ′).

Fluctuations are analytic with a Gaussian autocorrelation ρ(h) = exp(−h² / (4 s²)) of
smoothness s. The covariance of the generalized fluctuations is S(s) ⊗ Σ with
``S_ij = (−1)^i ρ⁽ⁱ⁺ʲ⁾(0)`` (0 when i + j is odd), ρ⁽²ᵏ⁾(0) = (−1)ᵏ (2k − 1)!! / (2 s²)ᵏ, and the
generalized precision is S(s)⁻¹ ⊗ Π. For s = 1 and n = 3, S⁻¹ = [[1.5, 0, 1], [0, 2, 0], [1, 0, 2]].

A column with ``dynamics`` A (hidden states x′ = A x + noise) compares the motion of its
estimate with the flow at every order but the highest (whose motion is not represented)::

    ε_x = Π̃_x (D μ̃ − (I ⊗ A) μ̃)[orders 0 … n − 2]

so it has (n − 1) × state_size error neurons, with covariance S_{n−1}(s) ⊗ Σ.
"""
from __future__ import annotations

import numpy as np

__all__ = ["temporal_covariance", "temporal_precision", "shift_operator", "embed"]


def _autocorrelation_derivative(order: int, smoothness: float) -> float:
    """ρ⁽ᵏ⁾(0) of ρ(h) = exp(−h² / (4 s²))."""
    if order % 2:
        return 0.0
    half = order // 2
    return (-1) ** half * float(np.prod(np.arange(1, order, 2))) / (2 * smoothness ** 2) ** half


def temporal_covariance(order: int, smoothness: float) -> np.ndarray:
    """S(s), shape (order, order): covariance of (w, w′, …, w⁽ⁿ⁻¹⁾) for unit-variance noise w
    of smoothness ``smoothness`` s (seconds, the width of its Gaussian autocorrelation)."""
    _check(order, smoothness)
    return np.array([[(-1) ** i * _autocorrelation_derivative(i + j, smoothness) for j in range(order)]
                     for i in range(order)])


def temporal_precision(order: int, smoothness: float) -> np.ndarray:
    """S(s)⁻¹, the temporal part of the generalized precision S⁻¹ ⊗ Π."""
    return np.linalg.inv(temporal_covariance(order, smoothness))


def shift_operator(order: int) -> np.ndarray:
    """D, shape (order, order): ones on the superdiagonal, (D μ̃)_k = μ⁽ᵏ⁺¹⁾."""
    _check(order, 1.0)
    return np.eye(order, k=1)


def embed(signal, order: int, dt) -> np.ndarray:
    """A sampled signal in generalized coordinates, for a stimulus of an order-``order`` column.

    ``signal``: array (T,) or (T, size) sampled every ``dt`` (a Brian2 time or seconds).
    Returns (T, order × size), order-major, the derivatives taken by repeated central
    differences (``numpy.gradient``, per second). Numerical derivatives amplify noise: pass
    analytic derivatives when you have them.
    """
    values = np.asarray(signal, dtype=float)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2 or len(values) < 3:
        raise ValueError(f"signal must be (T,) or (T, size) with T ≥ 3, got shape {np.shape(signal)}")
    step = float(dt)
    if not step > 0:
        raise ValueError(f"dt must be positive, got {dt!r}")
    _check(order, 1.0)
    derivatives = [values]
    for _ in range(order - 1):
        derivatives.append(np.gradient(derivatives[-1], step, axis=0))
    return np.concatenate(derivatives, axis=1)


def _check(order, smoothness):
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order < 1:
        raise ValueError(f"order must be an integer ≥ 1 (1: no generalized coordinates), got {order!r}")
    if isinstance(smoothness, bool) or not isinstance(smoothness, (int, float, np.number)) \
            or not np.isfinite(smoothness) or smoothness <= 0:
        raise ValueError(f"smoothness must be a positive number of seconds, got {smoothness!r}")
