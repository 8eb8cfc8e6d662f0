"""Spiking columns: the linear Gaussian hierarchy x (4) ← z1 (2) ← z2 (1) built from Poisson
populations of N neurons per unit, against the exact posterior and the rate circuit.

The rate circuit (rectified errors) settles on the exact posterior mean μ*. The spiking
circuit (``Circuit(neurons=Spiking(population_size=N))``, instantaneous synapses) has the rate
circuit as its mean field, so its time-averaged estimates — the estimate populations' firing
rates decoded, (r̂ − r0)/κ, averaged after ``SETTLE`` — are unbiased, with an error that falls
as 1/√N. For each N, ``TRIALS`` independent trials run at once (a batch); the error is the
root mean square over trials of ‖μ̄ − μ*‖ / ‖μ*‖ over both latent columns. Firing rates are
reported per population kind: the mean read-out rate once settled and the peak Poisson
intensity ([r0 + κ μ]+ for estimates, κ [v]+ for errors) over the whole run.
"""
from __future__ import annotations

import time

import numpy as np
from brian2 import Hz, SpikeMonitor, ms

from ..circuit import Circuit
from ..gaussian import exact_posterior
from ..spiking import Spiking
from ..sweeps import Output, Parameter
from ..validation import as_time
from . import style
from .duration import check_duration
from .outcome import Outcome

NAME = "spiking-column"
DESCRIPTION = ("3-level linear Gaussian hierarchy (4, 2, 1) from Poisson populations of N neurons per "
               "unit with rectified errors: time-averaged spiking estimates vs the exact posterior "
               "for N = 16 ... 1024 (error ~ 1/sqrt N), rasters over the rate trajectories")
DEFAULT_DURATION = 1000 * ms
SIZES = (4, 2, 1)
POPULATION_SIZES = (16, 64, 256, 1024)
TRIALS = 8
SETTLE = 200 * ms         # averages start here (10 τ_readout: the read-out starts at 0 Hz)
RASTER_SIZE = 64          # N of the raster figure
DT = 0.2 * ms             # spike probability per step ≤ 200 Hz · dt = 0.04; τ_error / dt = 10
RECORD = 10               # record every 10 steps (2 ms)
#: The averages need at least one recorded step at or after SETTLE; a duration is whole steps.
MINIMUM_DURATION, DURATION_STEP = SETTLE + RECORD * DT, DT
LATENT = ("z1", "z2")
ESTIMATE_SCALE, ERROR_SCALE = 20 * Hz, 40 * Hz
PARAMETERS = (Parameter("estimate_scale", float(ESTIMATE_SCALE / Hz), Hz, "κ_μ: Hz per unit of μ (baseline 40 Hz)"),
              Parameter("error_scale", float(ERROR_SCALE / Hz), Hz, "κ_ε: Hz per unit of ε±"))
OUTPUTS = (Output("relative_error", ("population_size",), "1", "RMS over trials of |μ̄ − μ*| / |μ*| of the time-averaged "
                  "spiking estimates, for each N of population_sizes"),
           Output("population_sizes", ("population_size",), "1", "N, neurons per unit"),
           Output("log_log_slope", (), "1", "slope of log error against log N (1/√N: −0.5)"),
           Output("rate_circuit_relative_error", (), "1", "|μ − μ*| / |μ*| of the rate circuit at the end"))


def _covariance(rng, size, low, high):
    q, _ = np.linalg.qr(rng.normal(size=(size, size)))
    return q @ np.diag(rng.uniform(low, high, size)) @ q.T


def model(seed: int) -> dict:
    """Weights, covariances (full: lateral synapses), prior mean and an observation x drawn
    from the model, all from ``seed``."""
    rng = np.random.default_rng(seed)
    parts = {"covariances": [_covariance(rng, n, 0.4, 1.0) for n in SIZES],
             "weights": [rng.normal(size=(SIZES[0], SIZES[1])) / 2, rng.normal(size=(SIZES[1], SIZES[2])) / 2],
             "prior_mean": rng.normal(size=SIZES[2]) * 0.5}
    z2 = rng.multivariate_normal(parts["prior_mean"], parts["covariances"][2])
    z1 = rng.multivariate_normal(parts["weights"][1] @ z2, parts["covariances"][1])
    parts["observation"] = rng.multivariate_normal(parts["weights"][0] @ z1, parts["covariances"][0])
    return parts


def build(parts: dict, neurons="rate", seed=None, trials=None, dt=DT, **options) -> Circuit:
    """The hierarchy with rate neurons (rectified errors) or spiking ones (``neurons``);
    ``options`` go to :class:`Circuit` (e.g. ``device``)."""
    circuit = Circuit(dt=dt, neurons=neurons, seed=seed, batch_size=trials, **options)
    covariances, weights = parts["covariances"], parts["weights"]
    circuit.sensory("x", SIZES[0], covariance=covariances[0], errors="rectified")
    circuit.column("z1", SIZES[1], covariance=covariances[1], errors="rectified")
    circuit.column("z2", SIZES[2], covariance=covariances[2], prior_mean=parts["prior_mean"], errors="rectified")
    circuit.connect("z1", "x", weights[0])
    circuit.connect("z2", "z1", weights[1])
    return circuit


def spiking_run(parts: dict, population_size: int, duration, seed: int, trials: int = TRIALS, raster=False,
                dt=DT, estimate_scale=ESTIMATE_SCALE, error_scale=ERROR_SCALE) -> dict:
    """One spiking circuit of ``trials`` trials: its recording, time-averaged decoded estimates
    (trials, units), errors against the exact posterior, rates, wall time, and (``raster``)
    the spikes of trial 0's z1 populations."""
    spiking = Spiking(population_size=population_size, estimate_scale=estimate_scale, error_scale=error_scale)
    circuit = build(parts, spiking, seed, trials, dt)
    monitors = {}
    if raster:
        for population in ("estimate", "error"):
            monitors[population] = SpikeMonitor(circuit.columns["z1"].spikes(population), name=f"raster_{population}")
            circuit.network.add(monitors[population])
    start = time.perf_counter()
    rec = circuit.run(duration, stimulus=parts["observation"], record=RECORD)
    wall = time.perf_counter() - start
    exact, _ = exact_posterior(circuit, {"x": parts["observation"]})
    star = np.concatenate([exact[name] for name in LATENT])
    settled = np.asarray(rec.t) >= float(SETTLE)
    decoded = np.concatenate([spiking.decode("estimate", rec.firing_rate[name]["estimate"][settled].mean(axis=0))
                              for name in LATENT], axis=-1)
    units = np.concatenate([rec.estimate[name][settled].mean(axis=0) for name in LATENT], axis=-1)
    relative = np.linalg.norm(decoded - star, axis=-1) / np.linalg.norm(star)
    unit_relative = np.linalg.norm(units - star, axis=-1) / np.linalg.norm(star)
    baseline, scale = spiking.code("estimate")
    error_scale = spiking.code("error")[1]
    intensity = {"estimate": max(np.clip(baseline + scale * rec.estimate[n], 0, None).max() for n in rec.estimate),
                 "error": max(error_scale * max(rec.error_positive[n].max(), rec.error_negative[n].max())
                              for n in rec.estimate)}
    mean = {kind: max(rec.firing_rate[n][kind][settled].mean(axis=0).max() for n in rec.estimate)
            for kind in ("estimate", "error+", "error-")}
    spikes = {}
    for population, monitor in monitors.items():   # trial 0: the first units × N neurons
        first_trial = np.asarray(monitor.i) < circuit.columns["z1"].error_size * (2 if population == "error" else 1) \
            * population_size
        spikes[population] = (np.asarray(monitor.t / ms)[first_trial], np.asarray(monitor.i)[first_trial])
    return {"recording": rec, "decoded": decoded, "exact": star, "error": float(np.sqrt(np.mean(relative ** 2))),
            "trial_errors": relative, "unit_error": float(np.sqrt(np.mean(unit_relative ** 2))),
            "peak_rate_hz": intensity, "settled_mean_rate_hz": mean, "wall_seconds": wall, "spikes": spikes,
            "spiking": spiking}


def simulate(duration=DEFAULT_DURATION, seed=0, *, estimate_scale=ESTIMATE_SCALE, error_scale=ERROR_SCALE,
             population_sizes=POPULATION_SIZES, trials=TRIALS, dt=DT) -> Outcome:
    """Run the rate circuit and the spiking one for every N; ``seed`` draws the model and seeds
    the spikes; the scales κ_μ and κ_ε map μ and ε± onto firing rates. ``duration``: at least
    ``MINIMUM_DURATION`` (the averages start at ``SETTLE``), a whole number of steps ``dt``."""
    dt = as_time(dt, "dt")
    check_duration(duration, SETTLE + RECORD * dt, dt, NAME)
    if isinstance(population_sizes, (str, bytes)) or not np.iterable(population_sizes) or not len(population_sizes):
        raise ValueError(f"population_sizes must be a non-empty sequence of positive integers, got {population_sizes!r}")
    parts = model(seed)
    rate = build(parts, dt=dt)
    rate_rec = rate.run(duration, stimulus=parts["observation"], record=RECORD)
    exact, _ = exact_posterior(rate, {"x": parts["observation"]})
    rate_error = float(np.linalg.norm(np.concatenate([rate.estimate(n) - exact[n] for n in LATENT]))
                       / np.linalg.norm(np.concatenate([exact[n] for n in LATENT])))
    runs = {n: spiking_run(parts, n, duration, seed, trials, raster=(n == RASTER_SIZE), dt=dt,
                           estimate_scale=estimate_scale, error_scale=error_scale) for n in population_sizes}
    sizes = np.array(population_sizes, dtype=float)
    errors = np.array([runs[n]["error"] for n in population_sizes])
    slope = float(np.polyfit(np.log(sizes), np.log(errors), 1)[0]) if len(sizes) > 1 else float("nan")
    largest = runs[population_sizes[-1]]
    summary = {
        "simulation": NAME, "seed": seed, "duration_ms": float(duration / ms), "dt_ms": float(dt / ms),
        "settle_ms": float(SETTLE / ms), "trials": trials, "sizes": list(SIZES),
        "spiking": {k: v for k, v in largest["spiking"].options().items()},
        "observation": parts["observation"], "exact_posterior_mean": exact,
        "rate_circuit_relative_error": rate_error,
        "population_sizes": [int(n) for n in population_sizes], "relative_error": errors,
        "error_by_population_size": {int(n): runs[n]["error"] for n in population_sizes},
        "trial_errors_by_population_size": {int(n): runs[n]["trial_errors"] for n in population_sizes},
        "unit_error_by_population_size": {int(n): runs[n]["unit_error"] for n in population_sizes},
        "log_log_slope": slope,
        "peak_rate_hz_by_population_size": {int(n): runs[n]["peak_rate_hz"] for n in population_sizes},
        "settled_mean_rate_hz_by_population_size": {int(n): runs[n]["settled_mean_rate_hz"] for n in population_sizes},
        "wall_seconds_by_population_size": {int(n): runs[n]["wall_seconds"] for n in population_sizes},
        "time_averaged_estimate_largest_n": largest["decoded"],
    }
    table = [(f"error at N = {n}", runs[n]["error"], "~ 1/sqrt N") for n in population_sizes]
    table += [("log-log slope", slope, -0.5), ("rate circuit error", rate_error, "< 1e-6"),
              ("peak rate at largest N (Hz)", max(largest["peak_rate_hz"].values()), "<= 200")]
    def figures():
        drawn = {"spiking_convergence": _convergence_figure(sizes, errors, runs, population_sizes)}
        if RASTER_SIZE in runs:
            drawn["spiking_rasters"] = _raster_figure(rate_rec, runs[RASTER_SIZE])
        return drawn
    return Outcome(summary, table, figures)


@style.styled
def _convergence_figure(sizes, errors, runs, population_sizes):
    figure, ax = style.figure(width="single", height=2.8)
    for n in population_sizes:
        ax.loglog([n] * len(runs[n]["trial_errors"]), runs[n]["trial_errors"], ".", color=style.GREY, ms=3)
    ax.loglog(sizes, errors, "o-", color=style.COLORS["circuit"], label="spiking (RMS over trials; dots: trials)")
    ax.loglog(sizes, errors[0] * np.sqrt(sizes[0] / sizes), "--", color=style.COLORS["reference"], lw=1,
              label="∝ 1/√N")
    style.tolerance_line(ax, 0.05, "5 %")
    style.label(ax, x="neurons per unit N", y=("error ‖μ̄ − μ*‖ / ‖μ*‖", "1"),
                title="time-averaged spiking estimate vs exact posterior")
    ax.legend(loc="lower left")
    return figure


@style.styled
def _raster_figure(rate_rec, run):
    """Rasters of z1's estimate, ε+ and ε− populations (trial 0) over their firing rates:
    the spiking read-out (thin) and the rate circuit's rates (dashed)."""
    spiking, rec, size = run["spiking"], run["recording"], run["spiking"].population_size
    baseline, scale = spiking.code("estimate")
    error_scale = spiking.code("error")[1]
    t_rate, t = np.asarray(rate_rec.t / ms), np.asarray(rec.t / ms)
    panels = [("estimate μ", "estimate", 0, baseline + scale * rate_rec.estimate["z1"], rec.firing_rate["z1"]["estimate"]),
              ("error ε+", "error", 0, error_scale * rate_rec.error_positive["z1"], rec.firing_rate["z1"]["error+"]),
              ("error ε−", "error", 1, error_scale * rate_rec.error_negative["z1"], rec.firing_rate["z1"]["error-"])]
    figure, axes = style.figure(6, 1, height=7.0, sharex=True, gridspec_kw={"height_ratios": [1.3, 1] * 3})
    units = rate_rec.estimate["z1"].shape[1]
    for (label, population, half, rate, readout), raster, rates in zip(panels, axes[::2], axes[1::2]):
        times, neurons = run["spikes"][population]
        for unit in range(units):
            colour = style.PALETTE[unit % len(style.PALETTE)]
            first = (half * units + unit) * size
            chosen = (neurons >= first) & (neurons < first + size)
            raster.plot(times[chosen], neurons[chosen] - first + unit * size, "|", ms=2, color=colour)
            rates.plot(t, readout[:, 0, unit], lw=0.8, color=colour, alpha=0.8)
            rates.plot(t_rate, rate[:, unit], "--", lw=1.4, color=colour, label=f"unit {unit + 1}")
        raster.set(ylim=(0, units * size), yticks=[])
        style.label(raster, y="neurons")
        raster.set_title(f"z1 {label}: {units} × N = {size} Poisson neurons (trial 0)", loc="left")
        style.label(rates, y=("rate", "Hz"))
    axes[1].legend(ncols=2, title="read-out (thin) / rate circuit (dashed)", title_fontsize=7.5)
    style.label(axes[-1], x=("time", "ms"))
    style.panel_letters(figure, axes[::2])
    return figure
