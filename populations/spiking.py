"""Spiking populations: N Poisson neurons per rate unit, their synaptic inputs and read-out.

A spiking column (``Circuit(neurons="spiking")``, see :mod:`circuits.spiking`) keeps every
rate unit of the rate circuit — an estimate μ_i, an error pair ε+_i, ε−_i — as the shared
drive of a population of N Poisson neurons. With all-to-all connections between populations,
every neuron of a population receives the same synaptic input, so the N neurons share one
drive variable (stored once, in the *unit* group whose equations are those of
:mod:`populations.estimate` / :mod:`populations.error`) and fire N conditionally independent
spike trains at the rate it sets:

    rate = [r0 + κ · value]+      (Hz; value = μ, or the membrane v± of an error neuron)

with a baseline r0 and a scale κ (Hz per unit of the rate variable): estimates μ, which are
signed, get a baseline (r0 = 40 Hz, κ = 20 Hz by default: μ ∈ [−2, 8] maps to 0–200 Hz);
rectified errors ε± = [v±]+ need none (r0 = 0, rate κ [v±]+). Each neuron spikes in a step with probability
rate · dt (a Bernoulli process, Poisson in the limit dt → 0; its mean rate is exactly rate).

**Synaptic inputs.** An input X = M y of the rate circuit (a coupling, see
:mod:`circuits.coupling`) becomes a synaptic trace of the presynaptic population's spikes::

    τ_s dX/dt = −X − X_baseline,     X → X + M_ij / (N κ τ_s) at each spike of a neuron of unit j

Its mean is M (y + r0/κ) − X_baseline, so X_baseline = (r0/κ) M 1 (a tonic input that cancels
the presynaptic baseline; zero from error populations) makes it M y: the mean field of the
spiking circuit is the rate circuit. With τ_s = dt (instantaneous synapses, the default)
forward Euler empties the trace at every step, X then holds the last step's spikes as a rate,
and the membrane that reads X integrates each spike as a jump; a longer τ_s low-pass filters
every coupling.

**Read-out.** The population rate filtered with τ_r (Hz)::

    τ_r dr̂/dt = −r̂ + (1/N) Σ_k δ(t − t_k)       decoded: (r̂ − r0) / κ

Variables of a Poisson population NeuronGroup (:func:`poisson_equations`):

``value``
    The unit's μ or membrane v±, a Brian2 linked variable (one unit per N neurons).
``rate``
    [baseline + scale · value]+, the firing rate (Hz).
``baseline``, ``scale``
    r0 and κ (Hz, shared).

Variables added to a spiking unit group (:func:`input_equations`, :func:`readout_equations`):

``<input>`` and ``<input>_baseline``
    The synaptic trace X and its tonic compensation (X_baseline, constant per unit).
``tau_synapse``
    τ_s (shared, seconds).
``readout``
    r̂, the filtered population rate of the unit's neurons (Hz).
``tau_readout``
    τ_r (shared, seconds).
"""
from __future__ import annotations

__all__ = ["THRESHOLD", "input_equations", "poisson_equations", "readout_equations"]

#: A neuron of a Poisson population spikes in a step with probability rate · dt.
THRESHOLD = "rand() < rate * dt"


def poisson_equations() -> str:
    """Brian2 equations of a Poisson population reading its unit's rate variable."""
    return (
        "rate = clip(baseline + scale * value, 0*Hz, inf*Hz) : Hz  # [r0 + kappa value]+\n"
        "value : 1 (linked)  # the unit's rate variable (mu or eps+/-)\n"
        "baseline : Hz (shared, constant)  # r0\n"
        "scale : Hz (shared, constant)  # kappa, Hz per unit of the rate variable\n"
    )


def input_equations(name: str, comment: str, spiking: bool, baseline: bool = False) -> str:
    """The lines declaring one input of a neuron: a value written by a coupling every step
    (rate neurons), or the synaptic trace of a presynaptic population's spikes (``spiking``),
    with the tonic compensation of the presynaptic baseline rate when ``baseline``."""
    if not spiking:
        return f"{name} : 1  # {comment}\n"
    if not baseline:
        return f"d{name}/dt = -{name} / tau_synapse : 1  # {comment} (filtered spikes)\n"
    return (f"d{name}/dt = -({name} + {name}_baseline) / tau_synapse : 1  # {comment} (filtered spikes)\n"
            f"{name}_baseline : 1 (constant)  # (r0/kappa) M 1: cancels the presynaptic baseline rate\n")


def readout_equations(spiking: bool) -> str:
    """The synaptic time constant and the population-rate read-out of a spiking unit group
    (nothing for rate neurons)."""
    if not spiking:
        return ""
    return (
        "tau_synapse : second (shared, constant)\n"
        "dreadout/dt = -readout / tau_readout : Hz  # filtered population rate of the unit's neurons\n"
        "tau_readout : second (shared, constant)\n"
    )
