"""The circuit: the public API, a facade over a graph (what it is) and an engine (how it runs)."""
from __future__ import annotations

import functools

import numpy as np
from brian2 import ms

from .amortization import ItemSchedule
from .batch import Batch
from .energy import current_estimates, current_free_energy, current_gains
from .engines import RunPlan, SimulationDiverged, make_engine
from .graph import CircuitGraph, ColumnRef, Timing
from .learning import apply_learning
from .projection import Projection
from .recording import Recording, Trace, make_recording
from .sequence import LEARN, Sequence
from .stimulus import clamp_values, run_stimuli, sequence_stimuli
from .validation import choice, positive_number, shown
from .variational import check_resampling

__all__ = ["Circuit", "SimulationDiverged"]


def _builder(method):
    """A Circuit method that adds a part to the graph (same signature and documentation)."""
    @functools.wraps(method)
    def add(self, *args, **kwargs):
        return method(self.graph, *args, **kwargs)
    return add


class Circuit:
    """A hierarchy of predictive-coding columns simulated in continuous time by Brian2.

    Generative model: p(z_ℓ | z_ℓ+1) = N(W_ℓ f(z_ℓ+1) + b_ℓ, Σ_ℓ), top prior N(m_L, Σ_L),
    sensory level z_0 = x. Rate dynamics (Bogacz 2017, eqs. 12–14, multivariate)::

        τ_ε dε_ℓ/dt = μ_ℓ − (W_ℓ f(μ_ℓ+1) + b_ℓ) − Σ_ℓ ε_ℓ
        τ_μ dμ_ℓ/dt = −ε_ℓ + f'(μ_ℓ) ⊙ (W_ℓ−1ᵀ ε_ℓ−1)
        μ_0 = x(t)

    integrated by Brian2 with forward Euler: every coupling is computed from the state at the
    start of a step, then every group takes one Euler step.

    The circuit is a facade: :attr:`graph` (a :class:`~circuits.graph.CircuitGraph`) holds
    the columns, projections and encoders and checks them; :attr:`engine` (chosen by
    ``device``, see :mod:`circuits.engines`) builds and runs them; each column's live state is
    ``column.state``.

    Parameters
    ----------
    dt : time
        Integration step (default 0.1 ms). Must be below τ/2 for both time constants.
    tau_estimate : time
        τ_μ of the estimate neurons (default 10 ms).
    tau_error : time
        τ_ε of the error neurons (and interneurons) (default 2 ms).
    backend : {"dense", "synapses"}
        Default backend of projections and of the columns' internal connections
        (see :mod:`circuits.coupling`). "dense" is the fast one.
    target : {None, "cython", "numpy"}
        Brian2 code-generation target of the runtime device; None follows
        ``brian2.prefs.codegen.target`` (``"auto"``: cython when a compiler works, cached in
        Brian2's cython cache).
    divergence_threshold : float
        A run stops with :class:`SimulationDiverged` when any |μ| or |ε| exceeds it or is not
        finite (checked every ``check_interval`` of simulated time and at the end of the run).
    check_interval : time
        How often divergence is checked (default 1 ms).
    seed : int or None
        Seeds the random feedback weights of ``connect(..., feedback="random")``.
    batch_size : int or None
        Simulate B independent copies of every column at once, through the same weights
        (batched trials): stimuli are (B, size), (T, B, size) or sequences (K, B, size);
        :meth:`estimate` and :meth:`error` return (B, size), recordings (T, B, size), the free
        energy one value per copy; learning averages the Hebbian terms over the batch. The
        copies never interact, so the results equal B separate runs. None: no batch axis.
    device : {"runtime", "cpp_standalone", "cuda_standalone"}
        The engine. "runtime" (default): Brian2's runtime device, every feature.
        "cpp_standalone": the circuit is compiled into one C++ program at its first run (dense
        couplings as BLAS products) and later runs of any duration reuse it with new stimuli,
        weights and state as ``run_args`` (see :mod:`circuits.engines.standalone` for what it
        cannot do). "cuda_standalone": the same on brian2cuda's GPU device (the ``cuda``
        extra; dense couplings and learning as cuBLAS calls; a program whose first run records
        runs only that duration, see :mod:`circuits.engines.cuda`).
        ``standalone_directory``: the program's folder (default: the compilation cache, one per
        structure, reused by later processes); ``precision="single"``: a C++ program in float32.
    neurons : {"rate", "spiking"} or circuits.Spiking
        "rate" (default): rate neurons. "spiking": every column is built from Poisson
        populations of N neurons per unit with rectified errors, synapses carrying spikes
        scaled so that the mean field is the rate circuit (:mod:`circuits.spiking`;
        ``Spiking(population_size=N, ...)`` sets N, rates and time constants; ``seed``
        makes the spikes reproducible).
    """

    def __init__(self, dt=0.1 * ms, tau_estimate=10 * ms, tau_error=2 * ms, backend="dense", target=None,
                 divergence_threshold=1e10, check_interval=1 * ms, seed=None, batch_size=None,
                 device="runtime", standalone_directory=None, neurons="rate", precision="double"):
        self.timing = Timing.checked(dt, tau_estimate, tau_error)
        self.batch = Batch(batch_size)
        self.graph = CircuitGraph(self.timing, backend, seed, neurons)
        self.graph.on_demand = self.build
        self.engine = make_engine(device, self.graph, self.batch,
                                  positive_number(divergence_threshold, "divergence_threshold"),
                                  check_interval, target, standalone_directory, precision)
        #: What :meth:`save` writes to recreate the circuit's options.
        self.options = dict(dt=self.timing.dt, tau_estimate=self.timing.tau_estimate, tau_error=self.timing.tau_error,
                            backend=backend, target=target, divergence_threshold=float(divergence_threshold),
                            check_interval=check_interval, seed=seed, batch_size=batch_size, device=device,
                            neurons=neurons, precision=precision)

    # -- building ------------------------------------------------------------------------------
    sensory = _builder(CircuitGraph.sensory)
    column = _builder(CircuitGraph.column)
    connect = _builder(CircuitGraph.connect)
    encoder = _builder(CircuitGraph.encoder)

    dt = property(lambda self: self.timing.dt, doc="The integration step.")
    tau_estimate = property(lambda self: self.timing.tau_estimate, doc="τ_μ of the estimate neurons.")
    tau_error = property(lambda self: self.timing.tau_error, doc="τ_ε of the error neurons and interneurons.")
    batch_size = property(lambda self: self.batch.size, doc="B, or None without a batch axis.")
    device = property(lambda self: self.engine.device, doc="The engine's Brian2 device.")
    columns = property(lambda self: self.graph.columns, doc="The columns by name, in creation order.")
    projections = property(lambda self: self.graph.projections, doc="The projections, in creation order.")
    encoders = property(lambda self: self.graph.encoders, doc="The encoders by target column name.")
    learns = property(lambda self: self.graph.learns, doc="Whether any parameter has a learning rule.")

    def build(self):
        """Build the Brian2 network (done automatically by the first run). Returns it."""
        self.engine.build()
        return self.engine.network

    @property
    def network(self):
        """The Brian2 Network (built on first access); add your own monitors to it."""
        return self.build()

    # -- running -------------------------------------------------------------------------------
    def run(self, duration, stimulus=None, record=True, report=None, learn=None) -> Recording:
        """Simulate for ``duration``, continuing from the current state.

        Parameters
        ----------
        duration : time
            A multiple of ``dt``.
        stimulus : array, TimedArray or dict, optional
            What the sensory column sees: a constant vector (size,), a (T, size) array sampled
            at dt with T = duration/dt, or a Brian2 TimedArray of shape (K, size) (evaluated at
            the time since the start of this run). With several sensory (or clamped) columns
            pass a dict {name: stimulus}; clamped latent columns take constant vectors.
            Omitted: the sensory estimates hold their last value (0 at first).
        record : bool or int
            True: record μ and ε of every column at every step; an int k: every k-th step;
            False: keep only the final state. (To record other variables, add your own Brian2
            StateMonitor to :attr:`network`.)
        report : Brian2 ``report`` argument (e.g. ``"text"``) for progress of long runs.
        learn : {None, "continuous", "trial", False}
            When the learning rules apply: every step ("continuous", the default when
            something learns), once at the end of the run ("trial": the run is one item), or
            never (False: everything frozen, bit for bit).

        Returns
        -------
        Recording
            t, estimate, error, free_energy, free_energy_by_level (empty when record=False).

        Raises
        ------
        SimulationDiverged
            If rates became non-finite or exceeded ``divergence_threshold``.
        """
        steps = self.timing.steps(duration, "duration")
        every = _record_every(record, {True: 1, False: 0})
        learn = self._learning(learn, default="continuous")
        stimuli = run_stimuli(self.graph.clamped_columns, stimulus, steps, self.timing.dt, self.batch.size)
        trace, _ = self.engine.run(RunPlan(steps, stimuli, every, learn == "continuous", report=report))
        if learn == "trial":
            apply_learning(self.graph, 1.0)
        return make_recording(self.graph, self.batch, trace or Trace.empty(self.graph, self.batch.copies))

    def run_sequence(self, stimuli, item_duration, reset_between=True, record="trial_ends",
                     report=None, learn=None, inference="iterative", learn_at="settled") -> Recording:
        """Present K stimuli one after another, each for ``item_duration``, in ONE Brian2 run.

        Parameters
        ----------
        stimuli : array (K, size), or dict {sensory name: array (K, size)}
        item_duration : time
            How long each item is held (a multiple of dt).
        reset_between : bool or "prediction"
            Reset estimates to the prior mean and errors (and interneurons) to zero at the start
            of every item, so each item is inferred from scratch; "prediction": the estimates
            start at their prediction from above instead (a top-down sweep, as Whittington &
            Bogacz 2017 start inference: with the input clamped at the top, the forward pass).
        record : {"trial_ends", "all", int k, False}
            The state at the end of every item is always kept (``rec.trial_end`` etc.);
            "all" also records every step (``rec.estimate`` …), an int k every k-th step.
        report : Brian2 ``report`` argument for progress (e.g. ``"text"``).
        learn : {None, "trial", "continuous", False}
            "trial": learning rules applied once at the end of every item, to the settled state
            (Bogacz 2017's scheme; the default when something learns); "continuous": every
            step; False: frozen.
        inference : {"iterative", "amortized", "hybrid"}
            How the columns with an :meth:`encoder` infer each item (see
            :mod:`circuits.amortization`): by the dynamics from the prior mean, by the encoder's
            proposal (plus its learned updates) alone, or proposal then dynamics. The encoders'
            schedule needs items of at least 2 + iterations × read_steps steps (2 for direct
            amortization: the proposal is read one step into the item and held).
        learn_at : {"settled", "laplace", "mean-field"}
            Where item-end learning reads the state: the settled estimates (the rules follow
            −∇F at the MAP), or one reparameterized sample of the Laplace (or mean-field) q
            around them, with the errors at their equilibrium there (variational EM: the
            generative weights follow the ELBO's gradient; encoders still learn towards the
            settled estimates; see :mod:`circuits.variational`).

        Returns
        -------
        Recording
            With ``trial_end``, ``trial_error``, ``trial_free_energy`` (K,) and, for
            covariance-learning columns, ``trial_covariance`` (K, size, size), each taken at
            the end of every item after its learning update's inputs were read (before it).
            With encoders: ``trial_proposal`` (K, size) per encoded column and
            ``trial_proposal_free_energy`` (K,), F with the encoded columns at their proposals
            (``amortization_gap`` is the difference to ``trial_free_energy``).
        """
        every = _record_every(record, {"trial_ends": 0, False: 0, "all": 1})
        learn = self._learning(learn, default="trial")
        steps_per_item = self.timing.steps(item_duration, "item_duration")
        schedule = ItemSchedule.for_items(list(self.encoders.values()), inference, steps_per_item, self.dt)
        items, count = sequence_stimuli(self.graph.clamped_columns, stimuli, self.batch.size)
        sequence = Sequence(items, count, steps_per_item, reset_between, learn, schedule, learn_at, self.graph.rng)
        if learn_at != "settled":
            check_resampling(self.graph)
        trace, trials = self.engine.run(RunPlan(sequence.steps, sequence.first(), every, learn == "continuous",
                                                sequence, report))
        return make_recording(self.graph, self.batch, trace or Trace.empty(self.graph, self.batch.copies), trials)

    def _learning(self, learn, default: str):
        """``learn`` checked against the one vocabulary of run and run_sequence."""
        if learn is not None and (not isinstance(learn, (str, bool)) or learn is True or learn not in LEARN):
            raise ValueError(f"learn must be None, 'continuous', 'trial' or False, got {shown(learn)}")
        if learn and not self.learns:
            raise ValueError(f"learn={learn!r} but nothing learns: pass plastic=True or learn_bias=True to "
                             f"connect(), learn_covariance=True or learn_inhibition=True to a column, or add "
                             f"a plastic encoder")
        return (default if self.learns else False) if learn is None else learn

    # -- state and parameters ------------------------------------------------------------------
    def _built_state(self):
        """Build the engine if needed (a standalone engine refuses: its first run builds it)."""
        if not self.engine.built:
            self.engine.build()

    def estimate(self, column: ColumnRef) -> np.ndarray:
        """Current μ of ``column`` (a copy), shape (size,), or (B, size) with a batch."""
        column = self.graph.lookup(column)
        self._built_state()
        return self.batch.split(column.state.estimate.copy())

    def error(self, column: ColumnRef) -> np.ndarray:
        """Current ε of ``column`` (a copy), shape (error_size,), or (B, error_size) with a batch."""
        column = self.graph.lookup(column)
        self._built_state()
        return self.batch.split(column.state.error.copy())

    def free_energy(self, estimates: dict | None = None):
        """Total free energy F(μ) at the current estimates, or with some columns at the
        ``estimates`` given ({name: (size,) or (B, size)}, e.g. an encoder's proposals).
        A float, or one value per copy (B,) with a batch."""
        self._built_state()
        return current_free_energy(self.graph, self.batch, estimates)

    def _current_state(self):
        self._built_state()
        return current_estimates(self.graph, self.batch), current_gains(self.graph, self.batch)

    def posterior_precision(self) -> np.ndarray:
        """H, the Gauss–Newton Hessian of F at the current estimates over the stacked latent
        estimate neurons (columns in creation order; through every layer of deep projections);
        H⁻¹ is the Laplace posterior covariance (exact for linear circuits at the posterior
        mean). (n, n), or (B, n, n) with a batch. See :mod:`circuits.gaussian`."""
        from .gaussian import laplace_precision
        return laplace_precision(self.graph, *self._current_state())

    def sample(self, samples: int, seed=None, covariance="mean-field") -> dict:
        """Reparameterized samples z = μ + σ ⊙ γ, γ ~ N(0, I), of every free latent column around
        its current estimate, {name: (samples, size)} ((B, samples, size) with a batch); σ² = 1/diag H
        (``"mean-field"``) or z = μ + L γ with L Lᵀ = H⁻¹ (``"laplace"``). See
        :mod:`circuits.variational`."""
        from .variational import sample
        return sample(self.graph, *self._current_state(), samples, seed, covariance)

    def elbo(self, samples=1000, seed=None, covariance="mean-field", method="monte-carlo"):
        """(ELBO, standard error): E_q[log p(x, z)] + H[q] for the Gaussian q of :meth:`sample`,
        by Monte Carlo or (linear circuits) in closed form; arrays (B,) with a batch (one per
        copy). Compare with −:meth:`free_energy`, the point (Laplace) estimate."""
        from .variational import elbo
        return elbo(self.graph, *self._current_state(), samples, seed, covariance, method)

    def weights(self, upper: ColumnRef, lower: ColumnRef) -> np.ndarray:
        """W of the projection from ``upper`` to ``lower`` (a copy), shape (lower.size, upper.size)."""
        return self.graph.projection(upper, lower).weights

    def set_weights(self, upper: ColumnRef, lower: ColumnRef, weights):
        """Replace W of the projection from ``upper`` to ``lower`` (shape (lower.size, upper.size);
        a list [V_1, …, V_K] for a deep projection) from the next step (runtime) or the next run
        (standalone, without recompiling)."""
        projection: Projection = self.graph.projection(upper, lower)
        if projection.synapses:
            raise ValueError("set_weights: this projection's runtime Synapses were built for the old "
                             "connectivity; use backend='dense' (or device='cpp_standalone', where new "
                             "weights may be non-zero only where the first run's were)")
        projection.set_weights(weights)

    def bias(self, upper: ColumnRef, lower: ColumnRef) -> np.ndarray:
        """b of the projection from ``upper`` to ``lower`` (a copy), shape (lower.size,)."""
        return self.graph.projection(upper, lower).bias.copy()

    def covariance(self, column: ColumnRef) -> np.ndarray:
        """Current Σ of ``column`` (a copy), shape (size, size)."""
        return self.graph.lookup(column).covariance.copy()

    def log_density(self, column: ColumnRef):
        """log p(x) of a whitening column's current input by the change of variables,
        log N(u; 0, I) − log |det B| (= − Σ log β_i for the autoregressive flow), from the
        error neurons' current output u (exact once they have settled at u = B⁻¹(x − m));
        one value per copy (B,) with a batch."""
        column = self.graph.lookup(column)
        if column.flow not in ("autoregressive", "symmetric"):
            raise ValueError(f"log_density: column {column.name!r} has no lateral_inhibition flow "
                             f"('autoregressive' or 'symmetric')")
        u = self.error(column)
        log_det = np.linalg.slogdet(column.flow_matrix)[1]
        density = -0.5 * np.sum(u * u, axis=-1) - 0.5 * column.size * np.log(2 * np.pi) - log_det
        return float(density) if self.batch.size is None else density

    def clamp(self, column: ColumnRef, values=None):
        """Clamp latent ``column``: its estimates stop following their drive and hold ``values``
        ((size,), or (B, size) with a batch) or, with None, their current values, until
        :meth:`release`. It stays in F and keeps predicting the columns below; like a sensory
        column it then takes stimuli in :meth:`run` and :meth:`run_sequence` (constant per run
        or item), :meth:`reset` and item resets leave it alone, and :meth:`save` keeps it.
        E.g. supervised learning (Whittington & Bogacz 2017): clamp the input and the label,
        learn; release the label column and run to read the prediction."""
        column = self.graph.lookup(column)
        column.clamp(None if values is None else clamp_values(values, column, self.batch.size))

    def hold(self, column: ColumnRef):
        """Fix the predictions of latent ``column`` at its current estimates while it keeps
        inferring (the fixed-prediction assumption; see :meth:`Column.hold`), until :meth:`release`.
        Settle the circuit first: with every hidden column held after the forward pass, the
        errors are exactly backprop's (tests/validation/test_backprop.py)."""
        self.graph.lookup(column).hold()

    def release(self, column: ColumnRef):
        """Let a clamped or held latent ``column`` infer again (see :meth:`clamp`, :meth:`hold`)."""
        self.graph.lookup(column).release()

    def attend(self, column: ColumnRef, gain):
        """Attention as precision: scale the precision of ``column``'s errors by ``gain`` γ
        (see :meth:`Column.attend`): Π' = D Π D with D = diag(√γ), from the next run on; a
        Brian2 TimedArray (K, size) shifts attention during each run. ``gain=1`` removes it."""
        self.graph.lookup(column).attend(gain)

    def reset(self):
        """Back to the initial state: time 0, estimates at the prior mean (sensory ones at 0),
        errors and interneurons zero. Weights, covariances and parameters are kept."""
        self.engine.reset()

    def save(self, path):
        """Write structure, weights, covariances and parameters to one ``.npz`` file."""
        from .storage import save
        save(self.graph, self.options, path)

    @classmethod
    def load(cls, path) -> "Circuit":
        """A new circuit from a file written by :meth:`save` (at its initial state)."""
        from .storage import read
        options, populate = read(path)
        circuit = cls(**options)
        populate(circuit.graph)
        return circuit

    def __repr__(self):
        return (f"Circuit(dt={self.dt}, tau_estimate={self.tau_estimate}, tau_error={self.tau_error}, "
                f"columns={list(self.columns)}, projections={len(self.projections)})")


def _record_every(record, named: dict) -> int:
    """0 (no per-step recording), 1 (every step) or k (every k-th step) from a ``record`` value."""
    if isinstance(record, (bool, str)) or record is None:
        if record in named:
            return named[record]
    elif isinstance(record, (int, np.integer)) and record >= 1:
        return int(record)
    choices = ", ".join(repr(k) for k in named)
    raise ValueError(f"record must be one of {choices} or a positive integer k (every k-th step), "
                     f"got {shown(record)}")
