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
from matplotlib.figure import Figure
from scipy.linalg import subspace_angles

from .. import datasets
from ..circuit import Circuit
from ..sweeps import Output, Parameter
from .outcome import Outcome

NAME = "learn-linear"
DESCRIPTION = ("Hebbian learning of W in a linear 8-D/2-latent generative model; weights "
               "converge to the generating subspace, free energy falls; --duration sets the items")
ITEM = 50 * ms
DEFAULT_DURATION = 3000 * ITEM
DIM, LATENT, NOISE, RATE, FINAL_RATE, CHUNK = 8, 2, 0.5, 0.01, 0.002, 100
PARAMETERS = (Parameter("learning_rate", RATE, None, f"α of ΔW = α ε_x μ_zᵀ (annealed to α·{FINAL_RATE / RATE:g} "
                                                     "for the last third)"),
              Parameter("noise", NOISE, None, "variance of the observation noise (data and the circuit's Σ_x)"))
OUTPUTS = (Output("angle_to_true_degrees", (), "degree", "largest principal angle, learned vs true W"),
           Output("angle_to_pca_degrees", (), "degree", "largest principal angle, learned W vs the top PCA subspace"),
           Output("free_energy_first_20_items", (), "nat", "mean F at the ends of the first 20 items"),
           Output("free_energy_last_100_items", (), "nat", "mean F at the ends of the last 100 items"))


def simulate(duration=DEFAULT_DURATION, seed=0, *, learning_rate=RATE, noise=NOISE) -> Outcome:
    """``seed`` draws the true W, the data and the initial weights."""
    items = int(round(float(duration / ITEM)))
    if items < CHUNK:
        raise ValueError(f"duration must cover at least {CHUNK} items of {ITEM}")
    rng = np.random.default_rng(seed)
    true = rng.normal(size=(DIM, LATENT))
    x, _ = datasets.linear_gaussian(items, true, noise_covariance=noise, seed=rng)
    circuit = Circuit(dt=0.5 * ms, tau_estimate=10 * ms, tau_error=2 * ms)
    circuit.sensory("x", DIM, covariance=noise)
    circuit.column("z", LATENT, covariance=1.0)
    projection = circuit.connect("z", "x", weights=rng.normal(size=(DIM, LATENT)) * 0.1, plastic=True,
                                 learning_rate=learning_rate)
    angles, energies = [], []
    for start in range(0, items - items % CHUNK, CHUNK):
        if start >= 2 * items // 3:
            projection.learning_rate = learning_rate * FINAL_RATE / RATE
        rec = circuit.run_sequence(x[start:start + CHUNK], item_duration=ITEM)
        energies.append(rec.trial_free_energy)
        angles.append(np.degrees(subspace_angles(circuit.weights("z", "x"), true)).max())
    learned = circuit.weights("z", "x")
    pca = np.linalg.svd(x - x.mean(0), full_matrices=False)[2][:LATENT].T
    to_pca = float(np.degrees(subspace_angles(learned, pca)).max())
    energies = np.concatenate(energies)
    summary = {"simulation": NAME, "seed": seed, "items": len(energies), "item_ms": float(ITEM / ms),
               "dt_ms": 0.5, "dimension": DIM, "latents": LATENT, "noise_variance": noise,
               "learning_rate": learning_rate, "final_learning_rate": learning_rate * FINAL_RATE / RATE, "true_weights": true, "learned_weights": learned,
               "angle_to_true_degrees": float(angles[-1]), "angle_to_pca_degrees": to_pca,
               "free_energy_first_20_items": float(energies[:20].mean()),
               "free_energy_last_100_items": float(energies[-CHUNK:].mean())}
    table = [("largest principal angle to true W (deg)", float(angles[-1]), "→ 0"),
             ("largest principal angle to PCA (deg)", to_pca, "→ 0"),
             ("F at item ends, first 20", float(energies[:20].mean()), "falls"),
             ("F at item ends, last 100", float(energies[-CHUNK:].mean()), "falls")]
    return Outcome(summary, table, {"learn_linear": _figure(angles, energies, learned, true)})


def _figure(angles, energies, learned, true) -> Figure:
    figure = Figure(figsize=(11, 3.3), layout="constrained")
    a, b, c = figure.subplots(1, 3)
    a.semilogy(np.arange(1, len(angles) + 1) * CHUNK, angles, "k.-")
    a.set(xlabel="items", ylabel="degrees", title="largest principal angle, learned vs true W")
    window = 20
    items = np.arange(1, len(energies) + 1)
    b.semilogx(items, energies, color="0.75", lw=0.5, label="each item")
    b.semilogx(items[window - 1:], np.convolve(energies, np.ones(window) / window, "valid"), "k",
               label=f"mean of {window}")
    b.set(xlabel="items", title="free energy at the end of each item",
          ylim=(None, np.percentile(energies, 99.5)))
    b.legend(frameon=False)
    # compare the subspaces: project the true W on the learned column space
    projected = learned @ np.linalg.lstsq(learned, true, rcond=None)[0]
    c.plot(true.ravel(), projected.ravel(), "o", ms=4)
    lim = np.abs(true).max() * 1.1
    c.plot([-lim, lim], [-lim, lim], "k:", lw=0.8)
    c.set(xlabel="true W entries", ylabel="true W projected on learned span", title="learned subspace")
    return figure
