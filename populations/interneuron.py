"""Inhibitory interneurons that let a column learn its covariance Σ (Bogacz 2017, §5).

Each error neuron ε_i is paired with an interneuron of activity a_i (Bogacz's e)::

    τ_ε dε/dt = μ − g − a          (the error neurons, :mod:`populations.error`)
    τ_ε da/dt = Σ ε − a            (the interneurons)

At the fixed point a = μ − g and ε = Σ⁻¹(μ − g): the same ε as with direct lateral
connections, but Σ now sits on the synapses from error neurons to interneurons, where the
local rule ΔΣ ∝ ε aᵀ − I learns it (eqs. 59–63, multivariate 67–71).

With rectified errors the interneurons are rectified pairs too, a+ and a− (a = a+ − a−),
with membranes w± driven by the relayed Σ e with their sign (as the error pairs,
:mod:`populations.error`)::

    τ_ε dw±/dt = −w± ± Σ (ε+ − ε−),     a± = [w±]+

w− = −w+, so a = w+ obeys τ_ε da/dt = Σ e − a exactly, and the error pairs receive a as
``inhibition`` (a+ excites ε− and inhibits ε+, a− the other way round).

Variables of the NeuronGroup:

``activity``
    a, the interneuron's rate (state variable); a+ or a− = [v]+ ≥ 0 when rectified.
``v``
    The membrane w± of a rectified interneuron (state variable; rectified only).
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
        dynamics = ("dv/dt = (polarity * drive - v) / tau_error : 1  # membrane of an a+ or a- interneuron\n"
                    "activity = clip(v, 0, inf) : 1  # its rate [v]+ >= 0\n"
                    "polarity : 1 (constant)  # +1: a+, -1: a-\n")
    else:
        dynamics = "dactivity/dt = (drive - activity) / tau_error : 1\n"
    return (
        dynamics +
        "drive : 1  # Sigma eps (learned synapses from the error neurons)\n"
        "tau_error : second (shared, constant)\n"
    )
