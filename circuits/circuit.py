"""The circuit: columns and projections assembled into one Brian2 network, and run."""
from __future__ import annotations

import gc
from typing import Union

import numpy as np
from brian2 import Network, NetworkOperation, StateMonitor, TimedArray, ms
from brian2.codegen.runtime.numpy_rt import NumpyCodeObject

from populations import get_activation

from .column import Column
from .energy import free_energy_by_level
from .projection import BACKENDS, Projection, build_dense_couplings, build_synapses
from .recording import Recording
from .validation import as_array, as_covariance, as_matrix, as_time, as_vector, check_finite, check_name

__all__ = ["Circuit", "SimulationDiverged"]

ColumnRef = Union[Column, str]


class SimulationDiverged(RuntimeError):
    """A run produced non-finite or runaway rates; the message names the column and the fix."""


def _code_object_class(target):
    if target is None:
        return None
    if target == "numpy":
        return NumpyCodeObject
    if target == "cython":
        from brian2.codegen.runtime.cython_rt import CythonCodeObject
        return CythonCodeObject
    raise ValueError(f"target must be None (Brian2's preference), 'cython' or 'numpy', got {target!r}")


class Circuit:
    """A hierarchy of predictive-coding columns simulated in continuous time by Brian2.

    Generative model: p(z_ℓ | z_ℓ+1) = N(W_ℓ f(z_ℓ+1) + b_ℓ, Σ_ℓ), top prior N(m_L, Σ_L),
    sensory level z_0 = x. Rate dynamics (Bogacz 2017, eqs. 12–14, multivariate)::

        τ_ε dε_ℓ/dt = μ_ℓ − (W_ℓ f(μ_ℓ+1) + b_ℓ) − Σ_ℓ ε_ℓ
        τ_μ dμ_ℓ/dt = −ε_ℓ + f'(μ_ℓ) ⊙ (W_ℓ−1ᵀ ε_ℓ−1)
        μ_0 = x(t)

    integrated by Brian2 with forward Euler: every coupling is computed from the state at the
    start of a step, then every group takes one Euler step.

    Parameters
    ----------
    dt : time
        Integration step (default 0.1 ms). Must be below τ/2 for both time constants.
    tau_estimate : time
        τ_μ of the estimate neurons (default 10 ms).
    tau_error : time
        τ_ε of the error neurons (default 2 ms).
    backend : {"dense", "synapses"}
        Default backend of projections and of the columns' internal connections
        (see :mod:`circuits.projection`). "dense" is the fast one.
    target : {None, "cython", "numpy"}
        Brian2 code-generation target; None follows ``brian2.prefs.codegen.target``
        (``"auto"``: cython when a compiler works, cached in Brian2's cython cache).
    divergence_threshold : float
        A run stops with :class:`SimulationDiverged` when any |μ| or |ε| exceeds it or is not
        finite (checked every ``check_interval`` of simulated time and at the end of the run).
    check_interval : time
        How often divergence is checked (default 1 ms).
    """

    def __init__(self, dt=0.1 * ms, tau_estimate=10 * ms, tau_error=2 * ms, backend="dense",
                 target=None, divergence_threshold=1e10, check_interval=1 * ms):
        self.dt = as_time(dt, "dt")
        self.tau_estimate = as_time(tau_estimate, "tau_estimate")
        self.tau_error = as_time(tau_error, "tau_error")
        for label, tau in (("tau_estimate", self.tau_estimate), ("tau_error", self.tau_error)):
            if self.dt >= tau / 2:
                raise ValueError(f"dt = {self.dt} is too large for {label} = {tau}: forward Euler "
                                 f"needs dt < {label}/2 (and dt ≤ {label}/10 for accuracy); "
                                 f"use dt ≤ {tau / 10}")
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        self.backend = backend
        self._codeobj_class = _code_object_class(target)
        if not (isinstance(divergence_threshold, (int, float)) and divergence_threshold > 0):
            raise ValueError(f"divergence_threshold must be a positive number, got {divergence_threshold!r}")
        self.divergence_threshold = float(divergence_threshold)
        self.check_interval = as_time(check_interval, "check_interval")
        self.columns: dict[str, Column] = {}
        self.projections: list[Projection] = []
        self._network: Network | None = None
        self._monitors = {}
        self._divergence = None

    # -- building ------------------------------------------------------------------------------
    def sensory(self, name: str, size: int, covariance=1.0) -> Column:
        """Add a sensory column (level 0) whose estimates are clamped to the stimulus.

        ``covariance`` Σ_0: a scalar (isotropic), a vector (diagonal) or a (size, size) matrix.
        """
        return self._add_column(name, size, covariance, 0.0, sensory=True)

    def column(self, name: str, size: int, covariance=1.0, prior_mean=0.0) -> Column:
        """Add a latent column of ``size`` estimate/error neuron pairs.

        ``covariance`` Σ: scalar, vector (diagonal) or matrix. ``prior_mean`` m (scalar or
        vector): the prior mean of a top column, where its estimates start; for a column with
        upper columns it adds to the prediction like a bias.
        """
        return self._add_column(name, size, covariance, prior_mean, sensory=False)

    def _add_column(self, name, size, covariance, prior_mean, sensory):
        self._check_not_built("add a column")
        check_name(name, self.columns)
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
            raise TypeError(f"size must be a positive integer, got {size!r}")
        if size < 1:
            raise ValueError(f"size must be at least 1, got {size}")
        covariance = as_covariance(covariance, int(size))
        largest = np.linalg.eigvalsh(covariance).max()
        if float(self.dt / self.tau_error) * largest >= 1:
            raise ValueError(f"covariance: its largest eigenvalue {largest:.3g} makes the error "
                             f"neurons' self-inhibition too fast for dt = {self.dt} and tau_error = "
                             f"{self.tau_error} (Euler needs dt·λmax(Σ)/τ_ε < 1 here, it is "
                             f"{float(self.dt / self.tau_error) * largest:.3g}); use dt ≤ "
                             f"{self.tau_error / (10 * largest)} or a larger tau_error")
        column = Column(self, name, int(size), covariance,
                        as_vector(prior_mean, int(size), "prior_mean"), sensory)
        self.columns[name] = column
        return column

    def connect(self, upper: ColumnRef, lower: ColumnRef, weights, activation="linear", bias=0.0,
                backend=None) -> Projection:
        """Let ``upper`` predict ``lower``: top-down generative synapses W f(μ_upper) + b into
        lower's error neurons, and bottom-up inference synapses Wᵀ ε_lower into upper's estimates.

        Parameters
        ----------
        upper, lower : Column or column name
        weights : array, shape (lower.size, upper.size)
            W.
        activation : str, Activation or (f, f') pair of Brian2 expressions in ``x``
            One of ``linear``, ``tanh``, ``relu``, ``softplus``, ``sigmoid``, or custom.
        bias : scalar or array (lower.size,)
            b.
        backend : {None, "dense", "synapses"}
            None uses the circuit's backend.
        """
        self._check_not_built("connect columns")
        upper, lower = self._column(upper, "upper"), self._column(lower, "lower")
        if upper is lower:
            raise ValueError(f"connect: upper and lower are the same column {upper.name!r}; "
                             f"a column cannot predict itself (its covariance Σ already links its "
                             f"error neurons)")
        if upper.sensory:
            raise ValueError(f"connect: upper column {upper.name!r} is sensory; sensory columns are "
                             f"the bottom of the hierarchy and can only be predicted (pass it as lower)")
        if any(p.upper is upper and p.lower is lower for p in self.projections):
            raise ValueError(f"connect: {upper.name!r} already predicts {lower.name!r}")
        if self._reaches(lower, upper):
            raise ValueError(f"connect: {lower.name!r} already predicts {upper.name!r} (directly or "
                             f"through other columns); the hierarchy must not contain cycles")
        weights = as_matrix(weights, (lower.size, upper.size), "weights")
        bias = as_vector(bias, lower.size, "bias")
        backend = self.backend if backend is None else backend
        if backend not in BACKENDS:
            raise ValueError(f"backend must be None or one of {BACKENDS}, got {backend!r}")
        projection = Projection(upper, lower, weights, get_activation(activation), bias, backend)
        self.projections.append(projection)
        upper.upward.append(projection)
        lower.downward.append(projection)
        return projection

    def _reaches(self, start: Column, goal: Column) -> bool:
        """Whether ``start`` predicts ``goal`` through a chain of projections."""
        frontier = [start]
        while frontier:
            column = frontier.pop()
            if column is goal:
                return True
            frontier.extend(p.lower for p in column.upward)
        return False

    def _column(self, ref: ColumnRef, parameter: str) -> Column:
        if isinstance(ref, Column):
            if self.columns.get(ref.name) is not ref:
                raise ValueError(f"{parameter}: column {ref.name!r} belongs to another circuit")
            return ref
        if isinstance(ref, str):
            if ref not in self.columns:
                raise ValueError(f"{parameter}: no column named {ref!r}; columns are {list(self.columns)}")
            return self.columns[ref]
        raise TypeError(f"{parameter} must be a Column or a column name, got {type(ref).__name__}")

    def _check_not_built(self, action):
        if self._network is not None:
            raise RuntimeError(f"cannot {action}: the circuit was already built (by a run or by "
                               f"reading a column's .estimate/.error); build a new Circuit")

    def build(self) -> Network:
        """Assemble the Brian2 network (done automatically by the first run). Returns it."""
        if self._network is not None:
            return self._network
        if not self.columns:
            raise ValueError("the circuit has no columns; add them with sensory() and column()")
        objects = []
        for column in self.columns.values():
            column._build_groups(self._codeobj_class, method="euler")
            objects += [column._estimate, column._error]
        for column in self.columns.values():
            if column.sensory:
                objects.append(column._estimate.run_regularly(
                    f"mu = stimulus_{column.name}(t - run_start, i)", when="start", order=-1,
                    name=f"{column.name}_clamp", codeobj_class=self._codeobj_class))
        dense = [c for column in self.columns.values() for c in column._couplings()]
        if self.backend == "synapses":
            objects += [build_synapses(c, self._codeobj_class) for c in dense]
            dense = []
        for projection in self.projections:
            if projection.backend == "dense":
                dense += projection.couplings()
            else:
                projection.synapses = [build_synapses(c, self._codeobj_class)
                                       for c in projection.couplings()]
                objects += projection.synapses
        if dense:
            objects.append(build_dense_couplings(dense))
        for column in self.columns.values():
            self._monitors[column.name] = (
                StateMonitor(column._estimate, "mu", record=True, when="start", order=0,
                             name=f"{column.name}_estimate_monitor", codeobj_class=self._codeobj_class),
                StateMonitor(column._error, "eps", record=True, when="start", order=0,
                             name=f"{column.name}_error_monitor", codeobj_class=self._codeobj_class))
            objects += self._monitors[column.name]
        objects.append(NetworkOperation(self._check_divergence, dt=self.check_interval,
                                         when="end", name="divergence_check"))
        self._network = Network(*objects, name="circuit")
        for column in self.columns.values():
            column._set_initial_state(self.tau_estimate, self.tau_error)
        self._network.store("initial")
        return self._network

    @property
    def network(self) -> Network:
        """The Brian2 Network (built on first access); add your own monitors to it."""
        return self.build()

    # -- running -------------------------------------------------------------------------------
    def run(self, duration, stimulus=None, record=True, report=None) -> Recording:
        """Simulate for ``duration``, continuing from the current state.

        Parameters
        ----------
        duration : time
            A multiple of ``dt``.
        stimulus : array, TimedArray or dict, optional
            What the sensory column sees: a constant vector (size,), a (T, size) array sampled
            at dt with T = duration/dt, or a Brian2 TimedArray of shape (K, size) (evaluated at
            the time since the start of this run). With several sensory columns pass a dict
            {name: stimulus}. Omitted: the sensory estimates hold their last value (0 at first).
        record : bool
            Record μ and ε of every column at every step (off: only the final state).
        report : Brian2 ``report`` argument (e.g. ``"text"``) for progress of long runs.

        Returns
        -------
        Recording
            t, estimate, error, free_energy, free_energy_by_level (empty when record=False).

        Raises
        ------
        SimulationDiverged
            If rates became non-finite or exceeded ``divergence_threshold``.
        """
        duration = as_time(duration, "duration")
        steps = int(round(float(duration / self.dt)))
        if steps < 1 or abs(steps * float(self.dt) - float(duration)) > 1e-6 * float(self.dt):
            raise ValueError(f"duration = {duration} must be a positive multiple of dt = {self.dt}")
        network = self.build()
        namespace = self._stimulus_namespace(stimulus, steps)
        for column in self.columns.values():
            if column.sensory:
                column._estimate.run_start = network.t
        for monitors in self._monitors.values():
            for monitor in monitors:
                monitor.resize(0)
                monitor.active = bool(record)
        self._divergence = None
        gc.collect()
        gc.freeze()  # Brian2 calls gc.collect() at every run; frozen objects are not rescanned
        try:
            network.run(steps * self.dt, namespace=namespace, report=report)
        finally:
            gc.unfreeze()
        self._check_divergence()
        if self._divergence is not None:
            raise SimulationDiverged(self._divergence)
        return self._recording()

    def _stimulus_namespace(self, stimulus, steps) -> dict:
        sensory = [c for c in self.columns.values() if c.sensory]
        if stimulus is None:
            given = {}
        elif isinstance(stimulus, dict):
            unknown = set(stimulus) - {c.name for c in sensory}
            if unknown:
                raise ValueError(f"stimulus: {sorted(unknown)} are not sensory columns; sensory "
                                 f"columns are {[c.name for c in sensory]}")
            given = stimulus
        else:
            if len(sensory) != 1:
                raise ValueError(f"stimulus: the circuit has {len(sensory)} sensory columns "
                                 f"{[c.name for c in sensory]}; pass a dict {{name: stimulus}}")
            given = {sensory[0].name: stimulus}
        namespace = {}
        for column in sensory:
            if column.name in given:
                timed = self._timed_array(given[column.name], column, steps)
            else:
                timed = self._timed_array(column._estimate.mu[:], column, steps)
            namespace[f"stimulus_{column.name}"] = timed
        return namespace

    def _timed_array(self, stimulus, column: Column, steps: int) -> TimedArray:
        label = f"stimulus for {column.name!r}"
        if isinstance(stimulus, TimedArray):
            values = np.asarray(stimulus.values)
            if not stimulus.dim.is_dimensionless or values.ndim != 2 or values.shape[1] != column.size:
                raise ValueError(f"{label}: a TimedArray must be dimensionless with values of "
                                 f"shape (K, {column.size}), got {values.shape}")
            check_finite(values, label)
            return stimulus
        values = as_array(stimulus, label)
        if values.ndim <= 1:
            values = as_vector(values, column.size, label)[None, :]
        elif values.shape != (steps, column.size):
            raise ValueError(f"{label}: an array stimulus must have shape (T, {column.size}) with "
                             f"T = duration/dt = {steps}, got {values.shape}")
        # Pad to a power-of-two length (holding the last value): the TimedArray's length is part
        # of the generated code, so this bounds the number of distinct compilations.
        padded = 1 << (len(values) - 1).bit_length()
        values = np.concatenate([values, np.repeat(values[-1:], padded - len(values), axis=0)])
        return TimedArray(values, dt=self.dt, name=f"stimulus_{column.name}")

    def _check_divergence(self):
        """Stop the network if any rate is non-finite or beyond the threshold."""
        for column in self.columns.values():
            for population, group, variable, symbol in (("estimate", column._estimate, "mu", "μ"),
                                                        ("error", column._error, "eps", "ε")):
                values = group.variables[variable].get_value()
                largest = np.max(np.abs(values))
                if not largest <= self.divergence_threshold:   # also true for NaN
                    suggestion = self.dt / 4
                    self._divergence = (
                        f"simulation diverged at t = {self._network.t}: column {column.name!r} "
                        f"({population} neurons, {symbol}) reached |{symbol}| = {largest:.3g} "
                        f"(threshold {self.divergence_threshold:.3g}). Use a smaller dt (e.g. "
                        f"Circuit(dt={suggestion})), larger time constants, or check the weights "
                        f"and covariances; call reset() before running again.")
                    self._network.stop()
                    return

    def _recording(self) -> Recording:
        estimate = {name: np.array(m[0].mu.T) for name, m in self._monitors.items()}
        error = {name: np.array(m[1].eps.T) for name, m in self._monitors.items()}
        t = self._monitors[next(iter(self._monitors))][0].t[:].copy()  # the monitor is reused
        energy = free_energy_by_level(self.columns.values(), estimate)
        return Recording(t=t, estimate=estimate, error=error, free_energy_by_level=energy)

    # -- state ---------------------------------------------------------------------------------
    def estimate(self, column: ColumnRef) -> np.ndarray:
        """Current μ of ``column`` (a copy), shape (size,)."""
        return np.array(self._column(column, "column").estimate.mu[:])

    def error(self, column: ColumnRef) -> np.ndarray:
        """Current ε of ``column`` (a copy), shape (size,)."""
        return np.array(self._column(column, "column").error.eps[:])

    def free_energy(self) -> float:
        """Current total free energy F(μ)."""
        estimates = {name: self.estimate(name) for name in self.columns}
        return float(sum(free_energy_by_level(self.columns.values(), estimates).values()))

    def weights(self, upper: ColumnRef, lower: ColumnRef) -> np.ndarray:
        """W of the projection from ``upper`` to ``lower`` (a copy), shape (lower.size, upper.size)."""
        return self._projection(upper, lower).weights

    def bias(self, upper: ColumnRef, lower: ColumnRef) -> np.ndarray:
        """b of the projection from ``upper`` to ``lower`` (a copy), shape (lower.size,)."""
        return self._projection(upper, lower).bias.copy()

    def _projection(self, upper, lower) -> Projection:
        upper, lower = self._column(upper, "upper"), self._column(lower, "lower")
        for projection in self.projections:
            if projection.upper is upper and projection.lower is lower:
                return projection
        raise ValueError(f"no projection from {upper.name!r} to {lower.name!r}")

    def reset(self):
        """Back to the initial state: time 0, estimates at the prior mean (sensory ones at 0),
        errors zero. Weights, covariances and parameters are kept."""
        if self._network is not None:
            self._network.restore("initial")
        self._divergence = None

    def __repr__(self):
        return (f"Circuit(dt={self.dt}, tau_estimate={self.tau_estimate}, tau_error={self.tau_error}, "
                f"columns={list(self.columns)}, projections={len(self.projections)})")
