"""Bogacz (2017) exercises 1–3: perceiving a food item's size v from light intensity u = g(v).

Prior v ~ N(v_p = 3, Σ_p = 1); observation u = 2 with u | v ~ N(g(v) = v², Σ_u = 1). The
most likely size φ* solves 2φ³ − 3φ − 3 = 0, φ* = 1.567468. The circuit (one latent column φ
predicting one sensory column u through the user-given activation g(v) = v²) is Bogacz's
Fig. 3 network; gradient ascent on log p(φ, u) (Fig. 2b) is its limit of instant errors.
"""
from __future__ import annotations

import numpy as np
from brian2 import ms

from ..circuit import Circuit
from ..sweeps import Output, Parameter
from . import style
from .duration import check_duration
from .outcome import Outcome

NAME = "bogacz-perception"
DESCRIPTION = ("Bogacz 2017 exercises 1-3: one latent column with prior N(3, 1) explains "
               "u = 2 through g(v) = v^2; converges to phi* = 1.567468")
DEFAULT_DURATION = 600 * ms
DURATION_STEP = MINIMUM_DURATION = 0.1 * ms   # dt
OBSERVATION, PRIOR_MEAN, PRIOR_VARIANCE, SENSORY_VARIANCE = 2.0, 3.0, 1.0, 1.0
TAU = 10 * ms
PARAMETERS = (Parameter("observation", OBSERVATION, None, "the light intensity u"),
              Parameter("sensory_variance", SENSORY_VARIANCE, None, "Σ_u of u | v ~ N(v², Σ_u)"))
OUTPUTS = (Output("phi", (), "1", "φ at the end (the circuit)"),
           Output("phi_star", (), "1", "the most likely size φ* (root of the cubic)"),
           Output("phi_gradient_ascent", (), "1", "φ after the same time of gradient ascent"),
           Output("error_prior", (), "1", "ε_p at the end"),
           Output("error_sensory", (), "1", "ε_u at the end"))


def most_likely(observation=OBSERVATION, sensory_variance=SENSORY_VARIANCE) -> float:
    """φ* = argmax p(φ | u): of the real roots of the stationarity condition
    Σ_u (v_p − φ) + 2 Σ_p φ (u − φ²) = 0, the one of highest posterior density."""
    roots = np.roots([-2 * PRIOR_VARIANCE, 0, 2 * PRIOR_VARIANCE * observation - sensory_variance,
                      sensory_variance * PRIOR_MEAN])
    real = roots[np.abs(roots.imag) < 1e-9].real
    log_joint = -(real - PRIOR_MEAN) ** 2 / (2 * PRIOR_VARIANCE) - (observation - real ** 2) ** 2 / (2 * sensory_variance)
    return float(real[np.argmax(log_joint)])


PHI_STAR = most_likely()


def build(sensory_variance=SENSORY_VARIANCE) -> Circuit:
    """Bogacz's Fig. 3 network, with equal time constants for estimate and error neurons."""
    circuit = Circuit(dt=0.1 * ms, tau_estimate=TAU, tau_error=TAU)
    u = circuit.sensory("u", size=1, covariance=sensory_variance)
    phi = circuit.column("phi", size=1, prior_mean=PRIOR_MEAN, covariance=PRIOR_VARIANCE)
    circuit.connect(phi, u, weights=[[1.0]], activation=("x**2", "2*x"))
    return circuit


def gradient_ascent(steps: int, dt: float, tau: float, observation=OBSERVATION,
                    sensory_variance=SENSORY_VARIANCE) -> np.ndarray:
    """Bogacz exercise 2: Euler steps of τ dφ/dt = (v_p − φ)/Σ_p + (u − φ²)/Σ_u · 2φ from φ = v_p."""
    phi = np.empty(steps)
    phi[0] = PRIOR_MEAN
    for n in range(1, steps):
        p = phi[n - 1]
        slope = (PRIOR_MEAN - p) / PRIOR_VARIANCE + (observation - p ** 2) / sensory_variance * 2 * p
        phi[n] = p + dt / tau * slope
    return phi


def posterior_density(v: np.ndarray, observation=OBSERVATION, sensory_variance=SENSORY_VARIANCE) -> np.ndarray:
    """Bogacz exercise 1: p(v | u) ∝ p(v) p(u | v), normalised numerically on the grid ``v``."""
    unnormalised = (np.exp(-(v - PRIOR_MEAN) ** 2 / (2 * PRIOR_VARIANCE))
                    * np.exp(-(observation - v ** 2) ** 2 / (2 * sensory_variance)))
    return unnormalised / np.trapezoid(unnormalised, v)


def simulate(duration=DEFAULT_DURATION, seed=0, *, observation=OBSERVATION,
             sensory_variance=SENSORY_VARIANCE) -> Outcome:
    """``seed`` is recorded but unused: this simulation is deterministic."""
    check_duration(duration, MINIMUM_DURATION, DURATION_STEP, NAME)
    circuit = build(sensory_variance)
    rec = circuit.run(duration, stimulus=[observation])
    phi, error_prior, error_sensory = circuit.estimate("phi")[0], circuit.error("phi")[0], circuit.error("u")[0]
    ascent = gradient_ascent(len(rec.t), float(circuit.dt), float(TAU), observation, sensory_variance)
    phi_star = most_likely(observation, sensory_variance)
    expected_prior, expected_sensory = (phi_star - PRIOR_MEAN) / PRIOR_VARIANCE, (observation - phi_star ** 2) / sensory_variance
    summary = {
        "simulation": NAME, "seed": seed, "duration_ms": float(duration / ms),
        "dt_ms": float(circuit.dt / ms), "tau_ms": float(TAU / ms),
        "observation_u": observation, "prior_mean_v_p": PRIOR_MEAN,
        "prior_variance_sigma_p": PRIOR_VARIANCE, "sensory_variance_sigma_u": sensory_variance,
        "phi": phi, "phi_star": phi_star, "phi_gradient_ascent": float(ascent[-1]),
        "error_prior": error_prior, "error_prior_expected": expected_prior,
        "error_sensory": error_sensory, "error_sensory_expected": expected_sensory,
    }
    table = [("phi (circuit)", phi, phi_star),
             ("phi (gradient ascent)", float(ascent[-1]), phi_star),
             ("eps_p", error_prior, expected_prior),
             ("eps_u", error_sensory, expected_sensory)]
    t = np.asarray(rec.t / ms)
    return Outcome(summary, table, lambda: {
        "bogacz_fig2a_posterior": _posterior_figure(phi_star, observation, sensory_variance),
        "bogacz_fig2b_gradient_ascent": _ascent_figure(t, ascent, rec.estimate["phi"][:, 0], phi_star),
        "bogacz_fig3_network": _network_figure(t, rec)})


@style.styled
def _posterior_figure(phi_star, observation, sensory_variance):
    figure, ax = style.figure(width="single", height=2.5)
    v = np.linspace(0.01, 5, 1000)
    ax.plot(v, posterior_density(v, observation, sensory_variance), color=style.COLORS["reference"])
    ax.axvline(phi_star, color=style.COLORS["prediction"], ls="--", lw=1, label=f"φ* = {phi_star:.6f}")
    style.label(ax, x=("food size v", "a.u."), y=("posterior density p(v | u)", "1/a.u."),
                title=f"Fig. 2a: posterior given u = {observation:g}")
    ax.legend()
    return figure


@style.styled
def _ascent_figure(t, ascent, circuit_phi, phi_star):
    figure, ax = style.figure(width="single", height=2.5)
    ax.plot(t, ascent, color=style.COLORS["reference"], label="gradient ascent (exercise 2)")
    ax.plot(t, circuit_phi, color=style.COLORS["circuit"], ls="--", label="neural circuit (exercise 3)")
    ax.axhline(phi_star, color=style.COLORS["prediction"], lw=0.8, ls=":", label=f"φ* = {phi_star:.4f}")
    ax.set_xlim(0, t[-1] + (t[1] - t[0] if len(t) > 1 else 0))
    style.label(ax, x=("time", "ms"), y=("estimate φ", "a.u."), title="Fig. 2b: estimate over time")
    ax.legend(loc="upper right")
    return figure


@style.styled
def _network_figure(t, rec):
    figure, ax = style.figure(width="single", height=2.5)
    ax.plot(t, rec.estimate["phi"][:, 0], label="φ (estimate)")
    ax.plot(t, rec.error["phi"][:, 0], label="ε_p (prior error)")
    ax.plot(t, rec.error["u"][:, 0], label="ε_u (sensory error)")
    ax.axhline(0, color=style.GREY, lw=0.6)
    ax.set_xlim(0, t[-1] + (t[1] - t[0] if len(t) > 1 else 0))
    style.label(ax, x=("time", "ms"), y=("activity", "a.u."), title="Fig. 3: the circuit's activity")
    ax.legend(loc="center right")
    return figure
