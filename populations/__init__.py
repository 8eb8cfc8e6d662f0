"""Neuron models of predictive-coding columns, as Brian2 equations with units.

- :mod:`populations.estimate` — estimate neurons μ (posterior means) and clamped sensory ones;
- :mod:`populations.error` — error neurons ε = Σ⁻¹(μ − prediction);
- :mod:`populations.interneuron` — interneurons through which a column learns Σ;
- :mod:`populations.amortization` — the encoder's proposal neurons and the learned update
  neurons of amortized inference;
- :mod:`populations.dendrite` — dendritic compartments: the hidden layers of a deep projection
  or encoder, carrying its forward pass and the backpropagating errors;
- :mod:`populations.activations` — rate nonlinearities f with their derivatives f';
- :mod:`populations.priors` — sparse priors (Laplace, Cauchy) on a latent column's estimates;
- :mod:`populations.spiking` — Poisson populations of N neurons per rate unit, synaptic traces
  of their spikes, and the population-rate read-out (spiking columns).

This package knows nothing of circuits: :mod:`circuits` instantiates these models.
"""
from .activations import ACTIVATIONS, Activation, get_activation, get_activations, numpy_function
from .amortization import proposal_equations, update_equations, update_variable
from .dendrite import compartment_equations
from .error import INHIBITION, error_equations, prediction_variable
from .estimate import estimate_equations, input_variable, sensory_equations
from .interneuron import interneuron_equations
from .priors import PRIORS, prior_shape
from .spiking import THRESHOLD, input_equations, poisson_equations, readout_equations

__all__ = ["ACTIVATIONS", "Activation", "get_activation", "get_activations", "numpy_function",
           "compartment_equations", "INHIBITION", "error_equations",
           "prediction_variable", "estimate_equations", "input_variable", "sensory_equations",
           "interneuron_equations", "PRIORS", "prior_shape", "proposal_equations", "update_equations",
           "update_variable", "THRESHOLD", "input_equations", "poisson_equations", "readout_equations"]
