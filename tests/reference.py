"""An independent NumPy reference of predictive-coding rate dynamics and learning (tests and
benchmarks only).

Written from Bogacz (2017), eqs. 12–14 and 59–63 in multivariate form, not from the package's
equation strings:

    ε_ℓ ← ε_ℓ + dt/τ_ε · (μ_ℓ − Σ_p W_p f_p(μ_p) − b_ℓ − m_ℓ − Σ_ℓ ε_ℓ)
          (with interneurons a_ℓ:  ε_ℓ ← ε_ℓ + dt/τ_ε (μ_ℓ − g_ℓ − a_ℓ),  a_ℓ ← a_ℓ + dt/τ_ε (Σ_ℓ ε_ℓ − a_ℓ))
    μ_ℓ ← μ_ℓ + dt/τ_μ · (−ε_ℓ + Σ_k f_k'(μ_ℓ) ⊙ W_kᵀ ε_k)       (latent levels)
    μ_0 = x[n]                                                     (sensory levels)
    learning, scale s (dt/τ_μ per step, or 1 at an item's end):
    W ← W + s α (ε_lower f(μ_upper)ᵀ − λ W),   Σ ← floor(Σ + s α ((ε aᵀ + a εᵀ)/2 − I))

A deep edge (issue 13; a small network as the prediction, Marino 2022 §5) predicts h_K with
h_1 = V_1 f_1(μ_upper) + c_1, h_k = V_k f_k(h_k−1) + c_k, and drives the upper estimate with
the chain rule written out by hand: δ_K = ε_lower, δ_k = f'_k+1(h_k) ⊙ V_k+1ᵀ δ_k+1, drive
f'_1(μ) ⊙ V_1ᵀ δ_1; it learns V_k ← V_k + s α δ_k f_k(h_k−1)ᵀ (and c_k ← c_k + s α δ_k).

Every right-hand side reads the state at the start of the step (forward Euler). Row n of a
trajectory is the state at the start of step n, after μ_0 was set to x[n].
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
    learn_covariance: bool = False
    covariance_learning_rate: float = 0.0
    min_variance: float = 1e-3


@dataclass
class Edge:
    upper: str
    lower: str
    weights: np.ndarray
    f: callable = lambda v: v
    fprime: callable = lambda v: np.ones_like(v)
    bias: np.ndarray | float = 0.0
    learning_rate: float = 0.0      # 0: not plastic
    weight_decay: float = 0.0

    def predict(self, upper):
        return self.f(upper) @ np.transpose(self.weights) + self.bias

    def drive(self, upper, eps):
        return self.fprime(upper) * (eps @ self.weights)

    def learn(self, upper, eps, scale):
        hebbian = np.outer(eps, self.f(upper))
        self.weights = self.weights + scale * self.learning_rate * (hebbian - self.weight_decay * self.weights)


@dataclass
class DeepEdge:
    """A deep projection: lists of K weights V_k, activations f_k with derivatives, biases c_k."""
    upper: str
    lower: str
    weights: list
    fs: list
    fprimes: list
    biases: list
    learning_rate: float = 0.0      # 0: not plastic
    learn_bias: bool = False

    def layers(self, upper):
        """[h_1, …, h_K] for an estimate (size,) or rows (B, size)."""
        h, outputs = upper, []
        for V, f, c in zip(self.weights, self.fs, self.biases):
            h = f(h) @ V.T + c
            outputs.append(h)
        return outputs

    def predict(self, upper):
        return self.layers(upper)[-1]

    def deltas(self, upper, eps):
        hidden = self.layers(upper)[:-1]
        deltas = [eps]
        for k in range(len(self.weights) - 1, 0, -1):
            deltas.insert(0, self.fprimes[k](hidden[k - 1]) * (deltas[0] @ self.weights[k]))
        return deltas, [upper] + hidden

    def drive(self, upper, eps):
        deltas, _ = self.deltas(upper, eps)
        return self.fprimes[0](upper) * (deltas[0] @ self.weights[0])

    def learn(self, upper, eps, scale):
        deltas, inputs = self.deltas(upper, eps)
        step = scale * self.learning_rate
        self.weights = [V + step * np.outer(d, f(h)) for V, d, f, h in zip(self.weights, deltas, self.fs, inputs)]
        if self.learn_bias:
            self.biases = [c + step * d for c, d in zip(self.biases, deltas)]


@dataclass
class Model:
    levels: dict
    edges: list = field(default_factory=list)


@dataclass
class State:
    mu: dict
    eps: dict
    activity: dict


def initial_state(model: Model) -> State:
    mu = {name: (np.zeros(level.size) if level.sensory or level.prior_mean is None
                 else np.array(level.prior_mean, dtype=float))
          for name, level in model.levels.items()}
    zeros = {name: np.zeros(level.size) for name, level in model.levels.items()}
    return State(mu, dict(zeros), {k: v.copy() for k, v in zeros.items()})


def learn(model: Model, state: State, scale: float):
    """One update of every plastic edge and covariance-learning level, in place."""
    for edge in model.edges:
        if edge.learning_rate:
            edge.learn(state.mu[edge.upper], state.eps[edge.lower], scale)
    for name, level in model.levels.items():
        if level.learn_covariance:
            outer = np.outer(state.eps[name], state.activity[name])
            sigma = level.covariance + scale * level.covariance_learning_rate * (
                (outer + outer.T) / 2 - np.eye(level.size))
            values, vectors = np.linalg.eigh(sigma)
            level.covariance = vectors @ np.diag(np.maximum(values, level.min_variance)) @ vectors.T \
                if values.min() < level.min_variance else sigma


def simulate(model: Model, stimulus: dict, steps: int, dt: float, tau_estimate: float,
             tau_error: float, state: State | None = None, learn_continuously=False, gains=None, record=True):
    """Forward-Euler trajectories; ``stimulus[name]`` is (steps, size) for each sensory level;
    ``gains[name]`` (steps, size), optional, is the attention gain γ of a level: its error
    neurons then use the attended covariance Σ' = diag(γ)^-½ Σ diag(γ)^-½.

    Returns (estimates, errors, final): trajectories as dicts of (steps, size) arrays (empty
    without ``record``), and the estimates after the last step. ``state`` (updated in place)
    continues a previous run.
    """
    state = initial_state(model) if state is None else state
    rows = steps if record else 0
    record_mu = {name: np.empty((rows, level.size)) for name, level in model.levels.items()}
    record_eps = {name: np.empty((rows, level.size)) for name, level in model.levels.items()}
    for n in range(steps):
        for name, level in model.levels.items():
            if level.sensory:
                state.mu[name] = np.array(stimulus[name][n], dtype=float)
            if record:
                record_mu[name][n] = state.mu[name]
                record_eps[name][n] = state.eps[name]
        new_mu, new_eps, new_activity = {}, {}, {}
        for name, level in model.levels.items():
            mu, eps = state.mu[name], state.eps[name]
            prediction = np.zeros(level.size) if level.prior_mean is None else np.array(level.prior_mean, float)
            for edge in model.edges:
                if edge.lower == name:
                    prediction = prediction + edge.predict(state.mu[edge.upper])
            if level.learn_covariance:
                activity = state.activity[name]
                new_eps[name] = eps + dt / tau_error * (mu - prediction - activity)
                new_activity[name] = activity + dt / tau_error * (level.covariance @ eps - activity)
            else:
                covariance = level.covariance
                if gains and name in gains:
                    scale = 1 / np.sqrt(gains[name][n])
                    covariance = covariance * np.outer(scale, scale)
                new_eps[name] = eps + dt / tau_error * (mu - prediction - covariance @ eps)
                new_activity[name] = state.activity[name]
            if level.sensory:
                new_mu[name] = mu
            else:
                drive = -eps
                for edge in model.edges:
                    if edge.upper == name:
                        drive = drive + edge.drive(mu, state.eps[edge.lower])
                new_mu[name] = mu + dt / tau_estimate * drive
        if learn_continuously:
            learn(model, state, dt / tau_estimate)
        state.mu, state.eps, state.activity = new_mu, new_eps, new_activity
    return record_mu, record_eps, state.mu


def simulate_sequence(model: Model, stimuli: dict, steps_per_item: int, dt: float, tau_estimate: float,
                      tau_error: float, reset_between=True, learn_at_item_end=True):
    """Items one after another; returns the estimates at every item's end, {name: (K, size)}."""
    state = initial_state(model)
    items = len(next(iter(stimuli.values())))
    ends = {name: np.empty((items, level.size)) for name, level in model.levels.items()}
    for k in range(items):
        if reset_between:
            fresh = initial_state(model)
            for name, level in model.levels.items():
                if not level.sensory:
                    state.mu[name] = fresh.mu[name]
            state.eps, state.activity = fresh.eps, fresh.activity
        held = {name: np.tile(values[k], (steps_per_item, 1)) for name, values in stimuli.items()}
        simulate(model, held, steps_per_item, dt, tau_estimate, tau_error, state=state)
        for name in model.levels:
            ends[name][k] = state.mu[name]
        if learn_at_item_end:
            learn(model, state, 1.0)
    return ends


def simulate_batch(model: Model, stimulus: dict, steps: int, dt: float, tau_estimate: float,
                   tau_error: float) -> dict:
    """The same Euler steps (no learning, no attention, no interneurons) for B inputs at once:
    ``stimulus[name]`` is (B, size), held constant; states are (B, size) and every product is
    (B, n) @ Mᵀ. Returns the estimates after ``steps`` steps, {name: (B, size)}."""
    batch = len(next(iter(stimulus.values())))
    mu = {name: np.array(stimulus[name], float) if level.sensory else
          np.tile(np.zeros(level.size) if level.prior_mean is None else level.prior_mean, (batch, 1))
          for name, level in model.levels.items()}
    eps = {name: np.zeros((batch, level.size)) for name, level in model.levels.items()}
    for _ in range(steps):
        new_mu, new_eps = {}, {}
        for name, level in model.levels.items():
            prediction = np.zeros(level.size) if level.prior_mean is None else np.array(level.prior_mean, float)
            for edge in model.edges:
                if edge.lower == name:
                    prediction = prediction + edge.predict(mu[edge.upper])
            new_eps[name] = eps[name] + dt / tau_error * (mu[name] - prediction - eps[name] @ level.covariance.T)
            if level.sensory:
                new_mu[name] = mu[name]
            else:
                drive = -eps[name]
                for edge in model.edges:
                    if edge.upper == name:
                        drive = drive + edge.drive(mu[name], eps[edge.lower])
                new_mu[name] = mu[name] + dt / tau_estimate * drive
        mu, eps = new_mu, new_eps
    return mu


def simulate_rectified(model: Model, stimulus: dict, steps: int, dt: float, tau_estimate: float,
                       tau_error: float):
    """Rectified error pairs (no interneurons, no attention), written from README's equations:
    every level's errors are neurons ε+ = [v+]+ and ε− = [v−]+ with membranes

        v± ← v± + dt/τ_ε (−v± ± (e + μ − g − Σ e)),   e = ε+ − ε−,

    and the estimates read e, μ ← μ + dt/τ_μ (−e_ℓ + Σ_k f_k'(μ) ⊙ W_kᵀ e_k). Returns the
    trajectories (steps, size) of μ, ε+ and ε− ({name: ...} each), the state at the start of
    every step."""
    mu = {name: np.zeros(level.size) if level.sensory or level.prior_mean is None else np.array(level.prior_mean, float)
          for name, level in model.levels.items()}
    plus = {name: np.zeros(level.size) for name, level in model.levels.items()}
    minus = {name: np.zeros(level.size) for name, level in model.levels.items()}
    records = [{name: np.empty((steps, level.size)) for name, level in model.levels.items()} for _ in range(3)]
    for n in range(steps):
        rates = {}
        for name, level in model.levels.items():
            if level.sensory:
                mu[name] = np.array(stimulus[name][n], dtype=float)
            rates[name] = (np.maximum(plus[name], 0), np.maximum(minus[name], 0))
            for record, value in zip(records, (mu[name], *rates[name])):
                record[name][n] = value
        error = {name: positive - negative for name, (positive, negative) in rates.items()}
        new_mu = {}
        for name, level in model.levels.items():
            prediction = np.zeros(level.size) if level.prior_mean is None else np.array(level.prior_mean, float)
            drive = -error[name]
            for edge in model.edges:
                if edge.lower == name:
                    prediction = prediction + edge.weights @ edge.f(mu[edge.upper]) + edge.bias
                if edge.upper == name:
                    drive = drive + edge.fprime(mu[name]) * (edge.weights.T @ error[edge.lower])
            signed_drive = error[name] + mu[name] - prediction - level.covariance @ error[name]
            plus[name] = plus[name] + dt / tau_error * (-plus[name] + signed_drive)
            minus[name] = minus[name] + dt / tau_error * (-minus[name] - signed_drive)
            new_mu[name] = mu[name] if level.sensory else mu[name] + dt / tau_estimate * drive
        mu = new_mu
    return tuple(records)
# -- supervised networks (Whittington & Bogacz 2017), written per sample from the chain rule ------

def mlp_layers(weights, biases, x):
    """One input x (n_0,): the values h_0 = x, h_k+1 = W_k g_k(h_k) + b_k with g_0 the identity
    and g_k = tanh above, returned as a list."""
    values = [np.asarray(x, dtype=float)]
    for k in range(len(weights)):
        presynaptic = values[k] if k == 0 else np.tanh(values[k])
        values.append(weights[k] @ presynaptic + biases[k])
    return values


def mlp_gradients(weights, biases, inputs, targets):
    """∂L/∂W_k and ∂L/∂b_k of L = (1/B) Σ_b ½ |y_b − ŷ_b|², one sample at a time: the output
    error e = ŷ − y is sent back through e ← (W_kᵀ e) · tanh'(h_k)."""
    grads_w = [np.zeros_like(w) for w in weights]
    grads_b = [np.zeros_like(b) for b in biases]
    for x, y in zip(inputs, targets):
        values = mlp_layers(weights, biases, x)
        error = values[-1] - y
        for k in reversed(range(len(weights))):
            presynaptic = values[k] if k == 0 else np.tanh(values[k])
            grads_w[k] += np.outer(error, presynaptic) / len(inputs)
            grads_b[k] += error / len(inputs)
            if k > 0:
                error = (weights[k].T @ error) * (1.0 / np.cosh(values[k]) ** 2)
    return grads_w, grads_b


def mlp_train(weights, biases, minibatches, learning_rate):
    """Gradient descent on each (inputs, targets) minibatch in turn, from copies of the
    parameters; returns the trained (weights, biases)."""
    weights, biases = [np.array(w, float) for w in weights], [np.array(b, float) for b in biases]
    for inputs, targets in minibatches:
        grads_w, grads_b = mlp_gradients(weights, biases, inputs, targets)
        weights = [w - learning_rate * g for w, g in zip(weights, grads_w)]
        biases = [b - learning_rate * g for b, g in zip(biases, grads_b)]
    return weights, biases
