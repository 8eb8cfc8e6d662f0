"""A random 3-level linear Gaussian hierarchy: the circuit settles on the exact posterior mean."""
from __future__ import annotations

import numpy as np
from brian2 import ms

from ..circuit import Circuit
from ..energy import free_energy_by_level
from ..gaussian import exact_posterior
from ..sweeps import Output, Parameter
from . import style
from .duration import check_duration
from .outcome import Outcome

NAME = "linear-gaussian"
DESCRIPTION = ("3-level linear Gaussian hierarchy (sizes 8, 4, 2) with random weights and full "
               "covariances; compares the settled estimates with the closed-form posterior mean")
DEFAULT_DURATION = 400 * ms
DURATION_STEP = MINIMUM_DURATION = 0.1 * ms   # dt
SIZES = (8, 4, 2)
TAU_ESTIMATE, TAU_ERROR = 10 * ms, 2 * ms
PARAMETERS = (Parameter("tau_estimate", float(TAU_ESTIMATE / ms), ms, "τ_μ of the estimate neurons"),
              Parameter("tau_error", float(TAU_ERROR / ms), ms, "τ_ε of the error neurons"))
OUTPUTS = (Output("relative_error_z1", (), "1", "|μ_z1 − μ*_z1| / |μ*_z1| at the end", "relative_error/z1"),
           Output("relative_error_z2", (), "1", "|μ_z2 − μ*_z2| / |μ*_z2| at the end", "relative_error/z2"),
           Output("free_energy_final", (), "nat", "F at the end of the run"),
           Output("free_energy_at_exact_posterior", (), "nat", "F at the exact posterior mean"))


def _random_covariance(rng, size):
    q, _ = np.linalg.qr(rng.normal(size=(size, size)))
    return q @ np.diag(rng.uniform(0.5, 1.5, size)) @ q.T


def build(seed: int, tau_estimate=TAU_ESTIMATE, tau_error=TAU_ERROR):
    """The circuit, and an observation x sampled from its own generative model."""
    rng = np.random.default_rng(seed)
    circuit = Circuit(dt=0.1 * ms, tau_estimate=tau_estimate, tau_error=tau_error)
    x = circuit.sensory("x", SIZES[0], covariance=_random_covariance(rng, SIZES[0]))
    z1 = circuit.column("z1", SIZES[1], covariance=_random_covariance(rng, SIZES[1]))
    z2 = circuit.column("z2", SIZES[2], covariance=_random_covariance(rng, SIZES[2]),
                        prior_mean=rng.normal(size=SIZES[2]))
    circuit.connect(z1, x, weights=rng.normal(size=(SIZES[0], SIZES[1])) / 2)
    circuit.connect(z2, z1, weights=rng.normal(size=(SIZES[1], SIZES[2])) / 2)
    # ancestral sample: z2 ~ N(m, Σ2), z1 ~ N(W1 z2, Σ1), x ~ N(W0 z1, Σ0)
    sample = rng.multivariate_normal(z2.prior_mean, z2.covariance)
    for lower, projection in ((z1, z2.upward[0]), (x, z1.upward[0])):
        sample = rng.multivariate_normal(projection.weights @ sample + lower.offset, lower.covariance)
    return circuit, sample


def simulate(duration=DEFAULT_DURATION, seed=0, *, tau_estimate=TAU_ESTIMATE, tau_error=TAU_ERROR) -> Outcome:
    """``seed`` draws the hierarchy and the observation."""
    check_duration(duration, MINIMUM_DURATION, DURATION_STEP, NAME)
    circuit, x = build(seed, tau_estimate, tau_error)
    rec = circuit.run(duration, stimulus=x)
    exact, _ = exact_posterior(circuit, {"x": x})
    optimum = {"x": x, **exact}
    f_star = float(sum(free_energy_by_level(circuit.columns.values(), optimum).values()))
    relative = {name: float(np.linalg.norm(circuit.estimate(name) - mu) / np.linalg.norm(mu))
                for name, mu in exact.items()}
    summary = {
        "simulation": NAME, "seed": seed, "duration_ms": float(duration / ms),
        "dt_ms": float(circuit.dt / ms), "tau_estimate_ms": float(circuit.tau_estimate / ms),
        "tau_error_ms": float(circuit.tau_error / ms), "sizes": list(SIZES),
        "observation": x,
        "estimate": {name: circuit.estimate(name) for name in exact},
        "exact_posterior_mean": exact,
        "relative_error": relative,
        "free_energy_final": float(rec.free_energy[-1]),
        "free_energy_at_exact_posterior": f_star,
    }
    table = [(f"|mu_{n} - mu*_{n}| / |mu*_{n}|", relative[n], "< 1e-6 once settled") for n in exact]
    table.append(("free energy F", float(rec.free_energy[-1]), f_star))
    return Outcome(summary, table, lambda: {"linear_gaussian": _figure(rec, exact, f_star)})


@style.styled
def _figure(rec, exact, f_star):
    figure, axes = style.figure(1, 3, height=2.4)
    t = np.asarray(rec.t / ms)
    for ax, name in zip(axes[:2], exact):
        for k in range(rec.estimate[name].shape[1]):
            ax.plot(t, rec.estimate[name][:, k], lw=1.6)
        # the exact means on top, in black, so that they stay visible where the traces settle
        ax.hlines(exact[name], t[0], t[-1], color=style.COLORS["exact"], ls=(0, (3, 3)), lw=0.9, zorder=3)
        style.label(ax, x=("time", "ms"), y=(f"estimates μ of {name}", "a.u."),
                    title=f"column {name} ({len(exact[name])} neurons)")
    figure.legend(handles=[style.legend_entry(color=style.PALETTE[0], lw=1.6),
                           style.legend_entry(color=style.COLORS["exact"], ls=(0, (3, 3)), lw=0.9)],
                  labels=["circuit estimates μ (one colour per neuron)", "exact posterior mean (closed form)"],
                  loc="outside lower center", ncols=2)
    axes[2].semilogy(t, np.maximum(rec.free_energy - f_star, 1e-14), color=style.COLORS["reference"])
    axes[2].set_ylim(1e-14, None)
    style.label(axes[2], x=("time", "ms"), y=("F(t) − F(μ*)", "nats"), title="free energy above its minimum")
    style.tolerance_line(axes[2], 1e-14, "rounding floor 1e-14")
    style.panel_letters(figure)
    return figure
