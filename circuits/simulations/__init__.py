"""Canned simulations run by ``pcsim``: one module per simulation.

Each module defines ``NAME``, ``DESCRIPTION``, ``DEFAULT_DURATION`` (a Brian2 time) and
``simulate(duration, seed) -> Outcome``: build the circuit, run it, and return the summary
(parameters and final numbers), a short table and the figures.
"""
from __future__ import annotations


from . import (amortization, attention, backprop_equivalence, bogacz_perception, bogacz_variance, deep_teacher,
               digits_classification, digits_vae, generalized_tracking, learn_linear, linear_gaussian, rao_ballard,
               whitening)
from .outcome import Outcome

SIMULATIONS = {module.NAME: module for module in (linear_gaussian, bogacz_perception, bogacz_variance,
                                                  learn_linear, attention, whitening,
                                                  generalized_tracking, amortization, deep_teacher,
                                                  digits_vae, rao_ballard, backprop_equivalence,
                                                  digits_classification)}

__all__ = ["SIMULATIONS", "Outcome", "get_simulation"]


def get_simulation(name: str):
    try:
        return SIMULATIONS[name]
    except KeyError:
        raise ValueError(f"unknown simulation {name!r}; choose one of {sorted(SIMULATIONS)} "
                         f"(pcsim list)") from None
