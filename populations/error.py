"""Error neurons: ε = Σ⁻¹(μ − prediction), computed by leaky integration.

**Signed errors.** Each error neuron integrates (Bogacz 2017, eqs. 13–14 and their
multivariate form)::

    τ_ε dε_ℓ/dt = μ_ℓ − (Σ_p W_p f_p(μ_p) + b_ℓ) − Σ_ℓ ε_ℓ

where the sum runs over the upper columns p that predict this column. At equilibrium
ε_ℓ = Σ_ℓ⁻¹(μ_ℓ − prediction). The term Σ_ℓ ε_ℓ is the lateral covariance connection among
the column's error neurons: its diagonal is the self-inhibition ``variance * eps`` written in
the equations; its off-diagonal part arrives through lateral synapses as ``lateral``.

**Rectified errors** (``errors="rectified"``; Keller & Mrsic-Flogel 2018: positive and
negative prediction errors in separate layer-2/3 populations; Rao & Ballard's on/off
channels). Each signed error neuron is replaced by a pair of neurons ε+_i, ε−_i. Each neuron
has its own membrane potential v, a leaky integrator of its synaptic input, and fires at the
threshold-linear rate [v]+ ≥ 0 (a V-based rate model, Miller & Fumarola 2012). Writing
e = ε+ − ε− for the signed error the pair carries and d = μ − g − Σ' e for the drive of the
signed neuron::

    τ_ε dv+/dt = −v+ + (e + d) = −v+ + μ − g + (I − Σ') (ε+ − ε−),     ε+ = [v+]+
    τ_ε dv−/dt = −v− − (e + d) = −v− − (μ − g) − (I − Σ') (ε+ − ε−),   ε− = [v−]+

ε+ is excited by μ and inhibited by the prediction g, ε− the other way round; the recurrent
and lateral synapses (I − Σ') read the difference of the pair's rates and reach the two
with opposite signs. Both membranes start at 0 and receive the same input with opposite
signs, so v− = −v+ at every instant (a perturbation of v+ + v− decays with τ_ε), hence
e = [v+]+ − [−v+]+ = v+ and

    τ_ε de/dt = −e + (e + d) = μ − g − Σ' e:

the difference obeys the signed equation exactly — also step by step under forward Euler,
where negation is exact — so e(t) is the signed circuit's ε(t), its fixed point is
e* = Σ'⁻¹(μ − g), and there ε+ = [e*]+, ε− = [−e*]+: at every instant one of the two is
silent. Naive rectifications fail: rectifying the signed neuron's update,
τ_ε dε±/dt = [±d]+, can only grow; threshold-linear units on the drive alone,
τ_ε dv±/dt = −v± ± d, settle at e = d, i.e. e = (I + Σ')⁻¹(μ − g), not Σ'⁻¹(μ − g). Feeding
the pair's own difference back into both (the I in I − Σ') is what turns the leaky pair into
an exact integrator of d. Rectifying the membrane rather than the input (τ_ε dε±/dt =
−ε± + [±(e + d)]+ has the same fixed point) lets spikes enter the membrane directly in a
spiking column, with no extra synaptic filter in the loops (see :mod:`circuits.spiking`).
Both neurons of a pair live in one Brian2 group of 2n neurons per copy, ε+ first: neuron i
has ``polarity`` +1, neuron n + i ``polarity`` −1.

Variables of the NeuronGroup:

``eps``
    ε, the prediction error (state variable, integrated by Brian2); with rectified errors the
    rate [v]+ ≥ 0 of an ε+ or ε− neuron (subexpression).
``v``
    The membrane potential of a rectified error neuron (state variable; rectified only).
``polarity``
    +1 for ε+, −1 for ε− (rectified errors only).
``pair``
    e = ε+ − ε− of the neuron's pair, one-to-one from both (rectified errors only).
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
        dynamics = ("dv/dt = (polarity * (pair + estimate - prediction - inhibition) - v) / tau_error : 1"
                    "  # membrane of an eps+ (polarity +1) or eps- (-1) neuron\n"
                    "eps = clip(v, 0, inf) : 1  # its rate [v]+ >= 0\n"
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
