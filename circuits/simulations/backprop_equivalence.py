"""Predictive coding approximates backpropagation (Whittington & Bogacz 2017, Fig. 3).

A 64–32–32–10 network (input → tanh hidden layers → linear output) with random weights and
biases sees a batch of 16 of scikit-learn's digits (standardised) with one-hot labels. Its
predictive-coding circuit (:func:`~circuits.simulations.supervised.build_circuit`: hidden
variances 1, output variance Σ_L) settles with the input and the label clamped, then every
projection applies its local rule once, ΔW_k = α ⟨ε_k+1 f(μ_k)ᵀ⟩ (α = 1). Backpropagation on
the same network gives ∂L/∂W_k of L = ⟨½ |y − ŷ|²⟩. The relative error per layer,

    ‖ Σ_L ΔW_k/α + ∂L/∂W_k ‖ / ‖ ∂L/∂W_k ‖,

falls as Σ_L grows (W&B: the errors approach δ_k/Σ_L as the output's variance grows against
the hidden ones'). With **fixed predictions** (:meth:`Circuit.hold`: the circuit first settles
on the forward pass with the label free, then every hidden column is held and the label
clamped) the updates equal backprop's exactly, at any Σ_L. The output's error neurons relax at Σ_L/τ_ε, so forward Euler needs
dt ≤ τ_ε/(2 Σ_L) (1 µs at Σ_L = 1000); to settle in fewer steps these circuits use
τ_μ = τ_ε = 2 ms (time constants shape the transient, not the fixed point) and settle for
40 τ_μ = 80 ms (the relative errors change by < 1e-5 between 80 and 160 ms at Σ_L = 30).
"""
from __future__ import annotations

import numpy as np
from brian2 import ms
from matplotlib.figure import Figure

from .digits_classification import load_digits_split
from ..sweeps import Output
from . import style
from .duration import check_duration
from .outcome import Outcome
from .supervised import backprop_gradients, build_circuit, layer_names, stable_dt

NAME = "backprop-equivalence"
DESCRIPTION = ("Whittington & Bogacz 2017: weight updates of a settled 64-32-32-10 predictive-coding "
               "circuit vs backprop gradients, relative error per layer as the output variance grows "
               "(1 ... 1000); needs scikit-learn")
SIZES, BATCH, TAU = (64, 32, 32, 10), 16, 2 * ms
VARIANCES = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)
DEFAULT_DURATION = 40 * TAU
REQUIRES = ("sklearn",)   # the digits
#: Settling needs a few τ; every circuit's dt (τ/20 … τ/2000, :func:`supervised.stable_dt`) divides τ/20.
DURATION_STEP, MINIMUM_DURATION = TAU / 20, 5 * TAU
PARAMETERS = ()     # seeds only: each draws the network's weights and biases
OUTPUTS = (Output("relative_error", ("output_variance", "layer"), "1",
                  "‖Σ_out ΔW + ∂L/∂W‖/‖∂L/∂W‖ per output variance (1 … 1000) and layer"),
           Output("fixed_prediction_error", (), "1", "the same with fixed predictions, largest layer"))


def network(seed=0):
    """(weights, biases, x (B, 64), y (B, 10)): random parameters and a batch of digits."""
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=(SIZES[k + 1], SIZES[k])) / np.sqrt(SIZES[k]) for k in range(len(SIZES) - 1)]
    biases = [0.1 * rng.normal(size=n) for n in SIZES[1:]]
    x, y, _, _, _ = load_digits_split(seed)
    return weights, biases, x[:BATCH], y[:BATCH]


def circuit_updates(weights, biases, x, y, output_variance: float, duration=DEFAULT_DURATION):
    """ΔW_k (α = 1) of the circuit after it settled for ``duration`` with x and y clamped."""
    circuit = build_circuit(weights, biases, output_variance, batch_size=len(x), dt=stable_dt(output_variance, TAU),
                            learning_rate=1.0, tau_estimate=TAU, tau_error=TAU)
    circuit.clamp("output")
    names = layer_names(len(weights) + 1)
    circuit.run_sequence({"input": x[None], "output": y[None]}, duration, learn="trial")
    return [circuit.weights(names[k], names[k + 1]) - w for k, w in enumerate(weights)]


def fixed_prediction_updates(weights, biases, x, y, output_variance=1.0, duration=DEFAULT_DURATION):
    """ΔW_k (α = 1) with fixed predictions: start at the forward pass (the top-down sweep of
    ``reset_between="prediction"`` from the clamped input, where every ε = 0), hold every
    hidden column, clamp the label, settle for ``duration``, learn once."""
    circuit = build_circuit(weights, biases, output_variance, batch_size=len(x), dt=stable_dt(output_variance, TAU),
                            learning_rate=1.0, tau_estimate=TAU, tau_error=TAU)
    names = layer_names(len(weights) + 1)
    circuit.run_sequence({"input": x[None]}, 10 * TAU, reset_between="prediction", learn=False)
    for name in names[1:-1]:
        circuit.hold(name)
    circuit.clamp("output", y)
    circuit.run(duration, record=False, learn="trial")
    return [circuit.weights(names[k], names[k + 1]) - w for k, w in enumerate(weights)]


def relative_errors(updates, gradients, output_variance: float) -> list[float]:
    """‖Σ_L ΔW_k + ∂L/∂W_k‖ / ‖∂L/∂W_k‖ per layer (α = 1)."""
    return [float(np.linalg.norm(output_variance * u + g) / np.linalg.norm(g)) for u, g in zip(updates, gradients)]


def simulate(duration=DEFAULT_DURATION, seed=0) -> Outcome:
    check_duration(duration, MINIMUM_DURATION, DURATION_STEP, NAME)
    weights, biases, x, y = network(seed)
    gradients, _ = backprop_gradients(weights, biases, x, y)
    errors = {v: relative_errors(circuit_updates(weights, biases, x, y, v, duration), gradients, v)
              for v in VARIANCES}
    fixed = relative_errors(fixed_prediction_updates(weights, biases, x, y), gradients, 1.0)
    layers = [f"W{k + 1} ({SIZES[k]}→{SIZES[k + 1]})" for k in range(len(SIZES) - 1)]
    summary = {"simulation": NAME, "seed": seed, "layers": list(SIZES), "batch_size": BATCH,
               "settle_ms": float(duration / ms), "output_variances": list(VARIANCES), "weight_names": layers,
               "relative_error_by_variance": {str(v): e for v, e in errors.items()},
               "relative_error": [errors[v] for v in VARIANCES],
               "largest_relative_error_at_1000": max(errors[1000.0]),
               "fixed_prediction_error_by_layer": fixed, "fixed_prediction_error": max(fixed)}
    table = [(f"relative error, Σ_out = {v:g} (largest layer)", max(e), "< 0.02 at 1000") for v, e in errors.items()]
    table.append(("relative error, fixed predictions (Σ_out = 1)", max(fixed), "< 1e-6"))
    return Outcome(summary, table, {"backprop_equivalence": _figure(errors, layers, max(fixed))})


@style.styled
def _figure(errors, layers, fixed: float) -> Figure:
    figure, ax = style.figure(width="wide", height=3.4)
    variances = np.array(list(errors))
    values = np.array(list(errors.values()))
    for k, label in enumerate(layers):
        ax.loglog(variances, values[:, k], "o-", ms=4, color=style.PALETTE[k % len(style.PALETTE)], label=label)
    style.tolerance_line(ax, 0.02, "0.02")
    style.label(ax, x=("output-layer variance Σ_out (hidden variances 1)", "a.u."),
                y=("relative error of the PC weight update\n‖Σ_out ΔW + ∂L/∂W‖ / ‖∂L/∂W‖", "1"),
                title="Predictive coding → backprop as Σ_out grows")
    ax.legend(title="weights", loc="lower left")
    ax.text(0.98, 0.97, f"fixed predictions: {fixed:.1e}\n(all layers, Σ_out = 1)", transform=ax.transAxes,
            ha="right", va="top", fontsize=7)
    return figure
