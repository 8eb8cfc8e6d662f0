"""Parameter studies and seed ensembles on Dask, gathered into one xarray Dataset.

    dataset = circuits.sweep("attention", {"gain": [0.25, 1, 4], "noise": [0.5]}, seeds=8, out="study")

runs a canned simulation (``pcsim list``), or any function ``f(seed=…, **parameters)`` that
builds and runs a circuit and returns a dict of numbers and arrays, at every point of the grid
× seeds, on a Dask cluster:

- ``client=None``: a ``LocalCluster`` of ``workers`` processes (one thread each) started for
  the sweep and closed after it; a scheduler address (``"tcp://host:8786"``): any running
  cluster (dask-jobqueue, Kubernetes, ``dask scheduler``/``dask worker``); a
  ``distributed.Client``: used as it is; ``"serial"``: a plain loop in this process.
- Every worker process pins BLAS to one thread (threadpoolctl; the nanny sets
  ``OMP/MKL/OPENBLAS_NUM_THREADS=1`` too) and compiles into its own Brian2 cache,
  ``<cache>/worker-<name>`` (default ``<its cache_directory()>/sweep-workers``): a worker
  compiles a circuit structure once and every later point of that structure reuses the
  compiled code (``compiled`` below counts what each point compiled).
- The result is one ``xarray.Dataset``: dimensions = the grid's parameters (in the grid's
  order) and ``seed``, plus each output's own dimensions; one variable per output (float64,
  NaN where missing), and per point ``done`` (bool), ``error`` (the exception of a point that
  raised, e.g. ``SimulationDiverged: …``, else ""), ``wall_time`` (s), ``worker`` and
  ``compiled`` (Brian2 modules the point compiled, −1 if not run). Attributes: the simulation,
  its duration, the command, and the versions of predictive-circuits, Brian2, NumPy, Python,
  Dask and xarray.
- With ``out=DIR`` the dataset is written to ``DIR/results.nc`` (NetCDF3 through SciPy; xarray,
  netCDF4 and every NetCDF tool read it) as results arrive, atomically (a new file replaces
  the old one): after every point, unless writing the file takes more than a tenth of the time
  between points (large outputs, many workers), when it is written every ten writing times
  instead, and always at the end. Every arriving point is also appended at once to
  ``results.nc.journal`` (removed at each write), so a killed sweep loses only the points in
  flight. A later sweep with the same ``out`` reads both, extends the grid by any new values
  and computes only the points not done (never run, or failed).
- Faults: a point that raises is recorded (``done`` False, its ``error``) and the sweep goes
  on. A worker process that dies has its points rescheduled by Dask on the other workers
  (the nanny restarts it); a point that kills ``distributed.scheduler.allowed-failures`` + 1
  workers is recorded as failed. Each point is stored exactly once.

Canned simulations declare what can be swept: ``PARAMETERS`` (a tuple of :class:`Parameter`,
keyword arguments of their ``simulate(duration, seed, **parameters)``) and ``OUTPUTS`` (a
tuple of :class:`Output`, entries of the summary that ``simulate`` returns); a module with a
``sweep_figure(dataset)`` gets that figure drawn by ``pcsim sweep``.

Dask, xarray, tqdm and threadpoolctl are the ``sweep`` extra:
``pip install 'predictive-circuits[sweep]'``.
"""
from __future__ import annotations

import inspect
import itertools
import operator
import os
import pickle
import sys
import sysconfig
import time
from collections.abc import Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
from brian2 import ms

from .compilation import cache_directory, set_cache_directory
from .versions import versions as package_versions

__all__ = ["EXTRA", "Output", "Parameter", "REQUIRES", "RESULTS_FILE", "load", "parse_grid", "sweep"]

#: The dataset's file name inside ``out``.
RESULTS_FILE = "results.nc"
#: Import names of the ``sweep`` extra's packages, and how to install them.
REQUIRES = ("distributed", "xarray", "tqdm", "threadpoolctl")
EXTRA = "pip install 'predictive-circuits[sweep]'"


@dataclass(frozen=True)
class Parameter:
    """A keyword parameter of a simulation that a sweep may vary.

    name : the keyword of ``simulate``
    default : its value when not swept (a number, in ``unit``)
    unit : a Brian2 unit (e.g. ``ms``) the grid's numbers are given in, or None (dimensionless)
    description : one line, written to the coordinate's attributes
    """

    name: str
    default: float
    unit: object = None
    description: str = ""

    def value(self, number: float):
        """The keyword argument for the grid value ``number``."""
        return number if self.unit is None else number * self.unit

    @property
    def units(self) -> str:
        return "1" if self.unit is None else str(self.unit)


@dataclass(frozen=True)
class Output:
    """A number or array a simulation returns, stored as one variable of the dataset.

    name : the dataset's variable, and its key in the returned dict (a canned simulation's
           summary) unless ``key`` says otherwise
    dims : names of its own dimensions (its shape; () for a scalar); sizes are taken from the
           first point that returns it and every later point must match
    units : units of the values ("1" if dimensionless)
    description : one line, written to the variable's attributes
    key : where it is in a nested summary, keys joined by "/" (e.g. "sine/error_order_1")
    """

    name: str
    dims: tuple = ()
    units: str = "1"
    description: str = ""
    key: str = ""

    def find(self, summary: dict):
        """This output's value in ``summary``."""
        value = summary
        for part in (self.key or self.name).split("/"):
            value = value[part]
        return value


def parse_grid(text: str) -> dict:
    """``'gain=0.25,0.5,1 noise=0.5'`` → ``{"gain": [0.25, 0.5, 1.0], "noise": [0.5]}``; ``''``
    → ``{}`` (seeds only)."""
    grid = {}
    for item in text.split():
        name, equals, values = item.partition("=")
        if not equals or not name or not values:
            raise ValueError(f"--grid: expected 'name=v1,v2,…' items separated by spaces, got {item!r}")
        if name in grid:
            raise ValueError(f"--grid: parameter {name!r} is given twice")
        try:
            grid[name] = [float(v) for v in values.split(",")]
        except ValueError:
            raise ValueError(f"--grid: the values of {name!r} must be numbers separated by commas, "
                             f"got {values!r}") from None
    return grid


# -- what runs at one point ----------------------------------------------------------------------
class CannedSimulation:
    """``simulate(duration, seed, **parameters)`` of a canned simulation, picklable by name;
    returns the declared outputs from its summary."""

    def __init__(self, name: str, duration=None):
        from .simulations import check_module_duration, get_simulation
        module = get_simulation(name)
        self.name = module.NAME
        self.duration = module.DEFAULT_DURATION if duration is None else duration
        check_module_duration(module, self.duration)    # once here, not as a failure of every point
        self.parameters = {p.name: p for p in getattr(module, "PARAMETERS", ())}
        self.outputs = tuple(getattr(module, "OUTPUTS", ()))
        if not self.outputs:
            raise ValueError(f"simulation {self.name!r} declares no OUTPUTS and cannot be swept")

    def check(self, names):
        unknown = [n for n in names if n not in self.parameters]
        if unknown:
            raise ValueError(f"{self.name!r} has no sweepable parameter {', '.join(map(repr, unknown))}; "
                             f"choose from {sorted(self.parameters) or 'none (only seeds)'}")

    def __call__(self, seed, **parameters):
        from .simulations import get_simulation
        module = get_simulation(self.name)
        keywords = {name: self.parameters[name].value(v) for name, v in parameters.items()}
        summary = module.simulate(self.duration, seed, **keywords).summary
        return {output.name: output.find(summary) for output in self.outputs}


def _as_target(simulation, duration, outputs):
    """(callable, outputs or None, label, duration in ms or None)."""
    if isinstance(simulation, str) or inspect.ismodule(simulation):
        name = simulation if isinstance(simulation, str) else simulation.NAME
        target = CannedSimulation(name, duration)
        return target, target.outputs, target.name, float(target.duration / ms)
    if not callable(simulation):
        raise TypeError("simulation: a canned simulation's name (pcsim list) or a function "
                        "f(seed=…, **parameters) returning a dict of numbers and arrays")
    if duration is not None:
        raise ValueError("duration applies to canned simulations; a function sets its own")
    named = getattr(simulation, "func", simulation)     # a functools.partial: its function's name
    label = getattr(named, "__qualname__", type(named).__name__)
    return simulation, (tuple(outputs) if outputs is not None else None), label, None


def _check_function_parameters(function, names):
    signature = inspect.signature(function)
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    missing = [n for n in ("seed", *names) if n not in signature.parameters and not accepts_any]
    if missing:
        name = getattr(function, "__qualname__", "f")
        raise ValueError(f"the swept function {name}{signature} does not take the "
                         f"keyword{'s' if len(missing) > 1 else ''} {', '.join(missing)}")


def _compiled_modules() -> int:
    """Brian2's compiled modules in the cache directory of this process."""
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    try:
        return sum(1 for entry in os.scandir(cache_directory()) if entry.name.endswith(suffix))
    except FileNotFoundError:
        return 0


def evaluate(function, seed: int, parameters: dict) -> dict:
    """Run one point; never raises: an exception becomes the point's ``error``."""
    before, start = _compiled_modules(), time.perf_counter()
    try:
        values, error = function(seed=seed, **parameters), ""
        if hasattr(values, "summary"):      # an Outcome
            values = values.summary
        if not isinstance(values, dict):
            raise TypeError(f"a swept function must return a dict of numbers and arrays, "
                            f"got {type(values).__name__}")
    except Exception as exception:          # noqa: BLE001 - recorded with the point
        values, error = None, f"{type(exception).__name__}: {exception}"
    try:
        from distributed import get_worker
        worker = str(get_worker().name)
    except (ImportError, ValueError):
        worker = f"pid {os.getpid()}"
    return {"values": values, "error": error, "wall_time": time.perf_counter() - start,
            "worker": worker, "compiled": _compiled_modules() - before}


def pin_blas():
    """One BLAS/OpenMP thread in this worker process (it runs one point per core), for the
    libraries loaded now and, through the environment, for those loaded later."""
    from threadpoolctl import threadpool_limits
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = "1"
    threadpool_limits(1)


def _worker_plugin(cache):
    from distributed import WorkerPlugin

    class WorkerSetup(WorkerPlugin):
        """Each worker: BLAS pinned to one thread, its own Brian2 compilation cache."""
        name = "predictive-circuits-sweep"

        def __init__(self, root):
            self.root = root

        def setup(self, worker):
            pin_blas()
            root = Path(self.root) if self.root else cache_directory() / "sweep-workers"
            tag = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in str(worker.name))
            set_cache_directory(root / f"worker-{tag}")

    return WorkerSetup(None if cache is None else str(cache))


# -- the dataset being filled ---------------------------------------------------------------------
class Results:
    """The sweep's arrays in memory: coordinates, outputs and per-point records."""

    RECORDS = {"done": (bool, False), "error": (object, ""), "wall_time": (float, np.nan),
               "worker": (object, ""), "compiled": (np.int32, -1)}

    def __init__(self, coords: dict, outputs, attrs: dict, parameter_attrs: dict):
        self.coords = {dim: list(values) for dim, values in coords.items()}
        self.declared = {o.name: o for o in outputs} if outputs is not None else None
        self.outputs = {}        # name -> (Output, array of grid shape + own shape)
        self.records = {name: np.full(self.shape, fill, dtype=dtype) for name, (dtype, fill) in self.RECORDS.items()}
        self.attrs, self.parameter_attrs = dict(attrs), parameter_attrs

    @property
    def shape(self):
        return tuple(len(v) for v in self.coords.values())

    @classmethod
    def load(cls, path: Path, outputs):
        import xarray as xr
        with xr.open_dataset(path, engine="scipy") as stored:
            stored = stored.load()
        grid = [dim for dim in stored["done"].dims]
        results = cls({dim: stored[dim].values.tolist() for dim in grid}, outputs, stored.attrs,
                      {dim: dict(stored[dim].attrs) for dim in grid if dim != "seed"})
        for name in cls.RECORDS:
            results.records[name][...] = stored[name].values
        for name, variable in stored.data_vars.items():
            if name not in cls.RECORDS:
                own = variable.dims[len(grid):]
                output = Output(name, tuple(own), variable.attrs.get("units", "1"),
                                variable.attrs.get("description", ""))
                results.outputs[name] = (output, variable.values.astype(float))
        for point, result in _Writer.journal_records(path):
            try:
                index = results.index(point)
            except ValueError:              # a grid value the file does not hold: not this sweep's
                continue
            results.record(index, result)
        return results

    def extend(self, coords: dict, parameter_attrs: dict):
        """Add the grid values not stored yet (appended along their dimension)."""
        if list(coords) != list(self.coords):
            raise ValueError(f"the stored sweep has dimensions {list(self.coords)}, this grid "
                             f"{list(coords)}: use another --out, or the same parameters")
        self.parameter_attrs = parameter_attrs
        positions = []
        for dim, values in coords.items():
            new = [v for v in values if v not in self.coords[dim]]
            self.coords[dim] += new
            positions.append(len(self.coords[dim]) - len(new))
        def grow(array, fill):
            for axis, old in enumerate(positions):
                extra = len(list(self.coords.values())[axis]) - old
                if extra:
                    pad = list(array.shape)
                    pad[axis] = extra
                    array = np.concatenate([array, np.full(pad, fill, dtype=array.dtype)], axis=axis)
            return array
        self.records = {name: grow(array, self.RECORDS[name][1]) for name, array in self.records.items()}
        self.outputs = {name: (output, grow(array, np.nan)) for name, (output, array) in self.outputs.items()}

    def index(self, point: dict) -> tuple:
        return tuple(self.coords[dim].index(point[dim]) for dim in self.coords)

    def record(self, index: tuple, result: dict):
        for name in ("wall_time", "worker", "compiled"):
            self.records[name][index] = result[name]
        error = result["error"]
        if not error:
            try:
                arrays = self._check(result["values"])
            except ValueError as problem:
                error = f"ValueError: {problem}"
            else:
                for name, value in arrays.items():
                    self.outputs[name][1][index] = value
        if error:
            for _, array in self.outputs.values():
                array[index] = np.nan
        self.records["done"][index], self.records["error"][index] = not error, error

    def _check(self, values: dict) -> dict:
        if self.declared is not None:
            missing = [name for name in self.declared if name not in values]
            if missing:
                raise ValueError(f"the point returned no output {', '.join(missing)}")
            names = list(self.declared)
        else:
            names = [name for name, value in values.items() if _numeric(value)]
        arrays = {}
        for name in names:
            value = np.asarray(values[name], dtype=float)
            if name not in self.outputs:
                output = self.declared[name] if self.declared else Output(
                    name, tuple(f"{name}_{k}" for k in range(value.ndim)))
                if len(output.dims) != value.ndim:
                    raise ValueError(f"output {name!r} has shape {value.shape}, declared dims {output.dims}")
                self.outputs[name] = (output, np.full(self.shape + value.shape, np.nan))
            expected = self.outputs[name][1].shape[len(self.shape):]
            if value.shape != expected:
                raise ValueError(f"output {name!r} has shape {value.shape}; earlier points gave {expected}")
            arrays[name] = value
        return arrays

    def dataset(self):
        import xarray as xr
        dims = list(self.coords)
        coords = {dim: (dim, np.asarray(values, dtype=np.int32 if dim == "seed" else float),
                        self.parameter_attrs.get(dim, {"description": "random seed of the point"}))
                  for dim, values in self.coords.items()}
        variables = {name: (dims, self.records[name].astype(str) if self.records[name].dtype == object
                            else self.records[name]) for name in self.RECORDS}
        for name, (output, array) in self.outputs.items():
            variables[name] = (dims + list(output.dims), array,
                               {"units": output.units, "description": output.description})
        return xr.Dataset(variables, coords=coords, attrs=self.attrs)

    def save(self, path: Path):
        """Write the whole dataset to a new file and move it over ``path`` (atomic)."""
        partial = path.with_name(path.name + ".partial")
        self.dataset().to_netcdf(partial, engine="scipy")
        os.replace(partial, path)


class _Writer:
    """Keeps ``path`` up to date as points arrive: each point is appended at once to a journal
    beside it (``results.nc.journal``, a pickle per point; well under a millisecond), and the
    whole dataset is rewritten atomically after every point unless that would take more than a
    tenth of the time (then every ten write-times), and at the end, when the journal is
    removed. :meth:`Results.load` replays a journal left by a killed sweep: every point that
    arrived is kept."""

    def __init__(self, results: Results, path: Path | None):
        self.results, self.path = results, path
        self.journal = None if path is None else _Writer.journal_path(path)
        self.written, self.costs = 0.0, []

    @staticmethod
    def journal_path(path: Path) -> Path:
        return path.with_name(path.name + ".journal")

    @staticmethod
    def journal_records(path: Path):
        """(point, result) pairs of a journal; a record cut short by a kill ends it."""
        journal = _Writer.journal_path(path)
        if not journal.exists():
            return
        with open(journal, "rb") as file:
            while True:
                try:
                    yield pickle.load(file)
                except (EOFError, pickle.UnpicklingError, ValueError, AttributeError):
                    return

    def point_arrived(self, index, result):
        if self.path is None:
            return
        point = {dim: values[i] for (dim, values), i in zip(self.results.coords.items(), index)}
        with open(self.journal, "ab") as file:
            pickle.dump((point, result), file)
        if time.perf_counter() - self.written >= 10 * min(self.costs[-5:], default=0.0):
            self.flush()

    def flush(self):
        if self.path is None:
            return
        start = time.perf_counter()
        self.results.save(self.path)
        self.journal.unlink(missing_ok=True)
        first, self.written = not self.written, time.perf_counter()
        if not first:                                 # the first write includes xarray's imports
            self.costs.append(self.written - start)


def _numeric(value) -> bool:
    try:
        return np.asarray(value).dtype.kind in "biuf"
    except (TypeError, ValueError):
        return False


# -- running ----------------------------------------------------------------------------------------
@contextmanager
def _connect(client, workers):
    if isinstance(client, str) or client is None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ImportError(f"sweeps on Dask need the sweep extra: {EXTRA}") from None
        if client is None:
            # the scheduler's HTTP server on a free port: its default, 8787, warns on stderr
            # when another cluster on the machine holds it
            cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                                   processes=True, dashboard_address=":0")
            with cluster, Client(cluster) as owned:
                yield owned
        else:
            with Client(client) as owned:
                yield owned
    else:
        yield client


def _run_serial(function, points):
    from threadpoolctl import threadpool_limits
    with threadpool_limits(1):          # as on the workers: the same numbers, bit for bit
        for key, seed, parameters in points:
            yield key, evaluate(function, seed, parameters)


def _run_dask(client, function, points, cache):
    from distributed import as_completed
    client.register_plugin(_worker_plugin(cache))
    keys, futures = {}, []
    for key, seed, parameters in points:
        future = client.submit(evaluate, function, seed, parameters, pure=False)
        keys[future.key] = key
        futures.append(future)
    try:
        for future in as_completed(futures):
            try:
                result = future.result()
            except Exception as exception:      # noqa: BLE001 - e.g. KilledWorker: no result came back
                result = {"values": None, "error": f"{type(exception).__name__}: {exception}",
                          "wall_time": np.nan, "worker": "", "compiled": -1}
            yield keys[future.key], result
            future.release()
    finally:
        client.cancel([f for f in futures if not f.done()])


def versions() -> dict:
    """Versions of the software that computed a sweep (the dataset's attributes): those of
    :func:`circuits.versions` and Dask's and xarray's, as ``<package>_version``."""
    found = {f"{name.replace('-', '_')}_version": number for name, number in package_versions().items()}
    for package in ("dask", "xarray"):
        try:
            found[f"{package}_version"] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return found


def sweep(simulation, grid, seeds=1, *, client=None, out=None, duration=None, outputs=None,
          workers=None, cache=None, progress=False, command=None):
    """Run ``simulation`` at every point of ``grid`` × ``seeds``; return one xarray Dataset.

    Parameters
    ----------
    simulation : str, module or callable
        A canned simulation's name (``pcsim list``) or module, or a function
        ``f(seed=…, **parameters)`` that returns a dict of numbers and arrays (or an Outcome,
        whose summary is used). Functions defined in a script or notebook are shipped to the
        workers by value (cloudpickle); what they import must be installed there.
    grid : dict or str
        Parameter name → values (numbers; in the parameter's declared unit), or the CLI form
        ``"gain=0.25,0.5,1 noise=0.5"``. Every combination is a point.
    seeds : int or sequence of int
        ``n`` means seeds 0 … n−1 (default: one point per grid combination, seed 0).
    client : None, str, distributed.Client or "serial"
        Where the points run (see the module docstring); None starts a LocalCluster of
        ``workers`` processes (default: one per core).
    out : path, optional
        Directory: ``results.nc`` there is written after every point and read back by a later
        sweep (resume).
    duration : Brian2 time, optional
        Simulated time of a canned simulation (default: its own).
    outputs : sequence of Output, optional
        For a function: which returned entries to store, with dims and units (default: every
        numeric entry, dims named ``<name>_<axis>``).
    cache : path, optional
        Root of the workers' Brian2 caches (``<cache>/worker-<name>``; must be valid on the
        workers).
    progress : bool
        A tqdm progress bar.
    command : str, optional
        Recorded in the attributes (``pcsim sweep`` passes its command line).

    Returns
    -------
    xarray.Dataset
        Dimensions (*grid, seed, *each output's dims); see the module docstring.

    Raises
    ------
    ValueError
        Bad arguments (grid, seeds, a parameter the simulation does not declare, a duration it
        cannot use, an ``out`` that holds another sweep), always before any point runs: a
        point's own exception is recorded in the dataset, never raised.
    """
    try:
        import xarray  # noqa: F401
    except ImportError:
        raise ImportError(f"sweeps need the sweep extra: {EXTRA}") from None
    function, declared, label, duration_ms = _as_target(simulation, duration, outputs)
    if not isinstance(grid, (str, Mapping)):
        raise TypeError(f"grid: a dict of parameter name → values, or the form 'name=v1,v2 …', "
                        f"got {type(grid).__name__}")
    grid = {name: _numbers(name, v) for name, v in (parse_grid(grid) if isinstance(grid, str) else grid).items()}
    if "seed" in grid:
        raise ValueError("grid: 'seed' is a dimension of its own; use seeds=")
    try:
        seeds = list(range(operator.index(seeds))) if not np.iterable(seeds) else [operator.index(s) for s in seeds]
    except TypeError:
        raise TypeError(f"seeds: a number of seeds, or a list of distinct non-negative integers, "
                        f"got {seeds!r}") from None
    if not seeds or min(seeds) < 0 or len(set(seeds)) < len(seeds):
        raise ValueError("seeds: a positive number of seeds, or a list of distinct non-negative integers")
    if isinstance(function, CannedSimulation):
        function.check(grid)
        described = {name: {"units": p.units, "description": p.description}
                     for name, p in function.parameters.items() if name in grid}
    else:
        _check_function_parameters(function, grid)
        described = {name: {"units": "1", "description": ""} for name in grid}
    attrs = {"simulation": label, "command": command or f"circuits.sweep({label!r}, {grid!r}, seeds={seeds!r})",
             **({"duration_ms": duration_ms} if duration_ms is not None else {}), **versions()}

    coords = {**grid, "seed": seeds}
    path = Path(out) / RESULTS_FILE if out is not None else None
    if path is not None and path.exists():
        results = Results.load(path, declared)
        for key in ("simulation", "duration_ms"):
            if results.attrs.get(key) != attrs.get(key):
                raise ValueError(f"{path} holds a sweep of {key} = {results.attrs.get(key)}, not "
                                 f"{attrs.get(key)}: use another out directory")
        results.extend(coords, described)
        results.attrs.update({k: v for k, v in attrs.items() if k != "command"})
        results.attrs["command"] = f"{results.attrs.get('command', '')}; {attrs['command']}".lstrip("; ")
    else:
        results = Results(coords, declared, attrs, described)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)

    pending = []
    for values in itertools.product(*coords.values()):
        point = dict(zip(coords, values))
        index = results.index(point)
        if not results.records["done"][index]:
            parameters = {name: value for name, value in point.items() if name != "seed"}
            pending.append((index, point["seed"], parameters))
    bar = _progress(len(pending), label) if progress and pending else None
    writer = _Writer(results, path)
    writer.flush()              # the file holds the whole grid (and the replayed journal) from the start
    try:
        with (nullcontext() if client == "serial" else _connect(client, workers)) as connected:
            stream = (_run_serial(function, pending) if client == "serial"
                      else _run_dask(connected, function, pending, cache))
            for index, result in stream:
                results.record(index, result)
                writer.point_arrived(index, result)
                if bar is not None:
                    bar.update()
    finally:
        writer.flush()
        if bar is not None:
            bar.close()
    return results.dataset()


def load(out):
    """The dataset of the sweep stored in the directory ``out``: ``results.nc`` and every point
    its journal holds (a sweep still running, or killed)."""
    try:
        import xarray  # noqa: F401
    except ImportError:
        raise ImportError(f"sweeps need the sweep extra: {EXTRA}") from None
    path = Path(out) / RESULTS_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path}: no sweep stored there")
    return Results.load(path, None).dataset()


def _numbers(name, values) -> list:
    """The grid values of ``name``: a non-empty list of distinct finite numbers."""
    try:
        array = np.atleast_1d(np.asarray(values, dtype=float))
    except (TypeError, ValueError):
        raise ValueError(f"grid: the values of {name!r} must be numbers, got {values!r}") from None
    if not array.size:
        raise ValueError(f"grid: {name!r} has no values")
    if array.ndim > 1 or not np.isfinite(array).all() or len(set(array.tolist())) < array.size:
        raise ValueError(f"grid: the values of {name!r} must be a list of distinct finite numbers, got {values!r}")
    return array.tolist()


def _progress(total, label):
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=label, unit="point", file=sys.stderr)
