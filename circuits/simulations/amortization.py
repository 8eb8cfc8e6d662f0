"""Amortized vs iterative inference on one linear Gaussian model (Marino 2022, Fig. 10).

Model: z ~ N(m, I) (3 latents), x = W z + noise, noise ~ N(0, ½ I) (8 inputs). The circuit's
latent column gets an encoder (proposal neurons μ_q = V x + c) and the encoder learns from the
settled estimates while the circuit infers item after item (hybrid inference, trial learning).
Then, on held-out inputs:

- the trained encoder's proposal vs the exact posterior mean (closed form);
- free energy vs time for iterative (from the prior mean), amortized (the proposal alone) and
  hybrid inference (proposal, then dynamics), and the time each takes to come within 1e-3 of
  the optimum F* = −log p(x, z*);
- iterative amortization: a second encoder without a proposal (V = 0, c = m) that learns one
  update μ ← μ + u from the errors it reads (trained on the same inputs, 80 ms per item: the
  errors settle for 20 ms at the proposal, then the dynamics refine the updated estimate);
- the Monte-Carlo ELBO of the Laplace and mean-field q around the settled estimate vs its
  closed form (and log p(x), which the Laplace ELBO equals).
"""
from __future__ import annotations

import numpy as np
from brian2 import ms

from ..circuit import Circuit
from ..gaussian import exact_posterior
from ..sweeps import Output
from . import style
from .duration import check_duration
from .outcome import Outcome

NAME = "amortization"
DESCRIPTION = ("amortized vs iterative inference on a linear Gaussian model: an encoder learns the "
               "posterior mean from the settled estimates; F vs time for iterative, amortized and "
               "hybrid inference; iterative amortization; Monte-Carlo ELBO")
DEFAULT_DURATION = 20000 * ms   # of training the encoder (items of ITEM)
LATENTS, INPUTS, NOISE_VARIANCE = 3, 8, 0.5
ITEM, TEST_ITEM, TEST_ITEMS = 50 * ms, 80 * ms, 40
UPDATE_ITEM, READ = 80 * ms, 20 * ms   # iterative amortization: item, and errors' settling time
TOLERANCE = 1e-3
DURATION_STEP, MINIMUM_DURATION = ITEM, 10 * ITEM
PARAMETERS = ()     # seeds only: each draws the model and the data
OUTPUTS = (Output("proposal_relative_error", (), "1", "encoder proposals vs the exact posterior means (held out)"),
           Output("amortization_gap_first_tenth", (), "nat", "mean F(μ_q) − F(μ settled), first tenth of training"),
           Output("amortization_gap_last_tenth", (), "nat", "the same, last tenth"),
           Output("iterative_amortization_relative_error", (), "1", "one learned update from the prior mean "
                                                                    "vs the exact posterior mean"),
           Output("log_evidence", (), "nat", "log p(x) of the first test input"))


def model(seed: int):
    """(W, prior mean m) of the generative model."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(INPUTS, LATENTS)) / np.sqrt(LATENTS), rng.normal(size=LATENTS) * 0.5


def data(count: int, seed: int, weights, prior_mean) -> np.ndarray:
    """``count`` inputs x = W z + noise with z from the prior, shape (count, INPUTS)."""
    rng = np.random.default_rng(seed)
    z = prior_mean + rng.normal(size=(count, LATENTS))
    return z @ weights.T + np.sqrt(NOISE_VARIANCE) * rng.normal(size=(count, INPUTS))


def build(weights, prior_mean, iterations=0, learning_rate=0.05, update_learning_rate=0.01) -> Circuit:
    """The circuit with an encoder on its latent column "z" (with ``iterations`` learned
    updates, the encoder starts from the prior mean, c = m)."""
    circuit = Circuit()
    circuit.sensory("x", INPUTS, covariance=NOISE_VARIANCE)
    circuit.column("z", LATENTS, covariance=1.0, prior_mean=prior_mean)
    circuit.connect("z", "x", weights)
    circuit.encoder("z", bias=prior_mean if iterations else 0.0, learning_rate=learning_rate,
                    iterations=iterations, update_learning_rate=update_learning_rate,
                    read_duration=READ if iterations else None)
    return circuit


def exact_means(circuit, inputs) -> np.ndarray:
    return np.array([exact_posterior(circuit, {"x": x})[0]["z"] for x in inputs])


def optimal_free_energy(circuit, inputs) -> np.ndarray:
    """F* = F(z*) = −log p(x, z*) per input, from the closed-form posterior."""
    return np.array([_free_energy_at(circuit, x, z) for x, z in zip(inputs, exact_means(circuit, inputs))])


def _free_energy_at(circuit, x, z) -> float:
    from ..energy import free_energy_by_level
    return float(sum(free_energy_by_level(circuit.columns.values(), {"x": x, "z": z}).values()))


def time_to_optimum(rec, steps_per_item: int, optimum, dt) -> np.ndarray:
    """Per item, the time (ms) after which F stays within TOLERANCE of its optimum (NaN: never)."""
    excess = rec.free_energy.reshape(-1, steps_per_item) - optimum[:, None]
    outside = np.abs(excess) > TOLERANCE
    last_outside = np.where(outside.any(axis=1), steps_per_item - 1 - np.argmax(outside[:, ::-1], axis=1), -1)
    times = (last_outside + 1) * float(dt / ms)
    return np.where(last_outside == steps_per_item - 1, np.nan, times)


def simulate(duration=DEFAULT_DURATION, seed=0) -> Outcome:
    """``duration``: simulated training time (items of 50 ms); ``seed``: model and data."""
    items = check_duration(duration, MINIMUM_DURATION, DURATION_STEP, NAME)
    weights, prior_mean = model(seed)
    train, test = data(items, seed + 1, weights, prior_mean), data(TEST_ITEMS, seed + 2, weights, prior_mean)

    circuit = build(weights, prior_mean)
    early_items = max(1, items // 20)
    exact = None
    stages = {}
    for stage, inputs in (("early", train[:early_items]), ("trained", train[early_items:])):
        training = circuit.run_sequence(inputs, ITEM, inference="hybrid")
        stages[stage] = _evaluate(circuit, test)
        stages[stage]["gap"] = training.amortization_gap
    gap = np.concatenate([stages["early"].pop("gap"), stages["trained"].pop("gap")])
    exact, optimum = stages["trained"]["exact"], stages["trained"]["optimum"]
    encoder = circuit.encoders["z"]
    proposals = test @ encoder.weights.T + encoder.bias
    proposal_error = float(np.linalg.norm(proposals - exact) / np.linalg.norm(exact))
    steps = int(round(float(TEST_ITEM / circuit.dt)))

    iterative_amortization = build(weights, prior_mean, iterations=1, learning_rate=0.0)
    iterative_amortization.run_sequence(train, UPDATE_ITEM, inference="hybrid")
    updated = iterative_amortization.run_sequence(test, TEST_ITEM, inference="amortized", learn=False,
                                                  record="all")
    update_error = float(np.linalg.norm(updated.trial_end["z"] - exact) / np.linalg.norm(exact))
    update_curve = updated.free_energy.reshape(TEST_ITEMS, steps) - optimum[:, None]

    circuit.run_sequence(test[:1], 200 * ms, learn=False)
    elbo = {q: circuit.elbo(samples=20000, seed=seed, covariance=q) for q in ("mean-field", "laplace")}
    closed = {q: circuit.elbo(covariance=q, method="closed-form")[0] for q in elbo}
    log_evidence = -_free_energy_at(circuit, test[0], exact[0]) + 0.5 * np.linalg.slogdet(
        2 * np.pi * exact_posterior(circuit, {"x": test[0]})[1])[1]

    tenth = max(1, items // 10)
    summary = {"simulation": NAME, "seed": seed, "training_items": items, "item_ms": float(ITEM / ms),
               "test_items": TEST_ITEMS, "test_item_ms": float(TEST_ITEM / ms),
               "proposal_relative_error": proposal_error,
               "amortization_gap_first_tenth": float(gap[:tenth].mean()),
               "amortization_gap_last_tenth": float(gap[-tenth:].mean()),
               "early_stage_items": early_items,
               **{f"{stage}_{key}": value for stage, result in stages.items()
                  for key, value in result["summary"].items()},
               "iterative_amortization_relative_error": update_error,
               "elbo_monte_carlo": {q: list(v) for q, v in elbo.items()}, "elbo_closed_form": closed,
               "free_energy_settled": circuit.free_energy(), "log_evidence": float(log_evidence)}
    table = [("encoder vs exact posterior (rel. error)", proposal_error, "< 0.01"),
             ("amortization gap, first tenth", float(gap[:tenth].mean()), "shrinks"),
             ("amortization gap, last tenth", float(gap[-tenth:].mean()), "→ 0"),
             *[(f"time to F* + 1e-3, {mode}, {stage} encoder (ms)", _time_taken(result["summary"], mode),
                "< iterative" if mode == "hybrid" else "")
               for stage, result in stages.items() for mode in ("iterative", "amortized", "hybrid")],
             ("one learned update vs exact (rel. error)", update_error, "< 0.05"),
             ("ELBO Laplace, Monte Carlo ± s.e.", f"{elbo['laplace'][0]:.4f} ± {elbo['laplace'][1]:.4f}",
              f"{closed['laplace']:.4f}"),
             ("ELBO mean-field, Monte Carlo ± s.e.", f"{elbo['mean-field'][0]:.4f} ± {elbo['mean-field'][1]:.4f}",
              f"{closed['mean-field']:.4f}"),
             ("log p(x) (= Laplace ELBO)", float(log_evidence), ""),
             ("-F (point estimate)", -circuit.free_energy(), "")]
    dt = float(circuit.dt / ms)
    return Outcome(summary, table, lambda: {
        "amortization": _figure(stages, update_curve, gap, proposals, exact, dt, early_items)})


def _time_taken(summary: dict, mode: str) -> str:
    """The table's entry for the time a mode takes to stay within TOLERANCE of F*."""
    reached, taken = summary["reached_optimum"][mode], summary["time_to_optimum_ms"][mode]
    if not reached:
        return f"never within {TOLERANCE:g} in {float(TEST_ITEM / ms):g} ms"
    return f"{taken:.1f}" + ("" if reached == TEST_ITEMS else f" ({reached} of {TEST_ITEMS} items reach it)")


def _evaluate(circuit, test) -> dict:
    """F − F* over time for each inference mode on the held-out inputs, with the encoder as
    it is now, and the time each mode takes to stay within TOLERANCE of F*."""
    exact = exact_means(circuit, test)
    optimum = optimal_free_energy(circuit, test)
    steps = int(round(float(TEST_ITEM / circuit.dt)))
    curves, times = {}, {}
    for mode in ("iterative", "amortized", "hybrid"):
        rec = circuit.run_sequence(test, TEST_ITEM, inference=mode, record="all", learn=False)
        curves[mode] = rec.free_energy.reshape(len(test), steps) - optimum[:, None]
        times[mode] = time_to_optimum(rec, steps, optimum, circuit.dt)
        if mode == "hybrid":
            gap = rec.amortization_gap
    summary = {"time_to_optimum_ms": {m: float(np.nanmean(t)) if np.any(~np.isnan(t)) else None
                                      for m, t in times.items()},
               "reached_optimum": {m: int(np.sum(~np.isnan(t))) for m, t in times.items()},
               "amortization_gap_held_out": float(gap.mean())}
    return {"exact": exact, "optimum": optimum, "curves": curves, "summary": summary}


FLOOR = 1e-12   # |F − F*| below this is rounding (F ≈ 10 nats in double precision)


@style.styled
def _figure(stages, update_curve, gap, proposals, exact, dt_ms, early_items):
    figure, axes = style.figure(2, 2, height=5.0)
    panels = {"early": axes[0, 0], "trained": axes[0, 1]}
    t = np.arange(update_curve.shape[1]) * dt_ms
    for stage, ax in panels.items():
        curves, summary = stages[stage]["curves"], stages[stage]["summary"]
        for mode in ("iterative", "amortized", "hybrid"):
            reached, taken = summary["reached_optimum"][mode], summary["time_to_optimum_ms"][mode]
            when = f"{taken:.0f} ms" if reached else f"never within {TOLERANCE:g}"
            ax.semilogy(t, np.maximum(np.median(np.abs(curves[mode]), axis=0), FLOOR), color=style.COLORS[mode],
                        ls="--" if mode == "iterative" and stage == "trained" else "-", label=f"{mode} ({when})")
        if stage == "trained":
            ax.semilogy(t, np.maximum(np.median(np.abs(update_curve), axis=0), FLOOR), color=style.COLORS["learned update"],
                        label="1 learned update (iterative amortization)")
        style.tolerance_line(ax, TOLERANCE, f"tolerance {TOLERANCE:g}")
        style.tolerance_line(ax, FLOOR, f"rounding floor {FLOOR:g}")
        ax.set_ylim(FLOOR / 3, 1e8)   # room for the legend above the curves
        ax.set_yticks(10.0 ** np.arange(-12, 3, 2))
        items = early_items if stage == "early" else len(gap)
        style.label(ax, x=("time in item", "ms"), y=("|F − F*|, median", "nats"),
                    title=f"{TEST_ITEMS} held-out inputs, encoder after {items} items")
        ax.legend(loc="upper right")
    gaps = axes[1, 0]
    gaps.semilogy(np.arange(1, len(gap) + 1), np.maximum(gap, FLOOR), ".", ms=2, color=style.COLORS["amortized"])
    style.tolerance_line(gaps, FLOOR, f"≤ {FLOOR:g} (rounding)")
    style.tolerance_line(gaps, early_items, f"panel a: {early_items} items", horizontal=False)
    gaps.set_ylim(FLOOR / 3, None)
    style.label(gaps, x="training item", y=("amortization gap F(μ_q) − F(μ)", "nats"),
                title="gap while the encoder learns (hybrid inference)")
    scatter = axes[1, 1]
    scatter.plot(exact.ravel(), proposals.ravel(), ".", color=style.COLORS["amortized"], label="proposal μ_q")
    bounds = [exact.min(), exact.max()]
    scatter.plot(bounds, bounds, color=style.COLORS["reference"], lw=0.8, ls=":", label="identity")
    scatter.set_aspect("equal")
    style.label(scatter, x=("exact posterior mean", "a.u."), y=("encoder proposal μ_q", "a.u."),
                title="trained encoder on held-out inputs")
    scatter.legend(loc="upper left")
    style.panel_letters(figure)
    return figure
