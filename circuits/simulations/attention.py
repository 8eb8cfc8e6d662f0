"""Attention as precision: cue combination as attention shifts from one channel to the other.

One latent z (prior N(0, 4)) explains two sensory channels that report different values,
a = 1 and b = −1 (W = 1, Σ = 1 each). Attention is a precision gain γ on each channel's
error neurons (Π' = γ Π); halfway through, it moves from a (γ_a = γ = 4, γ_b = 1/γ) to b. The
estimate settles on the precision-weighted mean (m/σ_p² + γ_a a + γ_b b)/(1/σ_p² + γ_a + γ_b)
of each half.

Sweepable (``pcsim sweep attention --grid 'gain=0.25,0.5,1,2,4,8 noise=0.5' --seeds 64``):
the gain γ, the noise of the readings (each seed draws a ~ N(1, noise²) and b ~ N(−1, noise²))
and τ_ε. ``sweep_figure`` draws the study: attention pulls the estimate towards the attended
channel (bias), and since both channels are equally reliable, any γ ≠ 1 also widens the spread
of the estimate over seeds, σ_μ = noise·√(γ_a² + γ_b²)/(1/σ_p² + γ_a + γ_b), least at γ = 1:
the best attention matches the true precisions.
"""
from __future__ import annotations

import numpy as np
from brian2 import TimedArray, ms

from ..circuit import Circuit
from ..sweeps import Output, Parameter
from . import style
from .duration import check_duration
from .outcome import Outcome

NAME = "attention"
DESCRIPTION = ("cue combination: one latent, two channels (a = 1, b = -1); attention (precision "
               "gain) switches from a to b halfway; the estimate follows the precision-weighted mean")
DEFAULT_DURATION = 1600 * ms
DURATION_STEP = MINIMUM_DURATION = 0.2 * ms   # two steps of dt: attention switches after half of them
PRIOR_MEAN, PRIOR_VARIANCE, A, B = 0.0, 4.0, 1.0, -1.0
ATTENDED = 4.0     # default γ; the other channel gets 1/γ
TAU_ESTIMATE, TAU_ERROR = 10 * ms, 2 * ms

PARAMETERS = (
    Parameter("gain", ATTENDED, None, "precision gain γ of the attended channel (the other gets 1/γ; γ = 1: "
                                      "no attention)"),
    Parameter("noise", 0.0, None, "standard deviation of the readings around a = 1 and b = −1 (a new draw "
                                  "per seed)"),
    Parameter("tau_error", float(TAU_ERROR / ms), ms, "τ_ε of the error neurons"),
)
OUTPUTS = (
    Output("estimate_attending_a", (), "1", "μ_z at the switch (attending a)"),
    Output("estimate_attending_b", (), "1", "μ_z at the end (attending b)"),
    Output("expected_attending_a", (), "1", "precision-weighted mean of the prior and the readings, attending a"),
    Output("expected_attending_b", (), "1", "precision-weighted mean of the prior and the readings, attending b"),
    Output("readings", ("channel",), "1", "the readings of channels a and b"),
)


def weighted_mean(gain_a, gain_b, a=A, b=B):
    return (PRIOR_MEAN / PRIOR_VARIANCE + gain_a * a + gain_b * b) / (1 / PRIOR_VARIANCE + gain_a + gain_b)


def build(tau_error=TAU_ERROR) -> Circuit:
    """The cue-combination circuit: latent z (prior N(0, 4)) over channels a and b (Σ = 1, W = 1)."""
    circuit = Circuit(dt=0.1 * ms, tau_estimate=TAU_ESTIMATE, tau_error=tau_error)
    circuit.sensory("a", 1, covariance=1.0)
    circuit.sensory("b", 1, covariance=1.0)
    circuit.column("z", 1, covariance=PRIOR_VARIANCE, prior_mean=PRIOR_MEAN)
    circuit.connect("z", "a", weights=[[1.0]])
    circuit.connect("z", "b", weights=[[1.0]])
    return circuit


def simulate(duration=DEFAULT_DURATION, seed=0, *, gain=ATTENDED, noise=0.0, tau_error=TAU_ERROR) -> Outcome:
    """Attention γ on a for the first half, on b for the second (the other channel 1/γ).
    ``seed`` draws the readings when ``noise`` > 0 (with no noise they are a = 1, b = −1)."""
    check_duration(duration, MINIMUM_DURATION, DURATION_STEP, NAME)
    if not gain > 0 or not noise >= 0:
        raise ValueError(f"gain must be positive and noise non-negative, got gain={gain}, noise={noise}")
    rng = np.random.default_rng(seed)
    a, b = A + noise * rng.normal(), B + noise * rng.normal()
    circuit = build(tau_error)
    half = duration / 2
    attended, ignored = float(gain), 1 / float(gain)
    circuit.attend("a", TimedArray(np.array([[attended], [ignored]]), dt=half))
    circuit.attend("b", TimedArray(np.array([[ignored], [attended]]), dt=half))
    rec = circuit.run(duration, stimulus={"a": [a], "b": [b]})
    middle = len(rec.t) // 2
    first, second = weighted_mean(attended, ignored, a, b), weighted_mean(ignored, attended, a, b)
    at_switch, at_end = float(rec.estimate["z"][middle - 1, 0]), float(circuit.estimate("z")[0])
    summary = {"simulation": NAME, "seed": seed, "duration_ms": float(duration / ms),
               "prior_mean": PRIOR_MEAN, "prior_variance": PRIOR_VARIANCE, "a": A, "b": B,
               "gain": attended, "noise": noise, "tau_error_ms": float(tau_error / ms),
               "gain_attended": attended, "gain_ignored": ignored, "readings": [a, b],
               "estimate_attending_a": at_switch, "expected_attending_a": first,
               "estimate_attending_b": at_end, "expected_attending_b": second}
    table = [("mu_z attending a", at_switch, first), ("mu_z attending b", at_end, second)]
    return Outcome(summary, table, lambda: {"attention": _figure(rec, first, second, half, (a, b), attended)})


@style.styled
def _figure(rec, first, second, half, readings, gain):
    figure, (left, right) = style.figure(1, 2, height=2.5)
    t = np.asarray(rec.t / ms)
    switch = float(half / ms)
    left.plot(t, rec.estimate["z"][:, 0], color=style.COLORS["circuit"], label="estimate μ_z")
    left.hlines([first, second], [0, switch], [switch, t[-1]], colors=style.COLORS["reference"], linestyles="--",
                lw=1, label="precision-weighted mean")
    style.label(left, x=("time", "ms"), y=("estimate μ_z", "a.u."), title="estimate as attention moves from a to b")
    left.legend(loc="lower left")
    right.plot(t, rec.error["a"][:, 0], label=f"ε_a (channel a = {readings[0]:.3g})")
    right.plot(t, rec.error["b"][:, 0], label=f"ε_b (channel b = {readings[1]:.3g})")
    for ax, height in ((left, 0.45), (right, 0.2)):
        style.tolerance_line(ax, switch, f"attention a → b (γ = {gain:g} ↔ {1 / gain:g})", horizontal=False,
                             at=height)
    style.label(right, x=("time", "ms"), y=("sensory errors ε", "a.u."),
                title="errors ε = γ (x − μ): the attended one is larger")
    right.legend(loc="lower left")
    style.panel_letters(figure)
    return figure


def spread(gain, noise):
    """Standard deviation over readings of the precision-weighted mean attending a with gain γ:
    noise · √(γ² + γ⁻²) / (1/σ_p² + γ + γ⁻¹) (the mean is linear in the readings)."""
    gain = np.asarray(gain, dtype=float)
    return noise * np.hypot(gain, 1 / gain) / (1 / PRIOR_VARIANCE + gain + 1 / gain)


@style.styled
def sweep_figure(dataset):
    """The attention study from ``pcsim sweep attention --grid 'gain=… noise=σ' --seeds N``:
    the estimate against γ (each seed, the mean over seeds, the closed form ± its spread) and
    the spread over seeds against its closed form (measured with 2 seeds or more). Other swept
    parameters: their first value; γ not swept: its default."""
    first = {dim: 0 for dim in dataset["done"].dims if dim not in ("gain", "seed")}
    data = dataset.isel(first)
    if "gain" not in data.dims:
        data = data.expand_dims(gain=[ATTENDED])
    seeds = data.sizes["seed"]
    noise = float(data["noise"]) if "noise" in data.coords else 0.0
    gains = data["gain"].values
    dense = np.geomspace(gains.min(), gains.max(), 200)
    figure, (left, right) = style.figure(1, 2, height=3.0)
    for name, colour, label, expected in (
            ("estimate_attending_a", style.PALETTE[0], "attending a (γ_a = γ, γ_b = 1/γ)",
             weighted_mean(dense, 1 / dense)),
            ("estimate_attending_b", style.PALETTE[1], "attending b (γ_a = 1/γ, γ_b = γ)",
             weighted_mean(1 / dense, dense))):
        values = data[name].transpose("gain", "seed").values
        jitter = np.exp(np.linspace(-0.06, 0.06, values.shape[1]))
        left.scatter((gains[:, None] * jitter).ravel(), values.ravel(), s=5, color=colour, alpha=0.35, lw=0)
        left.plot(gains, np.nanmean(values, axis=1), "o", color=colour, ms=4, label=f"μ_z, {label}")
        left.plot(dense, expected, color=colour, lw=1)
        left.fill_between(dense, expected - spread(dense, noise), expected + spread(dense, noise),
                          color=colour, alpha=0.12, lw=0)
        if seeds > 1:
            right.plot(gains, np.nanstd(values, axis=1, ddof=1), "o", color=colour, ms=4)
    expected = spread(dense, noise)
    right.plot(dense, expected, color=style.COLORS["exact"], lw=1, label="closed form σ·√(γ² + γ⁻²)/(¼ + γ + γ⁻¹)")
    if seeds > 1:
        sampling = 1 / np.sqrt(2 * (seeds - 1))       # relative standard error of a standard deviation
        right.fill_between(dense, expected * (1 - sampling), expected * (1 + sampling), color=style.GREY,
                           alpha=0.25, lw=0, label=f"± its standard error over {seeds} seeds")
    worst = float(np.nanmax(np.abs(data["estimate_attending_a"] - data["expected_attending_a"])))
    for value in (A, B):
        left.axhline(value, color=style.GREY, lw=0.6, ls=":")
    style.label(left, x=("attention gain γ", "Π′/Π"), y=("estimate μ_z", "a.u."),
                title=f"estimate: {seeds} seeds (dots), mean, closed form ± spread\n"
                      f"(|circuit − precision-weighted mean| ≤ {worst:.0e})")
    figure.legend(*left.get_legend_handles_labels(), loc="outside lower left", ncols=2)
    style.label(right, x=("attention gain γ", "Π′/Π"), y=(f"std of μ_z over {seeds} seeds", "a.u."),
                title=f"spread of the estimate (readings noise σ = {noise:g}):\nleast when attention matches "
                      "the true precisions (γ = 1)")
    right.legend(loc="upper center")
    right.set_ylim(0, None)
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xticks(gains, [f"{g:g}" for g in gains])
        ax.minorticks_off()
    style.panel_letters(figure)
    return figure
