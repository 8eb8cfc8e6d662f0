"""Inhibitory interneurons that let a column learn its covariance Σ (Bogacz 2017, §5).

Each error neuron ε_i is paired with an interneuron of activity a_i (Bogacz's e)::

    τ_ε dε/dt = μ − g − a          (the error neurons, :mod:`populations.error`)
    τ_ε da/dt = Σ ε − a            (the interneurons)

At the fixed point a = μ − g and ε = Σ⁻¹(μ − g): the same ε as with direct lateral
connections, but Σ now sits on the synapses from error neurons to interneurons, where the
local rule ΔΣ ∝ ε aᵀ − I learns it (eqs. 59–63, multivariate 67–71).

Variables of the NeuronGroup:

``activity``
    a, the interneuron's rate (state variable).
``drive``
    Σ ε, from the column's error neurons through the learned synapses.
``tau_error``
    τ_ε, shared with the error neurons (shared parameter, seconds).
"""
from __future__ import annotations

__all__ = ["interneuron_equations"]


def interneuron_equations() -> str:
    """Brian2 equations of a covariance-learning interneuron."""
    return (
        "dactivity/dt = (drive - activity) / tau_error : 1\n"
        "drive : 1  # Sigma eps (learned synapses from the error neurons)\n"
        "tau_error : second (shared, constant)\n"
    )
