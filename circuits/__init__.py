"""Predictive-coding circuits of cortical columns, simulated with Brian2.

Public surface::

    Circuit            build columns, connect them, run, read estimates/errors/free energy
                       (a facade over a CircuitGraph and an engine, circuits.engines)
    CircuitGraph       what a circuit is: columns, projections, encoders, wiring checks
    Column             paired estimate (μ) and error (ε) populations of one level
    ColumnState        the live values of a column's neurons inside an engine
    Projection         top-down generative + bottom-up inference synapses between two columns
    Batch              how many copies run at once, and their batch-major layout
    Recording          trajectories returned by Circuit.run
    SimulationDiverged raised when a run blows up
    exact_posterior    closed-form posterior of a linear Gaussian circuit
    datasets           offline data: linear-Gaussian, correlated Gaussian, bars, edges, image patches
    Encoder            amortized inference: proposal and learned-update neurons of a latent column
    set_cache_directory, cache_directory   where Brian2's compiled code is kept (circuits.compilation)
    sweep              a simulation over a parameter grid × seeds on Dask, into one xarray Dataset
                       (circuits.sweeps: Parameter, Output; needs the ``sweep`` extra)

Modules: ``circuits.generalized`` (generalized coordinates of motion), ``circuits.amortization``,
``circuits.variational`` (samples, ELBO), ``circuits.gaussian`` (closed-form and Laplace posteriors).
"""
from .compilation import apply_environment, cache_directory, set_cache_directory
from .circuit import Circuit, SimulationDiverged
from .amortization import Encoder
from .batch import Batch
from . import datasets
from .gaussian import exact_posterior
from .graph import CircuitGraph
from .column import Column, ColumnState
from .projection import Projection
from .recording import Recording
from .sweeps import sweep

__all__ = ["Batch", "Circuit", "CircuitGraph", "Column", "ColumnState", "Encoder", "Projection", "Recording",
           "SimulationDiverged", "cache_directory", "datasets", "exact_posterior", "set_cache_directory", "sweep"]

apply_environment()
