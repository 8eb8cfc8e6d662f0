"""Regenerate the paper figures in this folder (PNG and PDF) through the public API.

    python figures/make_figures.py            (all; or name some: ... make_figures.py rao-ballard)

- Bogacz (2017) Fig. 2a (posterior), Fig. 2b (gradient ascent vs the circuit), Fig. 3 (the
  circuit's estimate and error neurons): ``pcsim run bogacz-perception``'s figures;
- the linear Gaussian hierarchy settling on the exact posterior: ``pcsim run linear-gaussian``;
- Bogacz (2017) Fig. 7–8 (an interneuron learns Σ over trials): ``pcsim run bogacz-variance``;
- Hebbian learning of a linear generative model: ``pcsim run learn-linear``;
- attention as precision, shifting between two cues: ``pcsim run attention``;
- Marino (2022) Fig. 5a, lateral inhibition whitening a natural image: ``pcsim run whitening``;
- tracking in generalized coordinates of motion: ``pcsim run generalized-tracking``;
- Marino (2022) Fig. 10, iterative vs amortized vs hybrid inference: ``pcsim run amortization``;
- Rao & Ballard (1999) Figs. 3–5, learned receptive fields and end-stopping: ``pcsim run rao-ballard``;
- Whittington & Bogacz (2017) Fig. 3, predictive coding vs backprop as the output variance grows:
  ``pcsim run backprop-equivalence``; digits learned with local rules vs backprop:
  ``pcsim run digits-classification``.
"""
from pathlib import Path

from circuits.simulations import SIMULATIONS

HERE = Path(__file__).resolve().parent


#: Every simulation whose figures are in the gallery, in README order.
GALLERY = ("bogacz-perception", "linear-gaussian", "bogacz-variance", "learn-linear", "attention", "whitening",
           "generalized-tracking", "amortization", "rao-ballard", "backprop-equivalence", "digits-classification")


def main(directory=HERE, names=GALLERY):
    """Run each simulation in ``names`` (default: all) at its default duration, seed 0, and write
    its figures into ``directory``; returns the paths written."""
    written = []
    for name in names:
        module = SIMULATIONS[name]
        outcome = module.simulate(duration=module.DEFAULT_DURATION, seed=0)
        for stem, figure in outcome.figures.items():
            for fmt in ("png", "pdf"):
                path = Path(directory) / f"{stem}.{fmt}"
                figure.savefig(path, dpi=150, bbox_inches="tight",
                               metadata={"CreationDate": None} if fmt == "pdf" else None)
                written.append(path)
    return written


if __name__ == "__main__":
    import sys
    for path in main(names=sys.argv[1:] or GALLERY):   # e.g. python figures/make_figures.py rao-ballard
        print(path)
