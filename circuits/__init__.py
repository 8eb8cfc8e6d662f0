"""Predictive-coding circuits of cortical columns, simulated with Brian2.

Public surface::

    Circuit            build columns, connect them, run, read estimates/errors/free energy
                       (a facade over a CircuitGraph and an engine, circuits.engines)
    CircuitGraph       what a circuit is: columns, projections, encoders, wiring checks
    Column             paired estimate (μ) and error (ε) populations of one level
    ColumnState        the live values of a column's neurons inside an engine
    Projection         top-down generative + bottom-up inference synapses between two columns
    Dendrite           the layers of a deep projection or encoder: dendritic compartments,
                       backpropagated errors, learning within the neuron (credit rules)
    Batch              how many copies run at once, and their batch-major layout
    Recording          trajectories returned by Circuit.run
    SimulationDiverged raised when a run blows up
    exact_posterior    closed-form posterior of a linear Gaussian circuit
    datasets           offline data: linear-Gaussian, correlated Gaussian, bars, edges, image patches
    Encoder            amortized inference: proposal and learned-update neurons of a latent column
    Spiking            Circuit(neurons=Spiking(...)): Poisson populations of N neurons per unit
                       (circuits.spiking), the same circuit as spikes
    set_cache_directory, cache_directory   where Brian2's compiled code is kept (circuits.compilation)
    sweep              a simulation over a parameter grid × seeds on Dask, into one xarray Dataset
                       (circuits.sweeps: Parameter, Output; needs the ``sweep`` extra)
    __version__, versions                  this package's version (setup.cfg), and Brian2's, NumPy's, Python's

Modules: ``circuits.generalized`` (generalized coordinates of motion), ``circuits.amortization``,
``circuits.variational`` (samples, ELBO), ``circuits.gaussian`` (closed-form and Laplace posteriors).
"""
import logging

#: Brian2 logs the size of its Cython cache when it is first imported, as INFO lines advising
#: clear_cache() once the cache exceeds prefs.codegen.max_cache_dir_size (1 GB); that advice
#: came before every ``pcsim`` message (whose failures are one line each). The cache is managed
#: through circuits.compilation, so the notice is dropped — here, before anything imports Brian2
#: (BrianLogger.suppress_name would come too late: the notice is logged during the import, by
#: the logger of Brian2's own package, "brian2.brian2", whose records skip the filters of "brian2").
for _name in ("brian2", "brian2.brian2"):
    logging.getLogger(_name).addFilter(lambda record: not record.getMessage().startswith("Cache size for target"))
del _name

from .versions import __version__, versions  # noqa: E402 -- after the filter above
from .compilation import apply_environment, cache_directory, set_cache_directory
from .circuit import Circuit, SimulationDiverged
from .amortization import Encoder
from .batch import Batch
from . import datasets
from .gaussian import exact_posterior
from .graph import CircuitGraph
from .column import Column, ColumnState
from .projection import Projection
from .dendrite import Dendrite
from .recording import Recording
from .spiking import Spiking
from .sweeps import sweep

__all__ = ["Batch", "Circuit", "CircuitGraph", "Column", "ColumnState", "Dendrite", "Encoder", "Projection",
           "Recording", "SimulationDiverged", "Spiking", "__version__", "cache_directory", "datasets",
           "exact_posterior", "set_cache_directory", "sweep", "versions"]

apply_environment()
