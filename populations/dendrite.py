"""Dendritic compartments: the hidden layers of a deep pathway inside a neuron.

A deep projection predicts with a small network, g = h_K,

    h_1 = V_1 f_1(μ) + c_1,    h_k = V_k f_k(h_k−1) + c_k    (k = 2 … K),

and its hidden layers h_1 … h_K−1 are compartments of the predicting neurons — dendritic
branches that sum their synaptic input and pass a nonlinear function of it on (Häusser &
Mel 2003; Poirazi, Brannon & Mel 2003: a pyramidal neuron as a two-layer network). They
have no error neurons of their own. The errors of the predicted column travel back through
the same branches (Larkum 2013; Guerguiev, Lillicrap & Richards 2017; Sacramento et al. 2018
place such signals in the apical tree)::

    δ_K = ε_lower,    δ_k = f'_k+1(h_k) ⊙ V_k+1ᵀ δ_k+1,    soma: f'_1(μ) ⊙ V_1ᵀ δ_1 = Jᵀ ε_lower

Compartments are algebraic: their potential and backpropagating signal follow their inputs
within the step (no time constant; see :mod:`circuits.dendrite`).

Variables of a compartment NeuronGroup (one neuron per unit of layer k):

``drive``
    V_k f_k(h_k−1): the synaptic input from the previous compartment (or the soma's μ).
``bias``
    c_k.
``potential``
    h_k = drive + bias (subexpression): what the compartment passes on, through f_k+1.
``back``
    V_k+1ᵀ δ_k+1: the signal arriving from the next compartment (or the lower column's
    error neurons), backpropagating.
``delta``
    δ_k = f'_k+1(h_k) ⊙ back (subexpression): what the compartment sends further back.

An encoder's compartments only compute forward (``drive``, ``bias``, ``potential``): its
learning signal is formed when it learns.
"""
from __future__ import annotations

from .activations import Activation

__all__ = ["compartment_equations"]


def compartment_equations(gain: Activation | None) -> str:
    """Brian2 equations of a dendritic compartment whose potential h_k feeds the next layer
    through activation ``gain`` (f_k+1): with it, the compartment also carries the
    backpropagating δ_k = f'_k+1(h_k) ⊙ back; None for a forward-only compartment."""
    equations = (
        "potential = drive + bias : 1  # h_k = V_k f_k(h_k-1) + c_k\n"
        "drive : 1  # V_k f_k(h_k-1), summed synaptic input\n"
        "bias : 1  # c_k\n"
    )
    if gain is not None:
        equations += (
            f"delta = {gain.gain('potential')} * back : 1  # delta_k = f'_k+1(h_k) * V_k+1^T delta_k+1\n"
            "back : 1  # V_k+1^T delta_k+1, backpropagating\n"
        )
    return equations
