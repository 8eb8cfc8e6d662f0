"""Error neurons: ε = Σ⁻¹(μ − prediction), computed by leaky integration.

**Signed errors.** Each error neuron integrates (Bogacz 2017, eqs. 13–14 and their
multivariate form)::

    τ_ε dε_ℓ/dt = μ_ℓ − (Σ_p W_p f_p(μ_p) + b_ℓ) − Σ_ℓ ε_ℓ

where the sum runs over the upper columns p that predict this column. At equilibrium
ε_ℓ = Σ_ℓ⁻¹(μ_ℓ − prediction). The term Σ_ℓ ε_ℓ is the lateral covariance connection among
the column's error neurons: its diagonal is the self-inhibition ``variance * eps`` written in
the equations; its off-diagonal part arrives through lateral synapses as ``lateral``.

**Rectified errors** (``errors="rectified"``; Keller & Mrsic-Flogel 2018: positive and
negative prediction errors in separate layer-2/3 populations). Each signed error neuron is
replaced by a pair of neurons with non-negative rates, ε+_i and ε−_i, and the column carries
e = ε+ − ε−. Writing d = μ − g − Σ' e for the signed neuron's drive, each neuron of a pair is
a threshold-linear unit (τ dr/dt = −r + [input]+, Dayan & Abbott §7.2)::

    τ_ε dε+/dt = −ε+ + [ e + d ]+  = −ε+ + [  μ − g + (I − Σ')(ε+ − ε−) ]+
    τ_ε dε−/dt = −ε− + [−(e + d)]+ = −ε− + [−(μ − g) − (I − Σ')(ε+ − ε−)]+

so ε+ is excited by μ and inhibited by the prediction g, ε− the other way round, and the
recurrent and lateral synapses (I − Σ') act on the difference with opposite signs onto the
two. Because [u]+ − [−u]+ = u for every u, the difference obeys exactly the signed equation,

    τ_ε de/dt = (e + d) − e = μ − g − Σ' e,

at every instant — also step by step under forward Euler — so e(t) is the signed circuit's
ε(t), its fixed point is e* = Σ'⁻¹(μ − g), and there ε+ = [e*]+ and ε− = [−e*]+ (one of the
two is silent); the common mode ε+ + ε− relaxes to |e + d|. Naive rectifications fail:
τ_ε dε±/dt = [±d]+ can only grow (the common mode never decays), and threshold-linear units
on the drive alone, τ_ε dε±/dt = −ε± + [±d]+, settle at e = d, i.e. e = (I + Σ')⁻¹(μ − g),
not Σ'⁻¹(μ − g). Feeding the pair's own difference e back into both (the I in I − Σ') is
what makes the difference an exact integrator of d.
The rates stay non-negative: an Euler step is the convex combination
ε ← (1 − dt/τ_ε) ε + (dt/τ_ε)[u]+ with dt < τ_ε. Both neurons of a pair live in one Brian2
group of 2n neurons per copy, ε+ first: neuron i has ``polarity`` +1, neuron n + i ``polarity`` −1.

Variables of the NeuronGroup:

``eps``
    ε, the prediction error (state variable, integrated by Brian2); with rectified errors the
    non-negative rate of an ε+ or ε− neuron.
``polarity``
    +1 for ε+, −1 for ε− (rectified errors only).
``pair``
    e = ε+ − ε− of the neuron's pair, one-to-one from both (rectified errors only).
``drive``
    [±(e + μ − g − Σ' e)]+, the rectified input of a rectified error neuron (subexpression).
``estimate``
    μ_ℓ of the column's own estimate neuron, delivered by a one-to-one synapse.
``prediction_<p>``
    W_p f_p(μ_p) from upper column ``p`` (top-down generative synapses).
``prediction_offset``
    b_ℓ: the prior mean m of a top column plus the biases of incoming projections.
``prediction``
    The full prediction g = offset + Σ_p prediction_p (subexpression).
``inhibition``
    Σ'_ℓ ε_ℓ (Σ'_ℓ e_ℓ with rectified errors): ``variance * eps / gain`` (self-inhibition by
    diag Σ'_ℓ) plus ``lateral`` = (Σ'_ℓ − diag Σ'_ℓ) ε_ℓ from the other error neurons when Σ_ℓ
    is not diagonal, or the activity of the column's interneurons when Σ_ℓ is learned
    (:mod:`populations.interneuron`).
``gain``
    γ, the attentional precision gain (1 by default): the attended precision is
    Π' = D Π D with D = diag(√γ), i.e. Σ' = D⁻¹ Σ D⁻¹, so ε → Π'(μ − prediction)
    (Feldman & Friston 2010: attention as the gain of error units).
``tau_error``
    τ_ε, the time constant (shared parameter, seconds).

In a spiking column (``spiking=True``) the same equations are the shared drive of a Poisson
population per neuron, and every input is a synaptic trace of spikes (:mod:`populations.spiking`).
"""
from __future__ import annotations

from .spiking import input_equations, readout_equations

__all__ = ["INHIBITION", "error_equations", "prediction_variable"]


def prediction_variable(upper_name: str) -> str:
    """Name of the variable that holds W_p f(μ_p) from the upper column ``upper_name``."""
    return f"prediction_{upper_name}"


#: How the error neurons receive Σ ε (see :func:`error_equations`).
INHIBITION = ("self", "lateral", "interneuron")


def error_equations(upper: list[str], inhibition: str, rectified: bool = False, spiking: bool = False) -> str:
    """Brian2 equations of an error neuron.

    Parameters
    ----------
    upper : list of str
        Names of the upper columns whose predictions this column receives.
    inhibition : {"self", "lateral", "interneuron"}
        How Σ ε arrives: ``"self"`` — Σ is diagonal, only self-inhibition ``variance * eps``;
        ``"lateral"`` — plus ``lateral`` input from the other error neurons (off-diagonal Σ);
        ``"interneuron"`` — from the column's inhibitory interneurons (Bogacz 2017 §5), whose
        activity settles at Σ ε and whose synapses learn Σ.
    rectified : bool
        One neuron of an ε+/ε− pair (see the module docstring) instead of a signed neuron.
    spiking : bool
        Inputs are synaptic traces of spikes (needs ``rectified``), plus the read-out.
    """
    if inhibition not in INHIBITION:
        raise ValueError(f"inhibition must be one of {INHIBITION}, got {inhibition!r}")
    if spiking and not rectified:
        raise ValueError("spiking error neurons must be rectified (firing rates are non-negative)")
    own = "pair" if rectified else "eps"
    predictions = "".join(f" + {prediction_variable(name)}" for name in upper)
    inputs = "".join(input_equations(prediction_variable(name), f"W f(mu) from column {name}", spiking, True)
                     for name in upper)
    attention = ("gain : 1  # attention: precision gain gamma (Pi' = D Pi D, D = diag(sqrt gain))\n"
                 "run_start : second (shared)  # start of the run, for time-varying gains\n")
    inhibition_model = {
        "self": f"inhibition = variance * {own} / gain : 1  # Sigma' eps, Sigma diagonal\n"
                "variance : 1  # diagonal of Sigma (of B for a whitening column)\n" + attention,
        "lateral": f"inhibition = variance * {own} / gain + lateral : 1  # Sigma' eps\n"
                   "variance : 1  # diagonal of Sigma (of B for a whitening column)\n"
                   + input_equations("lateral", "off-diagonal Sigma' eps (lateral synapses)", spiking) + attention,
        "interneuron": input_equations("inhibition", "Sigma eps relayed by the interneurons (one-to-one)", spiking),
    }[inhibition]
    if rectified:
        dynamics = ("deps/dt = (drive - eps) / tau_error : 1  # eps >= 0: an eps+ (polarity +1) or eps- (polarity -1) rate\n"
                    "drive = clip(polarity * (pair + estimate - prediction - inhibition), 0, inf) : 1"
                    "  # [+-(e + mu - g - Sigma' e)]+\n"
                    "polarity : 1 (constant)  # +1: eps+, -1: eps-\n"
                    + input_equations("pair", "e = eps+ - eps- of this neuron's pair", spiking))
    else:
        dynamics = "deps/dt = (estimate - prediction - inhibition) / tau_error : 1\n"
    return (
        dynamics +
        f"prediction = prediction_offset{predictions} : 1\n"
        + input_equations("estimate", "mu of this column (one-to-one)", spiking, True) +
        f"{inputs}"
        "prediction_offset : 1  # m + b (changes only when biases learn)\n"
        f"{inhibition_model}"
        "tau_error : second (shared, constant)\n"
        + readout_equations(spiking)
    )
