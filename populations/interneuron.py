"""Inhibitory interneurons that let a column learn its covariance Σ (Bogacz 2017, §5).

Each error neuron ε_i is paired with an interneuron of activity a_i (Bogacz's e)::

    τ_ε dε/dt = μ − g − a          (the error neurons, :mod:`populations.error`)
    τ_ε da/dt = Σ ε − a            (the interneurons)

At the fixed point a = μ − g and ε = Σ⁻¹(μ − g): the same ε as with direct lateral
connections, but Σ now sits on the synapses from error neurons to interneurons, where the
local rule ΔΣ ∝ ε aᵀ − I learns it (eqs. 59–63, multivariate 67–71).

With rectified errors the interneurons are rectified pairs too, a+ and a− (a = a+ − a−), each
a threshold-linear unit driven by the relayed Σ e with its sign::

    τ_ε da±/dt = −a± + [±Σ (ε+ − ε−)]+

Since [u]+ − [−u]+ = u, a = a+ − a− obeys τ_ε da/dt = Σ e − a exactly, and the error pairs
receive a as ``inhibition`` (a+ excites ε− and inhibits ε+, a− the other way round).

Variables of the NeuronGroup:

``activity``
    a, the interneuron's rate (state variable); a+ or a− ≥ 0 when rectified.
``drive``
    Σ ε, from the column's error neurons through the learned synapses.
``polarity``
    +1 for a+, −1 for a− (rectified only).
``tau_error``
    τ_ε, shared with the error neurons (shared parameter, seconds).
"""
from __future__ import annotations

__all__ = ["interneuron_equations"]


def interneuron_equations(rectified: bool = False) -> str:
    """Brian2 equations of a covariance-learning interneuron (one of an a+/a− pair when
    ``rectified``)."""
    if rectified:
        dynamics = ("dactivity/dt = (clip(polarity * drive, 0, inf) - activity) / tau_error : 1  # a+ or a- >= 0\n"
                    "polarity : 1 (constant)  # +1: a+, -1: a-\n")
    else:
        dynamics = "dactivity/dt = (drive - activity) / tau_error : 1\n"
    return (
        dynamics +
        "drive : 1  # Sigma eps (learned synapses from the error neurons)\n"
        "tau_error : second (shared, constant)\n"
    )
