"""Issue 11: journal-ready figures in one shared style (circuits/simulations/style.py).

Every canned simulation's figures, drawn from short runs, and every sweep study figure
(``sweep_figure``, e.g. figures/attention_sweep.png), drawn from small serial sweeps: each axis that shows tick labels
has a label, with a unit in parentheses unless it counts something (items, trials, neurons,
weights); every line, marker and patch colour comes from the colour-blind-safe palette or is
a grey; multi-panel figures carry panel letters.
"""
from __future__ import annotations

import re

import pytest
from brian2 import ms, second
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex, to_rgb

from circuits import sweep
from circuits.simulations import SIMULATIONS, style

#: Short durations that still exercise every figure (the defaults run in figures/make_figures.py).
SHORT = {"bogacz-perception": 600 * ms, "linear-gaussian": 400 * ms, "bogacz-variance": 4000 * ms,
         "learn-linear": 10000 * ms, "attention": 400 * ms, "whitening": 500 * ms,
         "generalized-tracking": 6 * second, "amortization": 1000 * ms, "spiking-column": 250 * ms,
         "deep-teacher": 300 * ms, "digits-vae": 2300 * ms, "rao-ballard": 1200 * ms,
         "backprop-equivalence": 10 * ms, "digits-classification": 900 * ms}
SLOW = {"generalized-tracking", "amortization", "spiking-column", "deep-teacher", "digits-vae", "rao-ballard",
        "backprop-equivalence", "digits-classification"}
#: Small sweeps for each simulation's study figure: (grid, seeds, duration); the figure of the
#: full study is drawn by figures/make_figures.py.
SWEEPS = {"attention": [({"gain": [0.5, 2.0], "noise": [0.5]}, 3, 2 * ms),
                        ({}, 1, 0.2 * ms)]}   # γ not swept, one seed: no spread to measure, no warning

COUNTS = re.compile(r"item|trial|neurons|weights\b")   # pure numbers: no unit


def _is_grey_or_palette(colour) -> bool:
    red, green, blue = to_rgb(colour)
    return (red == green == blue) or to_hex(colour) in {c.lower() for c in style.PALETTE}


def test_every_simulation_is_checked():
    assert set(SHORT) == set(SIMULATIONS), "add new simulations to SHORT (and keep them in the style)"
    assert set(SWEEPS) == {n for n, m in SIMULATIONS.items() if hasattr(m, "sweep_figure")}, "add them to SWEEPS"


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in SHORT])
def test_figures_are_labelled_with_units_and_use_the_palette(name):
    outcome = SIMULATIONS[name].simulate(duration=SHORT[name], seed=0)
    assert outcome.figures
    for stem, figure in outcome.figures.items():
        check_style(stem, figure)


@pytest.mark.parametrize("name, grid, seeds, duration", [(n, *case) for n, cases in SWEEPS.items() for case in cases])
def test_sweep_figures_are_labelled_with_units_and_use_the_palette(name, grid, seeds, duration):
    dataset = sweep(name, grid, seeds=seeds, client="serial", duration=duration)
    assert bool(dataset["done"].all())
    check_style(f"{name} sweep", SIMULATIONS[name].sweep_figure(dataset))


def check_style(stem, figure):
    """Labels with units on every axis that shows numbers, palette or grey colours, panel letters."""
    FigureCanvasAgg(figure).draw()
    panels = 0
    for ax in figure.axes:
        is_colorbar = hasattr(ax, "_colorbar")
        for axis, label in ((ax.xaxis, ax.get_xlabel()), (ax.yaxis, ax.get_ylabel())):
            shown = [t.get_text() for t in axis.get_ticklabels() if t.get_visible() and t.get_text()]
            if not shown or not axis.get_visible():
                continue
            assert label, f"{stem}: an axis with tick labels {shown[:3]} has no label ({ax.get_title()!r})"
            assert "(" in label or COUNTS.search(label), f"{stem}: axis label {label!r} has no unit"
        for line in ax.get_lines():
            assert _is_grey_or_palette(line.get_color()), f"{stem}: line colour {line.get_color()}"
        for collection in ax.collections:
            for colour in collection.get_edgecolor()[:1]:
                assert _is_grey_or_palette(colour[:3]), f"{stem}: colour {to_hex(colour)}"
        panels += not is_colorbar and ax.get_label() != "<colorbar>"
    letters = [t.get_text() for ax in figure.axes for t in ax.texts if re.fullmatch(r"[a-h]", t.get_text())]
    if panels > 1:
        assert letters[:2] == ["a", "b"], f"{stem}: panel letters {letters}"
