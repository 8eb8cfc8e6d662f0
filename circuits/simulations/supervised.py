"""Supervised predictive coding (Whittington & Bogacz 2017) and the network it approximates.

A feed-forward network h_k+1 = W_k f_k(h_k) + b_k (input h_0 = x, output h_L = ŷ; f_0 linear,
tanh above) is the generative model of a predictive-coding circuit read top-down: the input
column sits at the top and predicts the first hidden column, which predicts the next, down to
the output column. Training clamps the input and the label (:meth:`Circuit.clamp`); the
hidden estimates settle, and each projection learns locally, ΔW_k = α ε_k+1 f(μ_k)ᵀ,
Δb_k = α ε_k+1. At test the output column is released: with ε = 0 everywhere the circuit
settles on the forward pass, and the output estimates are the network's prediction.

Whittington & Bogacz's result: with output variance Σ_L large against the hidden variances, the
settled errors approach the backpropagated ones, ε_k ≈ δ_k / Σ_L, so Σ_L ΔW_k/α approaches
−∂L/∂W_k for the squared loss L = ½ |y − ŷ|² (averaged over a batch).

:func:`train_backprop` is that network trained by backpropagation (the machine-learning
baseline of ``pcsim run digits-classification``).
"""
from __future__ import annotations

import numpy as np
from brian2 import ms

from ..circuit import Circuit

__all__ = ["build_circuit", "forward", "backprop_gradients", "layer_names", "train_backprop"]

#: Time constants of the supervised circuits (dt is chosen per circuit).
TAU_ESTIMATE, TAU_ERROR = 10 * ms, 2 * ms


def layer_names(layers: int) -> list[str]:
    """Column names from the input (top) to the output (bottom) for ``layers`` layers."""
    return ["input"] + [f"hidden{k}" for k in range(1, layers - 1)] + ["output"]


def activation(k: int) -> str:
    """f_k of the projection from layer k: linear on the input, tanh above it."""
    return "linear" if k == 0 else "tanh"


def build_circuit(weights, biases, output_variance=1.0, batch_size=None, dt=0.5 * ms, learning_rate=0.0,
                  learn=True, tau_estimate=TAU_ESTIMATE, tau_error=TAU_ERROR) -> Circuit:
    """The predictive-coding circuit of the network with ``weights`` W_k (n_k+1, n_k) and
    ``biases``: hidden variances 1, the output's ``output_variance``; the input column
    clamped. With ``learn``, every projection learns W and b at ``learning_rate``."""
    names = layer_names(len(weights) + 1)
    sizes = [weights[0].shape[1]] + [w.shape[0] for w in weights]
    circuit = Circuit(dt=dt, tau_estimate=tau_estimate, tau_error=tau_error, batch_size=batch_size)
    for k, (name, size) in enumerate(zip(names, sizes)):
        circuit.column(name, size, covariance=output_variance if k == len(names) - 1 else 1.0)
    for k, (w, b) in enumerate(zip(weights, biases)):
        circuit.connect(names[k], names[k + 1], w, activation=activation(k), bias=b, plastic=learn,
                        learn_bias=learn, learning_rate=learning_rate)
    circuit.clamp("input")
    return circuit


def stable_dt(output_variance: float, tau_error=TAU_ERROR):
    """A step keeping forward Euler stable and smooth for the output's error neurons:
    dt·Σ/τ_ε ≤ 0.5 (and dt ≤ τ_ε/20)."""
    return min(tau_error / 20, 0.5 * tau_error / output_variance)


def _tanh_gain(h):
    return 1 - np.tanh(h) ** 2


def forward(weights, biases, x) -> list[np.ndarray]:
    """Layer values h_0 = x, …, h_L = ŷ of the network for inputs x (B, n_0)."""
    layers = [np.asarray(x, float)]
    for k, (w, b) in enumerate(zip(weights, biases)):
        rate = layers[-1] if k == 0 else np.tanh(layers[-1])
        layers.append(rate @ w.T + b)
    return layers


def backprop_gradients(weights, biases, x, y):
    """(∂L/∂W_k, ∂L/∂b_k) of L = mean over the batch of ½ |y − ŷ|², by backpropagation."""
    layers = forward(weights, biases, x)
    delta = (layers[-1] - y) / len(x)
    grads_w, grads_b = [], []
    for k in range(len(weights) - 1, -1, -1):
        rate = layers[k] if k == 0 else np.tanh(layers[k])
        grads_w.insert(0, delta.T @ rate)
        grads_b.insert(0, delta.sum(axis=0))
        if k:
            delta = (delta @ weights[k]) * _tanh_gain(layers[k])
    return grads_w, grads_b


def train_backprop(weights, biases, batches, learning_rate: float, evaluate=None):
    """Minibatch gradient descent from copies of ``weights``/``biases`` over ``batches``
    [(x, y), …] per epoch (a list of epochs); ``evaluate(weights, biases)`` is called after
    every epoch. Returns (weights, biases, [evaluate results])."""
    weights, biases = [w.copy() for w in weights], [b.copy() for b in biases]
    history = []
    for epoch in batches:
        for x, y in epoch:
            grads_w, grads_b = backprop_gradients(weights, biases, x, y)
            for w, b, gw, gb in zip(weights, biases, grads_w, grads_b):
                w -= learning_rate * gw
                b -= learning_rate * gb
        if evaluate is not None:
            history.append(evaluate(weights, biases))
    return weights, biases, history
