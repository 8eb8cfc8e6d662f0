"""Regenerate the paper figures in this folder (PNG and PDF) through the public API.

    python figures/make_figures.py            (all; or name simulations: ... make_figures.py rao-ballard)

- Bogacz (2017) Fig. 2a (posterior), Fig. 2b (gradient ascent vs the circuit), Fig. 3 (the
  circuit's estimate and error neurons): ``pcsim run bogacz-perception``'s figures;
- the linear Gaussian hierarchy settling on the exact posterior: ``pcsim run linear-gaussian``;
- Bogacz (2017) Fig. 7–8 (an interneuron learns Σ over trials): ``pcsim run bogacz-variance``;
- Hebbian learning of a linear generative model: ``pcsim run learn-linear``;
- attention as precision, shifting between two cues: ``pcsim run attention``;
- Marino (2022) Fig. 5a, lateral inhibition whitening a natural image: ``pcsim run whitening``;
- tracking in generalized coordinates of motion: ``pcsim run generalized-tracking``;
- Marino (2022) Fig. 10, iterative vs amortized vs hybrid inference: ``pcsim run amortization``;
- spiking columns: rasters over the rate trajectories, and the error of the time-averaged
  spiking estimates vs N: ``pcsim run spiking-column``;
- learning a 2-layer teacher within the neuron (backprop, feedback alignment, target
  propagation, one layer): ``pcsim run deep-teacher``;
- a VAE on scikit-learn's digits (reconstructions, samples, test ELBO vs a reference VAE):
  ``pcsim run digits-vae``;
- Rao & Ballard (1999) Figs. 3–5, learned receptive fields and end-stopping: ``pcsim run rao-ballard``;
- Whittington & Bogacz (2017) Fig. 3, predictive coding vs backprop as the output variance grows:
  ``pcsim run backprop-equivalence``; digits learned with local rules vs backprop:
  ``pcsim run digits-classification``;
- the attention study, 384 points on a local Dask cluster:
  ``pcsim sweep attention --grid 'gain=0.25,0.5,1,2,4,8 noise=0.5' --seeds 64``.
"""
from pathlib import Path

from circuits import sweep
from circuits.simulations import SIMULATIONS, attention
from circuits.simulations.style import save_figures

HERE = Path(__file__).resolve().parent
STUDY, SEEDS = {"gain": [0.25, 0.5, 1.0, 2.0, 4.0, 8.0], "noise": [0.5]}, 64


#: Every simulation whose figures are in the gallery, in README order (deep-teacher, digits-vae
#: and the paper simulations after them train for minutes).
GALLERY = ("bogacz-perception", "linear-gaussian", "bogacz-variance", "learn-linear", "attention", "whitening",
           "generalized-tracking", "amortization", "spiking-column", "deep-teacher", "digits-vae", "rao-ballard",
           "backprop-equivalence", "digits-classification")


def main(directory=HERE, names=GALLERY, study=True):
    """Run each simulation in ``names`` (default: all) at its default duration, seed 0, and (with
    ``study``) the attention sweep, and write their figures into ``directory``; returns the paths
    written."""
    written = []
    for name in names:
        module = SIMULATIONS[name]
        written += save_figures(module.simulate(duration=module.DEFAULT_DURATION, seed=0).figures, directory)
    if study:
        written += save_figures(
            {"attention_sweep": attention.sweep_figure(sweep("attention", STUDY, seeds=SEEDS))}, directory)
    return written


if __name__ == "__main__":
    import sys
    # python figures/make_figures.py: everything; ... make_figures.py rao-ballard: that simulation only
    for path in main(names=sys.argv[1:] or GALLERY, study=not sys.argv[1:]):
        print(path)
