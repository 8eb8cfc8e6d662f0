"""Dynamic predictive coding: tracking in generalized coordinates of motion.

1. A sine y = sin(ωt) (ω = 1 rad/s) tracked by one estimate with gain κ = Π/τ_μ = 10 s⁻¹.
   Plain gradient descent, dμ/dt = κ(y − μ), lags with a steady-state error amplitude
   ω/√(ω² + κ²) = 0.0995. With the velocity coordinate, dμ̃/dt = D μ̃ + κ(ỹ − μ̃) on
   ỹ = (y, y′), the error falls to ω²/(ω² + κ²) = 0.0099 (S(s) = I at order 2 for s = 1/√2).
2. A damped oscillator x′ = A x (ω₀ = 1 rad/s, ζ = 0.05), observed as y = x₁ + smooth noise
   (σ = 0.1, smoothness 0.5 s). A hidden-state column with the flow A in generalized
   coordinates (order 3) tracks position and velocity; an order-1 column (plain gradient
   descent on the same observation) lags behind the position and cannot see the velocity.
"""
from __future__ import annotations

import numpy as np
from brian2 import ms, second
from scipy.linalg import expm

from ..circuit import Circuit
from ..sweeps import Output
from . import style
from .duration import check_duration
from .outcome import Outcome

NAME = "generalized-tracking"
DESCRIPTION = ("dynamic predictive coding: a sine tracked with and without the velocity coordinate "
               "(errors 0.0995 vs 0.0099), and a noisy damped oscillator tracked by a hidden-state "
               "column in generalized coordinates (order 3) vs order 1")
DEFAULT_DURATION = 16000 * ms
DT, TAU_ESTIMATE, TAU_ERROR = 0.2 * ms, 100 * ms, 2 * ms
OMEGA, KAPPA = 1.0, 10.0                    # sine: rad/s; gain Π/τ_μ (s⁻¹)
SINE_DURATION = 8.0                         # s: the last period 2π is measured
OSCILLATOR_FREQUENCY, DAMPING = 1.0, 0.05   # ω₀ (rad/s), ζ
NOISE, SMOOTHNESS, ORDER = 0.1, 0.5, 3      # observation noise σ, its smoothness s (s), order
SENSORY_VARIANCE, STATE_VARIANCE = 0.1, 0.1
BURN_IN = 5.0                               # s before the oscillator errors are measured
DURATION_STEP, MINIMUM_DURATION = DT, (BURN_IN + 1) * second
PARAMETERS = ()                             # seeds only: each draws the observation noise
OUTPUTS = (
    Output("sine_error_order_1", (), "1", "error amplitude tracking the sine at order 1", "sine/error_order_1"),
    Output("sine_error_order_2", (), "1", "error amplitude tracking the sine at order 2", "sine/error_order_2"),
    Output("oscillator_rms_order_1", ("coordinate",), "1", "RMS error of (position, velocity) after the "
           "burn-in, order 1", "oscillator/rms_order_1"),
    Output(f"oscillator_rms_order_{ORDER}", ("coordinate",), "1", "RMS error of (position, velocity) after "
           f"the burn-in, order {ORDER} with the flow", f"oscillator/rms_order_{ORDER}"),
)


def sine_error_amplitudes() -> tuple[float, float]:
    """The closed forms: (ω/√(ω²+κ²), ω²/(ω²+κ²))."""
    return OMEGA / np.hypot(OMEGA, KAPPA), OMEGA ** 2 / (OMEGA ** 2 + KAPPA ** 2)


def track_sine(order: int, duration=SINE_DURATION):
    """(t, y, μ, error amplitude over the last period) for the sine tracked at ``order`` 1 or 2."""
    circuit = Circuit(dt=DT, tau_estimate=TAU_ESTIMATE, tau_error=TAU_ERROR)
    # unit precision at both orders (S = I for s = 1/√2), so κ = 1/τ_μ at each
    options = dict(order=order, smoothness=1 / np.sqrt(2)) if order > 1 else {}
    circuit.sensory("y", 1, covariance=1 / (KAPPA * float(TAU_ESTIMATE)), **options)
    circuit.column("x", 1, flat_prior=True, **options)
    circuit.connect("x", "y", [[1.0]])
    t = np.arange(int(round(duration / float(DT)))) * float(DT)
    derivatives = [np.sin(OMEGA * t), OMEGA * np.cos(OMEGA * t)]
    rec = circuit.run(duration * second, stimulus=np.stack(derivatives[:order], axis=1), record=10)
    times = np.asarray(rec.t)
    target, estimate = np.sin(OMEGA * times), rec.estimate["x"][:, 0]
    last_period = times > duration - 2 * np.pi / OMEGA
    return times, target, estimate, float(np.abs(target - estimate)[last_period].max())


def oscillator(duration: float, seed: int):
    """(t, x (T, 2), generalized observation ỹ (T, ORDER)): the damped oscillator from
    x(0) = (1, 0) and its observation y = x₁ + smooth noise with exact derivatives."""
    A = oscillator_flow()
    steps = int(round(duration / float(DT)))
    t = np.arange(steps) * float(DT)
    propagator = expm(A * float(DT))
    x = np.empty((steps, 2))
    x[0] = (1.0, 0.0)
    for k in range(1, steps):
        x[k] = propagator @ x[k - 1]
    noise = smooth_noise(steps, NOISE, SMOOTHNESS, ORDER, np.random.default_rng(seed))
    position = [(x @ np.linalg.matrix_power(A, k).T)[:, 0] for k in range(ORDER)]
    return t, x, np.stack(position, axis=1) + noise


def oscillator_flow() -> np.ndarray:
    """A of x′ = A x for position and velocity."""
    return np.array([[0.0, 1.0], [-OSCILLATOR_FREQUENCY ** 2, -2 * DAMPING * OSCILLATOR_FREQUENCY]])


def smooth_noise(steps: int, sigma: float, smoothness: float, order: int, rng) -> np.ndarray:
    """(steps, order): white noise smoothed by a Gaussian kernel exp(−h²/2s²) (autocorrelation
    exp(−h²/4s²), the form of :mod:`circuits.generalized`), scaled to standard deviation σ,
    and its exact derivatives (the same white noise through the kernel's derivatives)."""
    dt = float(DT)
    h = np.arange(-5 * smoothness, 5 * smoothness + dt / 2, dt)
    kernel = np.exp(-h ** 2 / (2 * smoothness ** 2))
    kernels = [kernel, -h / smoothness ** 2 * kernel, (h ** 2 / smoothness ** 4 - 1 / smoothness ** 2) * kernel]
    white = rng.normal(size=steps + len(h) - 1)
    scale = sigma / np.sqrt(np.sum(kernel ** 2))
    return np.stack([np.convolve(white, k, "valid") * scale for k in kernels[:order]], axis=1)


def track_oscillator(order: int, t, x, observation):
    """RMS errors (position, velocity) after the burn-in and the estimated trajectory."""
    circuit = Circuit(dt=DT, tau_estimate=TAU_ESTIMATE, tau_error=TAU_ERROR)
    if order == 1:
        circuit.sensory("y", 1, covariance=SENSORY_VARIANCE)
        circuit.column("x", 2, flat_prior=True)
    else:
        circuit.sensory("y", 1, covariance=SENSORY_VARIANCE, order=order, smoothness=SMOOTHNESS)
        circuit.column("x", 2, covariance=STATE_VARIANCE, order=order, smoothness=SMOOTHNESS,
                       dynamics=oscillator_flow())
    circuit.connect("x", "y", [[1.0, 0.0]])
    rec = circuit.run(len(t) * DT, stimulus=observation[:, :order], record=10)
    estimate = rec.estimate["x"][:, :2]
    truth = x[::10][:len(estimate)]
    late = np.asarray(rec.t) >= BURN_IN
    rms = np.sqrt(np.mean((estimate[late] - truth[late]) ** 2, axis=0))
    return rms, np.asarray(rec.t), estimate


def simulate(duration=DEFAULT_DURATION, seed=0) -> Outcome:
    """``duration``: of the oscillator run (the sine runs take 8 s each); ``seed``: its noise."""
    check_duration(duration, MINIMUM_DURATION, DURATION_STEP, NAME)
    duration = float(duration / second)
    plain_expected, moving_expected = sine_error_amplitudes()
    sine = {order: track_sine(order) for order in (1, 2)}
    t, x, observation = oscillator(duration, seed)
    tracked = {order: track_oscillator(order, t, x, observation) for order in (1, ORDER)}
    summary = {"simulation": NAME, "seed": seed, "duration_s": duration, "dt_ms": float(DT / ms),
               "tau_estimate_ms": float(TAU_ESTIMATE / ms), "tau_error_ms": float(TAU_ERROR / ms),
               "sine": {"omega": OMEGA, "kappa": KAPPA,
                        "error_order_1": sine[1][3], "expected_order_1": plain_expected,
                        "error_order_2": sine[2][3], "expected_order_2": moving_expected},
               "oscillator": {"frequency": OSCILLATOR_FREQUENCY, "damping": DAMPING, "noise": NOISE,
                              "smoothness": SMOOTHNESS, "order": ORDER, "burn_in_s": BURN_IN,
                              "rms_order_1": tracked[1][0], f"rms_order_{ORDER}": tracked[ORDER][0],
                              "rms_observation_noise": float(np.sqrt(np.mean(
                                  (observation[t >= BURN_IN, 0] - x[t >= BURN_IN, 0]) ** 2)))}}
    table = [("sine error, order 1", sine[1][3], plain_expected),
             ("sine error, order 2", sine[2][3], moving_expected),
             ("oscillator RMS position, order 1", float(tracked[1][0][0]), "> order 3"),
             (f"oscillator RMS position, order {ORDER}", float(tracked[ORDER][0][0]), "< order 1"),
             ("oscillator RMS velocity, order 1", float(tracked[1][0][1]), "(not observed)"),
             (f"oscillator RMS velocity, order {ORDER}", float(tracked[ORDER][0][1]), "< order 1")]
    return Outcome(summary, table, lambda: {"generalized_tracking": _figure(sine, (t, x, observation), tracked)})


@style.styled
def _figure(sine, data, tracked):
    figure, axes = style.figure(2, 2, height=4.8)
    times, target = sine[1][0], sine[1][1]
    colors = {1: style.PALETTE[0], 2: style.PALETTE[1], ORDER: style.PALETTE[1]}
    axes[0, 0].plot(times, target, color=style.GREY, lw=3, label="y = sin t")
    for order in (1, 2):
        axes[0, 0].plot(times, sine[order][2], color=colors[order], label=f"μ, order {order}")
        axes[0, 1].plot(times, target - sine[order][2], color=colors[order],
                        label=f"order {order}: max |y − μ| = {sine[order][3]:.4f}")
    style.label(axes[0, 0], x=("time", "s"), y=("y, μ", "a.u."), title=f"tracking a sine (κ = {KAPPA:g} s⁻¹)")
    style.label(axes[0, 1], x=("time", "s"), y=("tracking error y − μ", "a.u."),
                title="error: ω/√(ω²+κ²) vs ω²/(ω²+κ²)")
    t, x, observation = data
    axes[1, 0].plot(t, observation[:, 0], color=style.GREY, lw=0.6, label="observation y")
    axes[1, 0].plot(t, x[:, 0], color=style.COLORS["reference"], lw=1.5, label="true position")
    for order in (1, ORDER):
        rms, times, estimate = tracked[order]
        axes[1, 0].plot(times, estimate[:, 0], color=colors[order], lw=1, label=f"order {order} (RMS {rms[0]:.3f})")
        axes[1, 1].plot(times, estimate[:, 1], color=colors[order], lw=1, label=f"order {order} (RMS {rms[1]:.3f})")
    axes[1, 1].plot(t, x[:, 1], color=style.COLORS["reference"], lw=1.5, label="true velocity")
    style.label(axes[1, 0], x=("time", "s"), y=("position", "a.u."), title="damped oscillator: position")
    style.label(axes[1, 1], x=("time", "s"), y=("velocity", "a.u./s"), title="velocity (never observed)")
    axes[0, 1].set_ylim(-0.12, 0.2)
    for axis, room, columns in zip(axes.flat, (0.3, 0, 0.6, 0.6), (3, 1, 2, 2)):
        style.headroom(axis, room)
        axis.legend(loc="upper right", ncols=columns)
    for axis in axes[1]:
        style.tolerance_line(axis, BURN_IN, f"RMS measured after {BURN_IN:g} s", horizontal=False)
    style.panel_letters(figure)
    return figure
