"""Shared helpers: build a Circuit from a reference model, and random well-posed models."""
from __future__ import annotations

import numpy as np
import pytest
from brian2 import ms

from circuits import Circuit
from tests.reference import DeepEdge, Edge, Level, Model

#: NumPy activations written independently of populations/activations.py (derivatives by hand).
NUMPY_ACTIVATIONS = {
    "linear": (lambda v: v, lambda v: np.ones_like(v)),
    "tanh": (np.tanh, lambda v: 1.0 / np.cosh(v) ** 2),
    "sigmoid": (lambda v: 1 / (1 + np.exp(-v)), lambda v: np.exp(v) / (1 + np.exp(v)) ** 2),
    "softplus": (lambda v: np.log1p(np.exp(v)), lambda v: 1 / (1 + np.exp(-v))),
    "relu": (lambda v: np.maximum(v, 0), lambda v: (v > 0).astype(float)),
}


def edge(upper, lower, weights, activation="linear", bias=0.0):
    f, fprime = NUMPY_ACTIVATIONS[activation]
    e = Edge(upper, lower, np.asarray(weights, float), f, fprime, bias)
    e.activation = activation
    return e


def deep_edge(upper, lower, weights, activations, biases, learning_rate=0.0, learn_bias=False):
    """A reference DeepEdge with the hand-written NumPy activations named in ``activations``."""
    pairs = [NUMPY_ACTIVATIONS[name] for name in activations]
    e = DeepEdge(upper, lower, [np.asarray(w, float) for w in weights], [f for f, _ in pairs],
                 [fp for _, fp in pairs], [np.asarray(c, float) for c in biases], learning_rate, learn_bias)
    e.activation = list(activations)
    return e


def build_circuit(model: Model, backend="dense", errors="signed", **kwargs) -> Circuit:
    """The Circuit with the same levels and edges as the reference ``model`` (every column
    with ``errors`` "signed" or "rectified"; deep edges become deep projections, plastic if
    their learning rate is set)."""
    circuit = Circuit(backend=backend, **kwargs)
    for name, level in model.levels.items():
        if level.sensory:
            circuit.sensory(name, level.size, covariance=level.covariance, errors=errors)
        else:
            prior = 0.0 if level.prior_mean is None else level.prior_mean
            circuit.column(name, level.size, covariance=level.covariance, prior_mean=prior, errors=errors)
    for e in model.edges:
        if isinstance(e, DeepEdge):
            circuit.connect(e.upper, e.lower, weights=e.weights, activation=e.activation, bias=e.biases,
                            plastic=bool(e.learning_rate), learning_rate=e.learning_rate, learn_bias=e.learn_bias)
        else:
            circuit.connect(e.upper, e.lower, weights=e.weights, activation=getattr(e, "activation", "linear"),
                            bias=e.bias)
    return circuit


def random_covariance(rng, size, low=0.5, high=2.0):
    """A full SPD matrix with eigenvalues in [low, high]."""
    q, _ = np.linalg.qr(rng.normal(size=(size, size)))
    return q @ np.diag(rng.uniform(low, high, size)) @ q.T


def random_linear_hierarchy(rng, sizes, activation="linear"):
    """A chain x ← z1 ← … ← zL with random W (scaled to keep the posterior well conditioned),
    full covariances, biases, and a prior mean at the top."""
    names = ["x"] + [f"z{k}" for k in range(1, len(sizes))]
    levels = {}
    for k, (name, size) in enumerate(zip(names, sizes)):
        levels[name] = Level(size, random_covariance(rng, size), sensory=(k == 0),
                             prior_mean=rng.normal(size=size) if k == len(sizes) - 1 else None)
    edges = [edge(names[k + 1], names[k], rng.normal(size=(sizes[k], sizes[k + 1])) / np.sqrt(sizes[k + 1]),
                  activation, bias=rng.normal(size=sizes[k]) * 0.3)
             for k in range(len(sizes) - 1)]
    return Model(levels, edges)


@pytest.fixture
def rng():
    return np.random.default_rng(20171)


DT = 0.1 * ms
