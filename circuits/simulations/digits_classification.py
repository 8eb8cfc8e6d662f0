"""Supervised predictive coding classifies handwritten digits (Whittington & Bogacz 2017).

scikit-learn's 8 × 8 digits (1797 images; pixels standardised on the training set), split at
random into 1440 training and 357 test images. A 64–64–10 network (input → tanh hidden →
linear output, one-hot targets) is trained two ways from the same initial weights, on the
same minibatches of 32 in the same order:

- the predictive-coding circuit, batched (``Circuit(batch_size=32)``): each minibatch is one
  item of ``run_sequence`` with the input and the label clamped (:meth:`Circuit.clamp`); the
  hidden estimates start at their prediction (the forward pass, ``reset_between="prediction"``,
  as W&B start inference) and settle for ``ITEM`` = 10 τ (τ_μ = τ_ε = 2 ms), then every
  projection learns locally at the item's end, ΔW = α ⟨ε_lower f(μ_upper)ᵀ⟩, Δb = α ⟨ε_lower⟩.
  Hidden variance 1, output variance Σ_out = 10 with α = Σ_out × 0.1, so that the update
  approximates backprop's step (W&B: ε_out ≈ (y − ŷ)/Σ_out). With Σ_out = 1 (α = 0.1) the
  circuit reaches 95.2 % (seed 0), 1.4 points below backprop; starting each item from the
  prior mean (0) instead of the prediction, 93 % (the unsettled hidden errors then pull W
  towards 0 at every update);
- the same MLP by backpropagation (:func:`~circuits.simulations.supervised.train_backprop`).

At test the label column is released: the circuit settles on the forward pass and the output
estimate with the largest value is the class. Learning curves: the test accuracy after every
epoch (for the circuit, of the forward pass with its weights of that moment, which is where the
released circuit settles; the final accuracy is the circuit's own).
"""
from __future__ import annotations

import numpy as np
from brian2 import ms
from matplotlib.figure import Figure

from ..datasets import digits
from ..sweeps import Output
from . import style
from .duration import check_duration
from .outcome import Outcome
from .supervised import build_circuit, forward, stable_dt, train_backprop

NAME = "digits-classification"
DESCRIPTION = ("Whittington & Bogacz 2017: a 64-64-10 predictive-coding circuit learns scikit-learn's "
               "digits with local rules (batched), against the same MLP trained by backprop; "
               "--duration sets the epochs (1440 images x 40 ms each); needs scikit-learn")
TAU, OUTPUT_VARIANCE = 2 * ms, 10.0
ITEM = 10 * TAU
TRAIN, TEST, BATCH, HIDDEN, RATE = 1440, 357, 32, 64, 0.1
EPOCH = (TRAIN // BATCH) * ITEM
DURATION_STEP = MINIMUM_DURATION = EPOCH   # whole epochs
DEFAULT_DURATION = 30 * EPOCH
REQUIRES = ("sklearn",)   # the digits
PARAMETERS = ()     # seeds only: each draws the split, the initial weights and the minibatches
OUTPUTS = (Output("test_accuracy", (), "1", "the circuit's test accuracy (label released)"),
           Output("backprop_test_accuracy", (), "1", "the same MLP trained by backprop"),
           Output("test_accuracy_by_epoch", ("epoch",), "1", "test accuracy of the circuit's weights after each epoch"))


def load_digits_split(seed=0):
    """(x_train, y_train, x_test, y_test, labels_test): the digits split at random (``seed``;
    :func:`circuits.datasets.digits`) into TRAIN training and TEST test images, pixels
    standardised on the training set, one-hot targets."""
    train, test, train_labels, test_labels = digits(TEST, seed=seed)
    mean, scale = train.mean(axis=0), train.std(axis=0) + 0.1
    onehot = np.eye(10)
    return (train - mean) / scale, onehot[train_labels], (test - mean) / scale, onehot[test_labels], test_labels


def initial_parameters(rng, sizes=(64, HIDDEN, 10)):
    """W_k ~ N(0, 1/n_k) and b_k = 0 for the layer sizes from the input to the output."""
    weights = [rng.normal(size=(sizes[k + 1], sizes[k])) / np.sqrt(sizes[k]) for k in range(len(sizes) - 1)]
    return weights, [np.zeros(n) for n in sizes[1:]]


def minibatches(x, y, epochs: int, rng):
    """Per epoch, the shuffled minibatches [(x (B, 64), y (B, 10)), …] (full batches only)."""
    result = []
    for _ in range(epochs):
        order = rng.permutation(len(x))[: len(x) // BATCH * BATCH].reshape(-1, BATCH)
        result.append([(x[index], y[index]) for index in order])
    return result


def _accuracy(weights, biases, x, labels) -> float:
    return float(np.mean(forward(weights, biases, x)[-1].argmax(axis=1) == labels))


def classify(circuit, x) -> np.ndarray:
    """The circuit's class for every row of ``x``: the label column released, the input clamped to
    each batch of images (the last one padded), settled for 20 τ_μ."""
    circuit.release("output")
    padded = np.concatenate([x, np.repeat(x[-1:], -len(x) % BATCH, axis=0)])
    rec = circuit.run_sequence({"input": padded.reshape(-1, BATCH, x.shape[1])}, 20 * circuit.tau_estimate,
                               reset_between="prediction")
    return rec.trial_end["output"].reshape(len(padded), -1)[: len(x)].argmax(axis=1)


def simulate(duration=DEFAULT_DURATION, seed=0) -> Outcome:
    epochs = check_duration(duration, MINIMUM_DURATION, DURATION_STEP, NAME)
    x_train, y_train, x_test, y_test, labels = load_digits_split(seed)
    rng = np.random.default_rng(seed)
    weights, biases = initial_parameters(rng)
    batches = minibatches(x_train, y_train, epochs, rng)
    names = ("input", "hidden1", "output")

    circuit = build_circuit(weights, biases, OUTPUT_VARIANCE, batch_size=BATCH, dt=stable_dt(OUTPUT_VARIANCE, TAU),
                            learning_rate=RATE * OUTPUT_VARIANCE, tau_estimate=TAU, tau_error=TAU)
    circuit.clamp("output")
    pc_curve = []
    for epoch in batches:
        circuit.run_sequence({"input": np.array([b[0] for b in epoch]), "output": np.array([b[1] for b in epoch])},
                             ITEM, learn="trial", reset_between="prediction")
        learned = [circuit.weights(names[k], names[k + 1]) for k in range(2)]
        pc_curve.append(_accuracy(learned, [circuit.bias(names[k], names[k + 1]) for k in range(2)], x_test, labels))
    test_accuracy = float(np.mean(classify(circuit, x_test) == labels))
    _, _, bp_curve = train_backprop(weights, biases, batches, RATE,
                                    lambda w, b: _accuracy(w, b, x_test, labels))
    summary = {"simulation": NAME, "seed": seed, "epochs": epochs, "train_images": TRAIN,
               "test_images": len(labels), "batch_size": BATCH, "layers": [64, HIDDEN, 10],
               "learning_rate": RATE, "circuit_learning_rate": RATE * OUTPUT_VARIANCE, "item_ms": float(ITEM / ms),
               "hidden_variance": 1.0, "output_variance": OUTPUT_VARIANCE,
               "test_accuracy": test_accuracy, "backprop_test_accuracy": bp_curve[-1],
               "test_accuracy_by_epoch": pc_curve, "backprop_test_accuracy_by_epoch": bp_curve,
               "initial_test_accuracy": _accuracy(weights, biases, x_test, labels)}
    table = [("test accuracy, predictive coding (circuit)", test_accuracy, "≥ 0.95"),
             ("test accuracy, backprop (same MLP)", bp_curve[-1], "within 0.01"),
             ("epochs", epochs, "")]
    return Outcome(summary, table, {"digits_classification": _figure(pc_curve, bp_curve, summary)})


@style.styled
def _figure(pc_curve, bp_curve, summary) -> Figure:
    figure, ax = style.figure(width="wide", height=3.2)
    epochs = np.arange(1, len(pc_curve) + 1)
    ax.plot(epochs, 100 * np.array(pc_curve), "o-", ms=3, color=style.COLORS["circuit"],
            label="predictive coding (local rules)")
    ax.plot(epochs, 100 * np.array(bp_curve), "s--", ms=3, color=style.COLORS["reference"],
            label="backprop (same MLP)")
    style.tolerance_line(ax, 95, "95 %")
    low = min(min(pc_curve), min(bp_curve)) * 100
    ax.set_ylim(max(0.0, low - 3), 100)
    style.label(ax, x="epoch (1440 training images: items)", y=("test accuracy", "%"),
                title=f"8×8 digits, 64–64–10: {100 * summary['test_accuracy']:.1f} % (PC) vs "
                      f"{100 * summary['backprop_test_accuracy']:.1f} % (BP)")
    ax.legend(loc="lower right")
    return figure
