"""Canned simulations run by ``pcsim``: one module per simulation.

Each module defines ``NAME``, ``DESCRIPTION``, ``DEFAULT_DURATION`` (a Brian2 time) and
``simulate(duration, seed) -> Outcome``: build the circuit, run it, and return the summary
(parameters and final numbers), a short table and the figures (drawn with the shared style of
:mod:`circuits.simulations.style`). Optional: ``MINIMUM_DURATION`` and ``DURATION_STEP``
(checked by :func:`check_module_duration` before ``pcsim run`` starts anything, and by ``simulate``),
``REQUIRES`` (import names of optional packages; ``pcsim`` names the pip command when one is
missing). For sweeps (:mod:`circuits.sweeps`, ``pcsim sweep``): ``PARAMETERS`` (keyword-only
arguments of ``simulate``, each a :class:`~circuits.sweeps.Parameter`), ``OUTPUTS`` (entries of
the summary, each an :class:`~circuits.sweeps.Output`) and optionally ``sweep_figure(dataset)``
(the study figure, in the same style). ``Outcome`` may take its figures as a function, so that
a sweep, which never asks for them, never draws them.
"""
from __future__ import annotations

from . import (amortization, attention, backprop_equivalence, bogacz_perception, bogacz_variance, deep_teacher,
               digits_classification, digits_vae, generalized_tracking, learn_linear, linear_gaussian, rao_ballard,
               spiking_column, whitening)
from .duration import check_duration, check_module_duration
from .outcome import Outcome

SIMULATIONS = {module.NAME: module for module in (linear_gaussian, bogacz_perception, bogacz_variance,
                                                  learn_linear, attention, whitening,
                                                  generalized_tracking, amortization, spiking_column,
                                                  deep_teacher, digits_vae, rao_ballard, backprop_equivalence,
                                                  digits_classification)}

__all__ = ["SIMULATIONS", "Outcome", "check_duration", "check_module_duration", "get_simulation"]


def get_simulation(name: str):
    try:
        return SIMULATIONS[name]
    except KeyError:
        raise ValueError(f"unknown simulation {name!r}; choose one of {sorted(SIMULATIONS)} "
                         f"(pcsim list)") from None
