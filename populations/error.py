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
    b_ℓ: the prior mean m of a top column plus the biases of incoming projections (constant).
``prediction``
    The full prediction g = offset + Σ_p prediction_p (subexpression).
``variance``
    diag Σ_ℓ, the self-inhibition weight (constant).
``lateral``
    (Σ_ℓ − diag Σ_ℓ) ε_ℓ from the other error neurons (only when Σ_ℓ is not diagonal).
``tau_error``
    τ_ε, the time constant (shared parameter, seconds).
"""
from __future__ import annotations

__all__ = ["error_equations", "prediction_variable"]


def prediction_variable(upper_name: str) -> str:
    """Name of the variable that holds W_p f(μ_p) from the upper column ``upper_name``."""
    return f"prediction_{upper_name}"


def error_equations(upper: list[str], lateral: bool) -> str:
    """Brian2 equations of an error neuron.

    Parameters
    ----------
    upper : list of str
        Names of the upper columns whose predictions this column receives.
    lateral : bool
        Whether Σ has off-diagonal entries, so that a ``lateral`` input is needed.
    """
    predictions = "".join(f" + {prediction_variable(name)}" for name in upper)
    inputs = "".join(f"{prediction_variable(name)} : 1  # W f(mu) from column {name}\n"
                     for name in upper)
    lateral_term = " - lateral" if lateral else ""
    lateral_input = "lateral : 1  # off-diagonal Sigma eps\n" if lateral else ""
    return (
        f"deps/dt = (estimate - prediction - variance * eps{lateral_term}) / tau_error : 1\n"
        f"prediction = prediction_offset{predictions} : 1\n"
        "estimate : 1  # mu of this column (one-to-one)\n"
        f"{inputs}"
        "prediction_offset : 1 (constant)\n"
        "variance : 1 (constant)  # diagonal of Sigma\n"
        f"{lateral_input}"
        "tau_error : second (shared, constant)\n"
    )
