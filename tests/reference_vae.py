"""An independent NumPy variational autoencoder trained by exact gradients (tests, and the
reference beside ``pcsim run digits-vae``).

Written from Kingma & Welling (2014) and Kingma & Ba (2015), not from the package:

    decoder   p(z) = N(0, I),  p(x | z) = N(g(z), σ² I),  g(z) = V₂ tanh(V₁ z + c₁) + c₂
    encoder   q(z | x) = N(m(x), diag s²(x)),  a = tanh(U₁ x + a₁),
              m = U_m a + a_m,  log s² = U_s a + a_s
    ELBO(x) = E_q[log p(x | z)] − KL(q ‖ p),   KL = ½ Σ (m² + s² − 1 − log s²)

trained on minibatches with one reparameterized sample z = m + s ⊙ γ per input, every
gradient written out by the chain rule, and Adam (β₁ = 0.9, β₂ = 0.999, ε = 1e-8). The test
ELBO is estimated by Monte Carlo over the reconstruction term with the KL in closed form.

The decoder has the same architecture as a circuit's deep projection with activations
[linear, tanh] (h₁ = V₁ z + c₁, g = V₂ tanh(h₁) + c₂); the encoder's hidden layer the same as
a deep encoder's [linear, tanh] first layer.
"""
from __future__ import annotations

import numpy as np


class ReferenceVAE:
    """A VAE with a one-hidden-layer decoder (``hidden`` tanh units) and encoder (``encoder_hidden``)."""

    def __init__(self, inputs: int, latents: int, hidden: int, encoder_hidden: int, variance: float,
                 seed: int = 0, mean=None):
        rng = np.random.default_rng(seed)

        def draw(rows, columns, scale=1.0):
            return rng.normal(size=(rows, columns)) * scale / np.sqrt(columns)

        self.variance = variance
        self.params = {"V1": draw(hidden, latents), "c1": np.zeros(hidden), "V2": draw(inputs, hidden),
                       "c2": np.zeros(inputs) if mean is None else np.array(mean, float),
                       "U1": draw(encoder_hidden, inputs), "a1": np.zeros(encoder_hidden),
                       "Um": draw(latents, encoder_hidden, 0.1), "am": np.zeros(latents),
                       "Us": draw(latents, encoder_hidden, 0.1), "as": np.zeros(latents)}

    # -- the model -------------------------------------------------------------------------------
    def decode(self, z):
        p = self.params
        hidden = np.tanh(z @ p["V1"].T + p["c1"])
        return hidden, hidden @ p["V2"].T + p["c2"]

    def encode(self, x):
        p = self.params
        hidden = np.tanh(x @ p["U1"].T + p["a1"])
        return hidden, hidden @ p["Um"].T + p["am"], hidden @ p["Us"].T + p["as"]

    def loss_and_gradients(self, x, rng):
        """(−ELBO averaged over the batch, one reparameterized sample; gradients of it)."""
        p, n, inputs = self.params, len(x), x.shape[1]
        encoded, mean, log_variance = self.encode(x)
        scale = np.exp(0.5 * log_variance)
        noise = rng.standard_normal(mean.shape)
        z = mean + scale * noise
        decoded, g = self.decode(z)
        residual = x - g
        loss = (0.5 * np.sum(residual ** 2) / self.variance / n + 0.5 * inputs * np.log(2 * np.pi * self.variance)
                + 0.5 * np.sum(mean ** 2 + scale ** 2 - 1 - log_variance) / n)
        grads = {}
        d_g = -residual / self.variance / n                       # ∂loss/∂g
        grads["V2"], grads["c2"] = d_g.T @ decoded, d_g.sum(0)
        d_h1 = (d_g @ p["V2"]) * (1 - decoded ** 2)              # through tanh
        grads["V1"], grads["c1"] = d_h1.T @ z, d_h1.sum(0)
        d_z = d_h1 @ p["V1"]
        d_mean = d_z + mean / n                                  # reconstruction + KL
        d_log_variance = d_z * noise * 0.5 * scale + 0.5 * (scale ** 2 - 1) / n
        grads["Um"], grads["am"] = d_mean.T @ encoded, d_mean.sum(0)
        grads["Us"], grads["as"] = d_log_variance.T @ encoded, d_log_variance.sum(0)
        d_encoded = (d_mean @ p["Um"] + d_log_variance @ p["Us"]) * (1 - encoded ** 2)
        grads["U1"], grads["a1"] = d_encoded.T @ x, d_encoded.sum(0)
        return loss, grads

    # -- training and evaluation -------------------------------------------------------------------
    def train(self, data, epochs: int, batch: int = 64, learning_rate: float = 1e-3, seed: int = 0) -> list:
        """Adam on minibatches; returns the training loss (−ELBO) of every update."""
        rng = np.random.default_rng(seed)
        first = {k: np.zeros_like(v) for k, v in self.params.items()}
        second = {k: np.zeros_like(v) for k, v in self.params.items()}
        losses, step = [], 0
        for _ in range(epochs):
            order = rng.permutation(len(data))
            for start in range(0, len(data), batch):
                loss, grads = self.loss_and_gradients(data[order[start:start + batch]], rng)
                step += 1
                for key, gradient in grads.items():
                    first[key] = 0.9 * first[key] + 0.1 * gradient
                    second[key] = 0.999 * second[key] + 0.001 * gradient ** 2
                    corrected = first[key] / (1 - 0.9 ** step), second[key] / (1 - 0.999 ** step)
                    self.params[key] -= learning_rate * corrected[0] / (np.sqrt(corrected[1]) + 1e-8)
                losses.append(loss)
        return losses

    def elbo(self, x, samples: int = 100, seed: int = 0) -> np.ndarray:
        """The ELBO of each input (Monte Carlo reconstruction term, closed-form KL), shape (n,)."""
        rng = np.random.default_rng(seed)
        _, mean, log_variance = self.encode(x)
        scale = np.exp(0.5 * log_variance)
        reconstruction = np.zeros(len(x))
        for _ in range(samples):
            _, g = self.decode(mean + scale * rng.standard_normal(mean.shape))
            reconstruction += -0.5 * np.sum((x - g) ** 2, axis=1) / self.variance
        reconstruction = reconstruction / samples - 0.5 * x.shape[1] * np.log(2 * np.pi * self.variance)
        return reconstruction - 0.5 * np.sum(mean ** 2 + scale ** 2 - 1 - log_variance, axis=1)
