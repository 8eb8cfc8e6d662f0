"""Bogacz (2017) §5, exercise 5: learning the variance Σ of φ ~ N(5, 2) through an interneuron.

One error neuron ε and one interneuron e per column (τ dε/dt = φ − g − e, τ de/dt = Σ ε − e);
each trial presents a new sample φ for 20 τ, then ΔΣ = 0.01 (ε e − 1). Σ starts at 1 and
fluctuates around the true variance 2.
"""
from __future__ import annotations

import numpy as np
from brian2 import StateMonitor, ms

from ..circuit import Circuit
from ..sweeps import Output, Parameter
from . import style
from .duration import check_duration
from .outcome import Outcome

NAME = "bogacz-variance"
DESCRIPTION = ("Bogacz 2017 exercise 5: an error neuron and an interneuron learn the variance "
               "(true 2) of phi ~ N(5, 2), one update per 20-tau trial; --duration sets the trials")
TRIAL = 200 * ms           # 20 τ
DEFAULT_DURATION = 1000 * TRIAL
DURATION_STEP, MINIMUM_DURATION = TRIAL, 2 * TRIAL
MEAN, VARIANCE, RATE = 5.0, 2.0, 0.01
PARAMETERS = (Parameter("learning_rate", RATE, None, "α of ΔΣ = α (ε e − 1), once per trial"),)
OUTPUTS = (Output("variance_final", (), "1", "Σ after the last trial"),
           Output("variance_mean_second_half", (), "1", "mean Σ over the second half of the trials"),
           Output("variance_std_second_half", (), "1", "standard deviation of Σ over the second half"))


def build(learning_rate=RATE) -> Circuit:
    circuit = Circuit(dt=1 * ms, tau_estimate=10 * ms, tau_error=10 * ms)
    circuit.sensory("phi", 1, covariance=1.0, prior_mean=MEAN, learn_covariance=True,
                    covariance_learning_rate=learning_rate)
    return circuit


def simulate(duration=DEFAULT_DURATION, seed=0, *, learning_rate=RATE) -> Outcome:
    """``seed`` draws the samples of φ."""
    trials = check_duration(duration, MINIMUM_DURATION, DURATION_STEP, NAME)
    samples = np.random.default_rng(seed).normal(MEAN, np.sqrt(VARIANCE), size=(trials, 1))
    example_circuit = build()
    interneuron = StateMonitor(example_circuit.columns["phi"].interneuron, "activity", record=True,
                               when="start")
    example_circuit.network.add(interneuron)
    example = example_circuit.run(TRIAL, stimulus=samples[0], learn=False)
    circuit = build(learning_rate)
    rec = circuit.run_sequence(samples, item_duration=TRIAL)
    sigma = rec.trial_covariance["phi"][:, 0, 0]
    later = sigma[trials // 2:]
    summary = {"simulation": NAME, "seed": seed, "trials": trials, "trial_ms": float(TRIAL / ms),
               "dt_ms": 1.0, "tau_ms": 10.0, "true_mean": MEAN, "true_variance": VARIANCE,
               "learning_rate": learning_rate, "initial_variance": 1.0,
               "variance_final": float(circuit.covariance("phi")[0, 0]),
               "variance_mean_second_half": float(later.mean()),
               "variance_std_second_half": float(later.std())}
    table = [("mean Sigma, 2nd half of trials", float(later.mean()), VARIANCE),
             ("final Sigma", float(circuit.covariance("phi")[0, 0]), VARIANCE)]
    return Outcome(summary, table, lambda: {
        "bogacz_variance": _figure(example, interneuron.activity[0], samples[0, 0], sigma, learning_rate)})


@style.styled
def _figure(example, interneuron, sample, sigma, learning_rate):
    figure, (left, right) = style.figure(1, 2, width_ratios=[1, 1.6])
    t = np.asarray(example.t / ms)
    left.plot(t, example.error["phi"][:, 0], label="ε (error neuron)")
    left.plot(t, interneuron, label="e (interneuron)")
    left.axhline(sample - MEAN, color=style.GREY, ls=":", lw=0.9, label="φ − g (fixed point, Σ = 1)")
    style.label(left, x=("time in trial", "ms"), y=("activity", "a.u."), title=f"one trial: φ = {sample:.2f}, Σ = 1")
    left.legend()
    right.plot(np.arange(1, len(sigma) + 1), sigma, color=style.COLORS["circuit"], lw=0.8, label="Σ (learned)")
    right.axhline(VARIANCE, color=style.COLORS["reference"], ls="--", lw=1, label=f"true variance {VARIANCE:g}")
    style.label(right, x="trial", y=("variance Σ", "a.u."), title=f"Σ over trials, ΔΣ = {learning_rate:g} (εe − 1)")
    right.legend(loc="lower right")
    style.panel_letters(figure)
    return figure
