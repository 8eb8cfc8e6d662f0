"""A variational autoencoder on real digits, inside a predictive-coding circuit.

Data: scikit-learn's 8×8 handwritten digits (``load_digits``), intensities scaled to [0, 1],
1,437 training and 360 test images (:func:`circuits.datasets.digits`, seed 0).

Generative model (the decoder): z ~ N(0, I₈), x ~ N(g(z), σ² I₆₄) with σ = 0.2 and
g(z) = V₂ tanh(V₁ z + c₁) + c₂ (64 hidden units): a deep projection whose hidden layer is a
dendritic compartment of the latent column's pathway (:mod:`circuits.dendrite`). Recognition
model (the encoder): a deep encoder μ_q = U₂ tanh(U₁ x + a₁) + a₂ (64 hidden units).

The circuit learns batched (60 images per item): each item starts at the encoder's proposal
and settles by the circuit's dynamics (hybrid inference); at the item's end the decoder's
layers learn by their local rule at a reparameterized sample of the Laplace q around the
settled estimates (``learn_at="laplace"``: variational EM, the ELBO's gradient) and the
encoder's layers by the delta rule towards the settled estimates. The test-set ELBO is the
Monte-Carlo ELBO of the Laplace q (Gauss–Newton H through the deep Jacobian) at the settled
estimates of each test image (``Circuit.elbo``).

Reference: a VAE of the same architecture (same decoder; an encoder with the same hidden layer
and a log-variance head) trained by exact gradients with Adam and one reparameterized sample
per image (Kingma & Welling 2014), the independent NumPy implementation of the repository's
``tests/reference_vae.py``, on the same split, in minibatches of the same size and for the
same number of epochs (passes through the training images).

Units: the circuit sees the images in units of the pixel noise (x/σ, Σ = I; the error neurons
relax at Σ/τ_ε) and its ELBO is converted back, ELBO(x) = ELBO(x/σ) − 64 log σ.
"""
from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import numpy as np
from brian2 import ms
from matplotlib.figure import Figure

from ..circuit import Circuit
from ..datasets import digits
from ..sweeps import Output
from . import style
from .duration import check_duration
from .outcome import Outcome

NAME = "digits-vae"
DESCRIPTION = ("a VAE on scikit-learn's 8×8 digits: deep dendritic decoder and deep encoder learn by local "
               "rules (variational EM, batched); test-set ELBO beside a reference VAE trained by exact gradients")
PIXELS, LATENT, HIDDEN, ENCODER_HIDDEN, NOISE = 64, 8, 64, 64, 0.2
BATCH, TEST = 60, 360
ITEM, TEST_ITEM = 20 * ms, 60 * ms
ITEMS_PER_EPOCH = 23                      # 1,380 of the 1,437 training images, drawn anew every epoch
EPOCH = ITEMS_PER_EPOCH * ITEM
DEFAULT_DURATION = 300 * EPOCH            # 300 epochs
REQUIRES = ("sklearn",)   # the digits
SLOW_TEST_DURATION = 100 * EPOCH          # tests/validation/test_deep_networks.py
REFERENCE_BATCH, REFERENCE_RATE = 60, 3e-3
ELBO_SAMPLES, CHECKPOINTS = 500, 5
DURATION_STEP, MINIMUM_DURATION = EPOCH, CHECKPOINTS * EPOCH   # whole epochs; one per checkpoint
PARAMETERS = ()     # seeds only: each draws the initial weights and the order of the items
OUTPUTS = (Output("test_elbo", (), "nat", "the circuit's Monte-Carlo test ELBO per image (Laplace q)"),
           Output("reference_test_elbo", (), "nat", "the reference VAE's test ELBO per image"),
           Output("relative_difference", (), "1", "(circuit − reference) / |reference|"))
#: Learning rates [layer 1, layer 2] of the decoder and the encoder (noise units).
DECODER_RATES, ENCODER_RATES = [0.006, 0.15], [0.006, 0.15]


def reference_vae():
    """The NumPy reference VAE class of the repository's tests (``tests/reference_vae.py``)."""
    path = Path(__file__).resolve().parents[2] / "tests" / "reference_vae.py"
    if not path.is_file():
        raise RuntimeError(f"digits-vae compares the circuit with the NumPy reference VAE of the repository's "
                           f"tests ({path} is missing): run it from a source checkout installed with "
                           f"pip install -e .")
    spec = importlib.util.spec_from_file_location("reference_vae", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ReferenceVAE


def build(train: np.ndarray, seed: int) -> Circuit:
    """The circuit: sensory x (64, in noise units), latent z (8) with a deep decoder and a deep
    encoder, batched; initial weights Gaussian with 1/√fan-in scale."""
    rng = np.random.default_rng(seed)

    def draw(rows, columns, scale=1.0):
        return rng.normal(size=(rows, columns)) * scale / np.sqrt(columns)

    circuit = Circuit(dt=0.1 * ms, tau_estimate=30 * ms, tau_error=0.5 * ms, batch_size=BATCH, seed=seed)
    circuit.sensory("x", PIXELS, covariance=1.0)
    circuit.column("z", LATENT, covariance=1.0)
    circuit.connect("z", "x", [draw(HIDDEN, LATENT), draw(PIXELS, HIDDEN, 0.3) / NOISE], ["linear", "tanh"],
                    [0.0, train.mean(axis=0) / NOISE], plastic=True, learning_rate=DECODER_RATES, learn_bias=True)
    circuit.encoder("z", weights=[draw(ENCODER_HIDDEN, PIXELS) * NOISE, draw(LATENT, ENCODER_HIDDEN, 0.1)],
                    activation=["linear", "tanh"], bias=0.0, learning_rate=ENCODER_RATES)
    return circuit


def test_elbo(circuit, test: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The circuit's ELBO of every test image and its reconstruction g(μ*) (the data's units):
    each batch settles from the encoder's proposal for TEST_ITEM, then the Monte-Carlo ELBO of
    the Laplace q around the settled estimates."""
    values, reconstructions = [], []
    for start in range(0, len(test), BATCH):
        circuit.run_sequence(test[None, start:start + BATCH] / NOISE, TEST_ITEM, inference="hybrid", learn=False)
        value, _ = circuit.elbo(samples=ELBO_SAMPLES, seed=seed + start, covariance="laplace")
        values.append(value - PIXELS * np.log(NOISE))
        reconstructions.append(decode(circuit, circuit.estimate("z")))
    return np.concatenate(values), np.concatenate(reconstructions)


def decode(circuit, z: np.ndarray) -> np.ndarray:
    """The decoder's mean g(z) in the data's units, for latents (n, 8)."""
    projection = circuit.graph.projection("z", "x")
    return (projection.prediction(z) + projection.bias) * NOISE


def train_circuit(train: np.ndarray, test: np.ndarray, epochs: int, seed: int):
    """(circuit, history [(epoch, mean test ELBO)]): the circuit trained for ``epochs``, its test
    ELBO at CHECKPOINTS epochs along the way."""
    circuit = build(train, seed)
    rng = np.random.default_rng(seed + 1)
    history, done = [], 0
    for checkpoint in range(1, CHECKPOINTS + 1):
        count = epochs * checkpoint // CHECKPOINTS - done
        items = np.concatenate([rng.permutation(len(train))[:ITEMS_PER_EPOCH * BATCH] for _ in range(count)])
        circuit.run_sequence(train[items].reshape(-1, BATCH, PIXELS) / NOISE, ITEM, inference="hybrid",
                             learn_at="laplace")
        done += count
        history.append((done, float(test_elbo(circuit, test, seed)[0].mean())))
    return circuit, history


def train_reference(train: np.ndarray, seed: int, epochs: int):
    """The reference VAE trained by exact gradients (Adam) for ``epochs``."""
    vae = reference_vae()(PIXELS, LATENT, HIDDEN, ENCODER_HIDDEN, NOISE ** 2, seed=seed, mean=train.mean(axis=0))
    vae.train(train, epochs, batch=REFERENCE_BATCH, learning_rate=REFERENCE_RATE, seed=seed)
    return vae


def simulate(duration=DEFAULT_DURATION, seed=0) -> Outcome:
    """``duration``: simulated training time of the circuit (epochs of 23 items of 15 ms); the
    reference VAE is trained for as many epochs."""
    epochs = check_duration(duration, MINIMUM_DURATION, DURATION_STEP, NAME)
    reference_epochs = epochs
    train, test, _, test_labels = digits(TEST, seed=0)
    start = time.perf_counter()
    circuit, history = train_circuit(train, test, epochs, seed)
    circuit_seconds = time.perf_counter() - start
    values, reconstructions = test_elbo(circuit, test, seed)
    start = time.perf_counter()
    vae = train_reference(train, seed, reference_epochs)
    reference_seconds = time.perf_counter() - start
    reference_values = vae.elbo(test, samples=ELBO_SAMPLES, seed=seed)
    elbo, reference = float(values.mean()), float(reference_values.mean())
    summary = {"simulation": NAME, "seed": seed, "epochs": epochs, "batch": BATCH, "item_ms": float(ITEM / ms),
               "training_images": len(train), "test_images": len(test), "latents": LATENT, "hidden": HIDDEN,
               "encoder_hidden": ENCODER_HIDDEN, "pixel_noise": NOISE,
               "test_elbo": elbo, "test_elbo_standard_error": float(values.std(ddof=1) / np.sqrt(len(values))),
               "reference_test_elbo": reference,
               "reference_test_elbo_standard_error": float(reference_values.std(ddof=1) / np.sqrt(len(values))),
               "relative_difference": (elbo - reference) / abs(reference),
               "reference_epochs": reference_epochs, "history": [{"epoch": e, "test_elbo": v} for e, v in history],
               "circuit_seconds": circuit_seconds, "reference_seconds": reference_seconds,
               "decoder_learning_rates": DECODER_RATES, "encoder_learning_rates": ENCODER_RATES}
    table = [("test ELBO, circuit (nats/image)", elbo, f"within 5 % of {reference:.3f}"),
             ("test ELBO, reference VAE", reference, f"Adam, {reference_epochs} epochs"),
             ("relative difference", summary["relative_difference"], "≥ −0.05"),
             ("training epochs (circuit)", epochs, "")]
    rng = np.random.default_rng(seed + 2)
    prior = rng.normal(size=(16, LATENT))
    shown = [np.flatnonzero(test_labels == digit)[0] for digit in range(10)]
    figure = _figure(test[shown], reconstructions[shown], vae.decode(vae.encode(test[shown])[1])[1],
                     decode(circuit, prior), vae.decode(prior)[1], history, reference)
    return Outcome(summary, table, {"digits_vae": figure})


@style.styled
def _figure(images, circuit_reconstructions, reference_reconstructions, circuit_samples, reference_samples,
            history, reference) -> Figure:
    figure = Figure(figsize=(style.WIDTH["double"], 3.6), layout="constrained")
    left, right = figure.subfigures(1, 2, width_ratios=[2.2, 1])
    rows = (("test images", images), ("circuit: g(μ*)", circuit_reconstructions),
            ("reference VAE", reference_reconstructions),
            ("circuit: g(z), z ~ p(z)", circuit_samples), ("reference: g(z)", reference_samples))
    grid = left.subplots(5, 10)
    for row, (label, pictures) in enumerate(rows):
        for column in range(10):
            _show(grid[row, column], pictures[column])
        grid[row, 0].set_ylabel(label, fontsize=6, rotation=0, ha="right", va="center")
    left.suptitle("Reconstructions of test digits and samples from the prior", fontsize=9)
    axis = right.subplots()
    axis.plot([e for e, _ in history], [v for _, v in history], "o-", color=style.COLORS["circuit"],
              label="circuit (local rules)")
    axis.axhline(reference, color=style.COLORS["reference"], label="reference VAE (exact gradients)")
    axis.axhspan(reference - 0.05 * abs(reference), reference, color="0.9", label="within 5 %")
    style.label(axis, x="epoch (23 items)", y=("test ELBO", "nats / image"), title="Test-set ELBO")
    axis.legend()
    style.panel_letters(figure, [grid[0, 0], axis])
    return figure


def _show(axis, picture):
    axis.imshow(np.clip(np.reshape(picture, (8, 8)), 0, 1), cmap="gray_r", vmin=0, vmax=1)
    axis.set(xticks=[], yticks=[])
