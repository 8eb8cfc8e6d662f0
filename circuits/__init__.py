"""Predictive-coding circuits of cortical columns, simulated with Brian2.

Public surface::

    Circuit            build columns, connect them, run, read estimates/errors/free energy
    Column             paired estimate (μ) and error (ε) populations of one level
    Projection         top-down generative + bottom-up inference synapses between two columns
    Recording          trajectories returned by Circuit.run
    SimulationDiverged raised when a run blows up
    exact_posterior    closed-form posterior of a linear Gaussian circuit
    datasets           offline data: linear-Gaussian, correlated Gaussian, bars, edges, image patches
"""
from .circuit import Circuit, SimulationDiverged
from . import datasets
from .gaussian import exact_posterior
from .column import Column
from .projection import Projection
from .recording import Recording

__all__ = ["Circuit", "Column", "Projection", "Recording", "SimulationDiverged", "datasets", "exact_posterior"]
