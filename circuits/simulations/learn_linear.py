"""Linear predictive coding learns a generative model: x = W z + noise, z ~ N(0, I).

Data: 8-D observations of a 2-D latent through a random W (noise variance 0.5). The circuit
(sensory column x, latent column z with prior N(0, I)) infers z for each item for 50 ms, then
applies ΔW = α ε_x μ_zᵀ (Bogacz 2017 eq. 39), with α = 0.01 for the first two thirds of the
items and 0.002 after (annealing lets W settle). The learned column space approaches the true one
(and the data's principal subspace); the free energy at the items' ends falls.
"""
from __future__ import annotations

import numpy as np
from brian2 import ms
from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter
from scipy.linalg import subspace_angles

from .. import datasets
from ..circuit import Circuit
from ..sweeps import Output, Parameter
from . import style
from .duration import check_duration
from .outcome import Outcome

NAME = "learn-linear"
DESCRIPTION = ("Hebbian learning of W in a linear 8-D/2-latent generative model; weights "
               "converge to the generating subspace, free energy falls; --duration sets the items")
ITEM = 50 * ms
DEFAULT_DURATION = 3000 * ITEM
DIM, LATENT, NOISE, RATE, FINAL_RATE, CHUNK = 8, 2, 0.5, 0.01, 0.002, 100
DURATION_STEP, MINIMUM_DURATION = ITEM, CHUNK * ITEM
PARAMETERS = (Parameter("learning_rate", RATE, None, f"α of ΔW = α ε_x μ_zᵀ (annealed to α·{FINAL_RATE / RATE:g} "
                                                     "for the last third)"),
              Parameter("noise", NOISE, None, "variance of the observation noise (data and the circuit's Σ_x)"))
OUTPUTS = (Output("angle_to_true_degrees", (), "degree", "largest principal angle, learned vs true W"),
           Output("angle_to_pca_degrees", (), "degree", "largest principal angle, learned W vs the top PCA subspace"),
           Output("free_energy_first_20_items", (), "nat", "mean F at the ends of the first 20 items"),
           Output("free_energy_last_100_items", (), "nat", "mean F at the ends of the last 100 items"))


def simulate(duration=DEFAULT_DURATION, seed=0, *, learning_rate=RATE, noise=NOISE) -> Outcome:
    """``seed`` draws the true W, the data and the initial weights."""
    items = check_duration(duration, MINIMUM_DURATION, DURATION_STEP, NAME)
    rng = np.random.default_rng(seed)
    true = rng.normal(size=(DIM, LATENT))
    x, _ = datasets.linear_gaussian(items, true, noise_covariance=noise, seed=rng)
    circuit = Circuit(dt=0.5 * ms, tau_estimate=10 * ms, tau_error=2 * ms)
    circuit.sensory("x", DIM, covariance=noise)
    circuit.column("z", LATENT, covariance=1.0)
    projection = circuit.connect("z", "x", weights=rng.normal(size=(DIM, LATENT)) * 0.1, plastic=True,
                                 learning_rate=learning_rate)
    angles, energies, seen = [], [], []
    for start in range(0, items, CHUNK):
        if start >= 2 * items // 3:
            projection.learning_rate = learning_rate * FINAL_RATE / RATE
        rec = circuit.run_sequence(x[start:start + CHUNK], item_duration=ITEM)
        energies.append(rec.trial_free_energy)
        angles.append(np.degrees(subspace_angles(circuit.weights("z", "x"), true)).max())
        seen.append(min(start + CHUNK, items))
    learned = circuit.weights("z", "x")
    pca = np.linalg.svd(x - x.mean(0), full_matrices=False)[2][:LATENT].T
    to_pca = float(np.degrees(subspace_angles(learned, pca)).max())
    energies = np.concatenate(energies)
    summary = {"simulation": NAME, "seed": seed, "items": len(energies), "item_ms": float(ITEM / ms),
               "dt_ms": 0.5, "dimension": DIM, "latents": LATENT, "noise_variance": noise,
               "learning_rate": learning_rate, "final_learning_rate": learning_rate * FINAL_RATE / RATE,
               "true_weights": true, "learned_weights": learned,
               "angle_to_true_degrees": float(angles[-1]), "angle_to_pca_degrees": to_pca,
               "free_energy_first_20_items": float(energies[:20].mean()),
               "free_energy_last_100_items": float(energies[-CHUNK:].mean())}
    table = [("largest principal angle to true W (deg)", float(angles[-1]), "→ 0"),
             ("largest principal angle to PCA (deg)", to_pca, "→ 0"),
             ("F at item ends, first 20", float(energies[:20].mean()), "falls"),
             ("F at item ends, last 100", float(energies[-CHUNK:].mean()), "falls")]
    return Outcome(summary, table, lambda: {"learn_linear": _figure(seen, angles, energies, learned, true)})


@style.styled
def _figure(seen, angles, energies, learned, true):
    figure, (a, b, c) = style.figure(1, 3, height=2.5)
    a.semilogy(seen, angles, ".-", color=style.COLORS["circuit"])
    a.yaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
    a.yaxis.set_major_formatter(ScalarFormatter())
    a.yaxis.set_minor_formatter(NullFormatter())
    style.label(a, x="training items", y=("largest principal angle", "degrees"), title="learned vs true subspace")
    window = 20
    items = np.arange(1, len(energies) + 1)
    b.loglog(items, energies, ".", ms=1.2, color="0.7", label="each item")
    b.loglog(items[window - 1:], np.convolve(energies, np.ones(window) / window, "valid"),
             color=style.COLORS["circuit"], label=f"mean of {window} items")
    b.yaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
    b.yaxis.set_major_formatter(ScalarFormatter())
    b.yaxis.set_minor_formatter(NullFormatter())
    style.label(b, x="training items", y=("F at the end of each item", "nats"), title="free energy")
    b.legend(loc="upper right", markerscale=4)
    # compare the subspaces: project the true W on the learned column space
    projected = learned @ np.linalg.lstsq(learned, true, rcond=None)[0]
    c.plot(true.ravel(), projected.ravel(), "o", color=style.COLORS["circuit"])
    lim = np.abs(true).max() * 1.1
    c.plot([-lim, lim], [-lim, lim], ":", color=style.COLORS["reference"], lw=0.8, label="identity")
    c.set_aspect("equal")
    style.label(c, x=("true W entries", "a.u."), y=("projected on learned span", "a.u."),
                title="true W in the learned subspace")
    c.legend(loc="upper left")
    style.panel_letters(figure)
    return figure
