"""Regenerate the paper figures in this folder (PNG and PDF) through the public API.

    python figures/make_figures.py

- Bogacz (2017) Fig. 2a (posterior), Fig. 2b (gradient ascent vs the circuit), Fig. 3 (the
  circuit's estimate and error neurons): ``pcsim run bogacz-perception``'s figures;
- the linear Gaussian hierarchy settling on the exact posterior: ``pcsim run linear-gaussian``;
- Bogacz (2017) Fig. 7–8 (an interneuron learns Σ over trials): ``pcsim run bogacz-variance``;
- Hebbian learning of a linear generative model: ``pcsim run learn-linear``;
- attention as precision, shifting between two cues: ``pcsim run attention``;
- Marino (2022) Fig. 5a, lateral inhibition whitening a natural image: ``pcsim run whitening``;
- tracking in generalized coordinates of motion: ``pcsim run generalized-tracking``;
- Marino (2022) Fig. 10, iterative vs amortized vs hybrid inference: ``pcsim run amortization``;
- learning a 2-layer teacher within the neuron (backprop, feedback alignment, target
  propagation, one layer): ``pcsim run deep-teacher``;
- a VAE on scikit-learn's digits (reconstructions, samples, test ELBO vs a reference VAE):
  ``pcsim run digits-vae``;
- the attention study, 384 points on a local Dask cluster:
  ``pcsim sweep attention --grid 'gain=0.25,0.5,1,2,4,8 noise=0.5' --seeds 64``.
"""
from pathlib import Path

from circuits import sweep
from circuits.simulations import SIMULATIONS, attention

HERE = Path(__file__).resolve().parent
STUDY, SEEDS = {"gain": [0.25, 0.5, 1.0, 2.0, 4.0, 8.0], "noise": [0.5]}, 64


#: The simulations drawn, in order (deep-teacher and digits-vae train for minutes).
FIGURES = ("bogacz-perception", "linear-gaussian", "bogacz-variance", "learn-linear", "attention", "whitening",
           "generalized-tracking", "amortization", "deep-teacher", "digits-vae")


def main(directory=HERE, names=FIGURES):
    written = []
    for name in names:
        module = SIMULATIONS[name]
        written += save(module.simulate(duration=module.DEFAULT_DURATION, seed=0).figures, directory)
    study = sweep("attention", STUDY, seeds=SEEDS)
    return written + save({"attention_sweep": attention.sweep_figure(study)}, directory)


def save(figures, directory):
    written = []
    for stem, figure in figures.items():
        for fmt in ("png", "pdf"):
            path = Path(directory) / f"{stem}.{fmt}"
            figure.savefig(path, dpi=150, bbox_inches="tight",
                           metadata={"CreationDate": None} if fmt == "pdf" else None)
            written.append(path)
    return written


if __name__ == "__main__":
    for path in main():
        print(path)
