"""Attention as precision: cue combination as attention shifts from one channel to the other.

One latent z (prior N(0, 4)) explains two sensory channels that report different values,
a = 1 and b = −1 (W = 1, Σ = 1 each). Attention is a precision gain γ on each channel's
error neurons (Π' = γ Π); halfway through, it moves from a (γ_a = 4, γ_b = 0.25) to b. The
estimate settles on the precision-weighted mean (m/σ_p² + γ_a a + γ_b b)/(1/σ_p² + γ_a + γ_b)
of each half.
"""
from __future__ import annotations

import numpy as np
from brian2 import TimedArray, ms

from ..circuit import Circuit
from . import style
from .duration import check_duration
from .outcome import Outcome

NAME = "attention"
DESCRIPTION = ("cue combination: one latent, two channels (a = 1, b = -1); attention (precision "
               "gain) switches from a to b halfway; the estimate follows the precision-weighted mean")
DEFAULT_DURATION = 1600 * ms
DURATION_STEP = MINIMUM_DURATION = 0.2 * ms   # two steps of dt: attention switches after half of them
PRIOR_MEAN, PRIOR_VARIANCE, A, B = 0.0, 4.0, 1.0, -1.0
ATTENDED, IGNORED = 4.0, 0.25


def weighted_mean(gain_a, gain_b):
    return (PRIOR_MEAN / PRIOR_VARIANCE + gain_a * A + gain_b * B) / (1 / PRIOR_VARIANCE + gain_a + gain_b)


def build() -> Circuit:
    """The cue-combination circuit: latent z (prior N(0, 4)) over channels a and b (Σ = 1, W = 1)."""
    circuit = Circuit()
    circuit.sensory("a", 1, covariance=1.0)
    circuit.sensory("b", 1, covariance=1.0)
    circuit.column("z", 1, covariance=PRIOR_VARIANCE, prior_mean=PRIOR_MEAN)
    circuit.connect("z", "a", weights=[[1.0]])
    circuit.connect("z", "b", weights=[[1.0]])
    return circuit


def simulate(duration=DEFAULT_DURATION, seed=0) -> Outcome:
    """``seed`` is recorded but unused: this simulation is deterministic."""
    check_duration(duration, MINIMUM_DURATION, DURATION_STEP, NAME)
    circuit = build()
    half = duration / 2
    circuit.attend("a", TimedArray(np.array([[ATTENDED], [IGNORED]]), dt=half))
    circuit.attend("b", TimedArray(np.array([[IGNORED], [ATTENDED]]), dt=half))
    rec = circuit.run(duration, stimulus={"a": [A], "b": [B]})
    middle = len(rec.t) // 2
    first, second = weighted_mean(ATTENDED, IGNORED), weighted_mean(IGNORED, ATTENDED)
    at_switch, at_end = float(rec.estimate["z"][middle - 1, 0]), float(circuit.estimate("z")[0])
    summary = {"simulation": NAME, "seed": seed, "duration_ms": float(duration / ms),
               "prior_mean": PRIOR_MEAN, "prior_variance": PRIOR_VARIANCE, "a": A, "b": B,
               "gain_attended": ATTENDED, "gain_ignored": IGNORED,
               "estimate_attending_a": at_switch, "expected_attending_a": first,
               "estimate_attending_b": at_end, "expected_attending_b": second}
    table = [("mu_z attending a", at_switch, first), ("mu_z attending b", at_end, second)]
    return Outcome(summary, table, {"attention": _figure(rec, first, second, half)})


@style.styled
def _figure(rec, first, second, half):
    figure, (left, right) = style.figure(1, 2, height=2.5)
    t = np.asarray(rec.t / ms)
    switch = float(half / ms)
    left.plot(t, rec.estimate["z"][:, 0], color=style.COLORS["circuit"], label="estimate μ_z")
    left.hlines([first, second], [0, switch], [switch, t[-1]], colors=style.COLORS["reference"], linestyles="--",
                lw=1, label="precision-weighted mean")
    style.label(left, x=("time", "ms"), y=("estimate μ_z", "a.u."), title="estimate as attention moves from a to b")
    left.legend(loc="lower left")
    right.plot(t, rec.error["a"][:, 0], label=f"ε_a (channel a = {A:g})")
    right.plot(t, rec.error["b"][:, 0], label=f"ε_b (channel b = {B:g})")
    for ax, height in ((left, 0.45), (right, 0.2)):
        style.tolerance_line(ax, switch, f"attention a → b (γ = {ATTENDED:g} ↔ {IGNORED:g})", horizontal=False,
                             at=height)
    style.label(right, x=("time", "ms"), y=("sensory errors ε", "a.u."),
                title="errors ε = γ (x − μ): the attended one is larger")
    right.legend(loc="lower left")
    style.panel_letters(figure)
    return figure
