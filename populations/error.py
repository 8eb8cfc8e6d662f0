"""Error neurons: ε = Σ⁻¹(μ − prediction), computed by leaky integration.

Each error neuron integrates (Bogacz 2017, eqs. 13–14 and their multivariate form)::

    τ_ε dε_ℓ/dt = μ_ℓ − (Σ_p W_p f_p(μ_p) + b_ℓ) − Σ_ℓ ε_ℓ

where the sum runs over the upper columns p that predict this column. At equilibrium
ε_ℓ = Σ_ℓ⁻¹(μ_ℓ − prediction). The term Σ_ℓ ε_ℓ is the lateral covariance connection among
the column's error neurons: its diagonal is the self-inhibition ``variance * eps`` written in
the equations; its off-diagonal part arrives through lateral synapses as ``lateral``.

Variables of the NeuronGroup:

``eps``
    ε, the prediction error (state variable, integrated by Brian2).
``estimate``
    μ_ℓ of the column's own estimate neuron, delivered by a one-to-one synapse.
``prediction_<p>``
    W_p f_p(μ_p) from upper column ``p`` (top-down generative synapses).
``prediction_offset``
    b_ℓ: the prior mean m of a top column plus the biases of incoming projections.
``prediction``
    The full prediction g = offset + Σ_p prediction_p (subexpression).
``inhibition``
    Σ'_ℓ ε_ℓ: ``variance * eps / gain`` (self-inhibition by diag Σ'_ℓ) plus ``lateral`` =
    (Σ'_ℓ − diag Σ'_ℓ) ε_ℓ from the other error neurons when Σ_ℓ is not diagonal, or the
    activity of the column's interneurons when Σ_ℓ is learned (:mod:`populations.interneuron`).
``gain``
    γ, the attentional precision gain (1 by default): the attended precision is
    Π' = D Π D with D = diag(√γ), i.e. Σ' = D⁻¹ Σ D⁻¹, so ε → Π'(μ − prediction)
    (Feldman & Friston 2010: attention as the gain of error units).
``tau_error``
    τ_ε, the time constant (shared parameter, seconds).
"""
from __future__ import annotations

__all__ = ["INHIBITION", "error_equations", "prediction_variable"]


def prediction_variable(upper_name: str) -> str:
    """Name of the variable that holds W_p f(μ_p) from the upper column ``upper_name``."""
    return f"prediction_{upper_name}"


#: How the error neurons receive Σ ε (see :func:`error_equations`).
INHIBITION = ("self", "lateral", "interneuron")


def error_equations(upper: list[str], inhibition: str) -> str:
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
    """
    if inhibition not in INHIBITION:
        raise ValueError(f"inhibition must be one of {INHIBITION}, got {inhibition!r}")
    predictions = "".join(f" + {prediction_variable(name)}" for name in upper)
    inputs = "".join(f"{prediction_variable(name)} : 1  # W f(mu) from column {name}\n"
                     for name in upper)
    attention = ("gain : 1  # attention: precision gain gamma (Pi' = D Pi D, D = diag(sqrt gain))\n"
                 "run_start : second (shared)  # start of the run, for time-varying gains\n")
    inhibition_model = {
        "self": "inhibition = variance * eps / gain : 1  # Sigma' eps, Sigma diagonal\n"
                "variance : 1  # diagonal of Sigma (of B for a whitening column)\n" + attention,
        "lateral": "inhibition = variance * eps / gain + lateral : 1  # Sigma' eps\n"
                   "variance : 1  # diagonal of Sigma (of B for a whitening column)\n"
                   "lateral : 1  # off-diagonal Sigma' eps (lateral synapses)\n" + attention,
        "interneuron": "inhibition : 1  # Sigma eps relayed by the interneuron (one-to-one)\n",
    }[inhibition]
    return (
        "deps/dt = (estimate - prediction - inhibition) / tau_error : 1\n"
        f"prediction = prediction_offset{predictions} : 1\n"
        "estimate : 1  # mu of this column (one-to-one)\n"
        f"{inputs}"
        "prediction_offset : 1  # m + b (changes only when biases learn)\n"
        f"{inhibition_model}"
        "tau_error : second (shared, constant)\n"
    )
