"""Populations of amortized inference (Marino, Yue & Mandt 2018; Marino 2022).

Proposal neurons hold the encoder's guess μ_q = V f(x) + c of a latent column's posterior
mean, computed in one feed-forward sweep from the sensory estimates x. Update neurons read
prediction errors and propose a correction u = Σ_k U_k ε_k (iterative amortization: the
estimate jumps to μ + γ u).

Variables of a proposal NeuronGroup:

``drive``
    V f(x), from the sensory estimates through the encoder synapses.
``bias``
    c, the encoder's bias (changes when the encoder learns).
``proposal``
    μ_q = drive + bias (subexpression).

Variables of an update NeuronGroup:

``from_<k>``
    U_k ε_k from the error neurons of column k (the latent column itself and those it predicts).
``update``
    u = Σ_k from_k (subexpression).
"""
from __future__ import annotations

__all__ = ["proposal_equations", "update_equations", "update_variable"]


def update_variable(column_name: str) -> str:
    """Name of the variable holding U_k ε_k from the errors of column ``column_name``."""
    return f"from_{column_name}"


def proposal_equations() -> str:
    """Brian2 equations of the encoder's proposal neurons."""
    return (
        "proposal = drive + bias : 1  # mu_q = V f(x) + c\n"
        "drive : 1  # V f(x) from the sensory estimates (encoder synapses)\n"
        "bias : 1  # c\n"
    )


def update_equations(sources: list[str]) -> str:
    """Brian2 equations of the update neurons reading the errors of ``sources``."""
    terms = " + ".join(update_variable(name) for name in sources)
    inputs = "".join(f"{update_variable(name)} : 1  # U eps from column {name}\n" for name in sources)
    return f"update = {terms} : 1  # u, the learned correction\n{inputs}"
