"""Estimate neurons: μ, the posterior mean of one level of the hierarchy.

A latent estimate neuron follows the free-energy gradient (Bogacz 2017, eq. 12 and its
multivariate form)::

    τ_μ dμ_ℓ/dt = −ε_ℓ + Σ_k f_k'(μ_ℓ) ⊙ (W_kᵀ ε_k) − α φ'(μ_ℓ)

where ε_ℓ is the column's own error, the sum runs over the lower columns k that this
column predicts through weights W_k with activation f_k, and α φ'(μ) is the gradient of a
sparse prior's penalty (:mod:`populations.priors`; absent for the Gaussian prior). The sensory
estimate μ_0 is clamped to the stimulus x(t); a latent column can be clamped too (``free`` = 0).

Variables of the NeuronGroup (all dimensionless rates unless stated):

``mu``
    μ, the estimate (state variable, integrated by Brian2).
``error``
    ε_ℓ of the column's own error neuron, delivered by a one-to-one synapse.
``input_<k>``
    W_kᵀ ε_k, the bottom-up inference input from lower column ``k``.
``bottom_up``
    Σ_k f_k'(μ) ⊙ input_k, the gain-modulated bottom-up drive (subexpression).
``prior_gradient``
    α φ'(μ), the gradient of a sparse prior's penalty (subexpression; sparse priors only).
``sparsity``
    α, the weight of the sparse penalty (shared constant; sparse priors only).
``drive``
    dμ/dt of a free estimate neuron (subexpression, per second).
``free``
    1: μ follows its drive; 0: μ is clamped, held at the value last written into it
    (:meth:`circuits.Circuit.clamp`).
``inferred``, ``hold``
    Fixed predictions (:meth:`circuits.Circuit.hold`): with ``hold`` = 1 (and ``free`` = 0) μ
    stays at its value for everything it sends (predictions below, the gain f'(μ), learning)
    while ``inferred`` follows the drive from there; the column's error neurons then read
    ``inferred`` instead of μ. Unused (0) otherwise.
``motion``
    (D μ̃)_i, the next-order estimate, in generalized coordinates only (``moving=True``):
    the estimate then descends the free energy in a moving frame, dμ̃/dt = D μ̃ − ∂F/∂μ̃/τ_μ,
    with generalized coordinates in units of seconds⁻ᵏ (see :mod:`circuits.generalized`).
``tau_estimate``
    τ_μ, the time constant (shared parameter, seconds).

Estimates stay signed with rectified errors: a rate column carries μ as a signed rate; a
spiking column (``spiking=True``) maps it onto the non-negative firing rate r0 + κ μ of a
Poisson population (a baseline r0, see :mod:`populations.spiking`), and its inputs ``error``
and ``input_<k>`` are synaptic traces of the error populations' spikes.
"""
from __future__ import annotations

from .activations import Activation
from .priors import prior_shape
from .spiking import input_equations, readout_equations

__all__ = ["estimate_equations", "sensory_equations", "input_variable"]


def input_variable(lower_name: str) -> str:
    """Name of the variable that holds W_kᵀ ε_k from the lower column ``lower_name``."""
    return f"input_{lower_name}"


def estimate_equations(lower: dict[str, Activation], moving: bool = False, spiking: bool = False,
                       prior: str = "gaussian") -> str:
    """Brian2 equations of a latent estimate neuron.

    Parameters
    ----------
    lower : dict
        Maps the name of each lower column this column predicts to the activation f of
        that projection (its f' multiplies the bottom-up input).
    moving : bool
        Generalized coordinates: add the shift term ``motion`` (per second) to dμ/dt.
    spiking : bool
        Inputs are synaptic traces of the error populations' spikes, plus the read-out.
    prior : {"gaussian", "laplace", "cauchy"}
        A sparse prior adds −α φ'(μ) to the drive (see :mod:`populations.priors`).
    """
    terms = [f"{activation.gain('mu')} * {input_variable(name)}" for name, activation in lower.items()]
    inputs = "".join(input_equations(input_variable(name), f"W^T eps from column {name}", spiking) for name in lower)
    shift = " + motion / second" if moving else ""
    shape = prior_shape(prior)
    sparse = "" if shape is None else (
        f"prior_gradient = sparsity * {shape.gain('mu')} : 1  # alpha phi'(mu), {prior} prior\n"
        "sparsity : 1 (shared, constant)  # alpha\n")
    return (
        f"drive = (-error + bottom_up{' - prior_gradient' if sparse else ''}) / tau_estimate{shift} : 1/second\n"
        "dmu/dt = free * drive : 1\n"
        "dinferred/dt = hold * drive : 1  # fixed predictions: the value inferred while mu is held\n"
        + ("motion : 1  # D mu~: the next-order estimate (generalized coordinates)\n" if moving else "") +
        f"bottom_up = {' + '.join(terms) if terms else '0'} : 1\n"
        f"{sparse}"
        + input_equations("error", "eps of this column (one-to-one)", spiking) +
        f"{inputs}"
        "free : 1  # 1: mu follows its drive; 0: clamped\n"
        "hold : 1  # 1: predictions fixed (mu held, inferred follows the drive)\n"
        "tau_estimate : second (shared, constant)\n"
        + readout_equations(spiking)
    )


def sensory_equations(spiking: bool = False) -> str:
    """Brian2 equations of a sensory estimate neuron: μ_0 is clamped to x(t).

    ``mu`` is written every step (before the couplings) by the column's clamp, which evaluates
    the stimulus TimedArray at ``t - run_start``.
    """
    return (
        "mu : 1  # clamped to the stimulus x(t)\n"
        "run_start : second (shared)\n"
        + readout_equations(spiking)
    )
