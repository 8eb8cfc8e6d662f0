"""The circuit: columns and projections assembled into one Brian2 network, and run."""
from __future__ import annotations

import gc
from typing import Union

import numpy as np
from brian2 import Clock, Network, NetworkOperation, TimedArray, ms, second
from brian2.codegen.runtime.numpy_rt import NumpyCodeObject

from populations import get_activation

from .amortization import INFERENCE, Encoder, ItemSchedule
from .column import Column
from .energy import free_energy_by_level
from .generalized import temporal_covariance
from .learning import apply_learning, continuous_learning
from .projection import BACKENDS, FEEDBACK, Projection, build_dense_couplings, build_synapses
from .recording import Recording
from .stimulus import run_stimuli, sequence_stimuli
from .validation import as_covariance, as_matrix, as_time, as_timed_array, as_vector, check_name, is_diagonal

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


def _positive_number(value, parameter, allow_zero=False):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
            or not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = "≥ 0" if allow_zero else "> 0"
        raise ValueError(f"{parameter} must be a finite number {bound}, got {value!r}")
    return float(value)


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
        τ_ε of the error neurons (and interneurons) (default 2 ms).
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
    seed : int or None
        Seeds the random feedback weights of ``connect(..., feedback="random")``.
    batch_size : int or None
        Simulate B independent copies of every column at once, through the same weights
        (batched trials): stimuli are (B, size), (T, B, size) or sequences (K, B, size);
        :meth:`estimate` and :meth:`error` return (B, size), recordings (T, B, size), the free
        energy one value per copy; learning averages the Hebbian terms over the batch. The
        copies never interact, so the results equal B separate runs. None: no batch axis.
    device : {"runtime", "cpp_standalone"}
        "runtime" (default): Brian2's runtime device, every feature. "cpp_standalone": the
        circuit is compiled into one C++ program at its first run and later runs of the same
        duration reuse it with new stimuli, weights and state as ``run_args`` (see
        :mod:`circuits.standalone` for what it cannot do). ``standalone_directory``: where the
        program is written (default: a new temporary directory).
    """

    def __init__(self, dt=0.1 * ms, tau_estimate=10 * ms, tau_error=2 * ms, backend="dense",
                 target=None, divergence_threshold=1e10, check_interval=1 * ms, seed=None,
                 batch_size=None, device="runtime", standalone_directory=None):
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
        self.target = target
        self._codeobj_class = _code_object_class(target)
        self.divergence_threshold = _positive_number(divergence_threshold, "divergence_threshold")
        self.check_interval = as_time(check_interval, "check_interval")
        self.seed = seed
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
                                       or batch_size < 1):
            raise ValueError(f"batch_size must be None or an integer ≥ 1, got {batch_size!r}")
        self.batch_size = None if batch_size is None else int(batch_size)
        if device not in ("runtime", "cpp_standalone"):
            raise ValueError(f"device must be 'runtime' or 'cpp_standalone', got {device!r}")
        self.device = device
        self._standalone = None
        if device == "cpp_standalone":
            from .standalone import StandaloneRunner
            self._standalone = StandaloneRunner(self, standalone_directory)
        self._rng = np.random.default_rng(seed)
        self.columns: dict[str, Column] = {}
        self.projections: list[Projection] = []
        self.encoders: dict[str, Encoder] = {}
        self._network: Network | None = None
        self._clock: Clock | None = None
        self._clamps = {}
        self._attention_clamps = {}
        self._learning_op = None
        self._divergence = None
        self._steps_since_check, self._check_every = 0, 1

    # -- building ------------------------------------------------------------------------------
    def sensory(self, name: str, size: int, covariance=1.0, prior_mean=0.0, learn_covariance=False,
                covariance_learning_rate=0.01, min_variance=1e-3, lateral_inhibition=None,
                learn_inhibition=False, inhibition_learning_rate=0.01, inhibition_radius=4,
                inhibition_grid=None, order=1, smoothness=None) -> Column:
        """Add a sensory column (level 0) whose estimates are clamped to the stimulus.

        ``covariance`` Σ_0: a scalar (isotropic), a vector (diagonal) or a (size, size) matrix.
        ``prior_mean``: the expected stimulus when no column predicts this one (else a bias).
        ``learn_covariance``: learn Σ_0 through interneurons (see :mod:`circuits.learning`)
        with rate ``covariance_learning_rate`` α, keeping eigenvalues ≥ ``min_variance``.
        ``lateral_inhibition``: ``"autoregressive"`` or ``"symmetric"`` makes the column a
        whitening stage, an affine normalizing flow (Marino 2022): its error neurons settle at
        u = B⁻¹(x − m), B Bᵀ = Σ_0, B lower-triangular (Cholesky: u_i = (x_i − α_i(x_<i))/β_i)
        or symmetric (ZCA); ``learn_inhibition`` learns B locally at ``inhibition_learning_rate``.
        ``"surround"``: centre-surround predictive coding (Srinivasan, Laughlin & Dubs 1982),
        u = x − m − W x with W between neighbours within ``inhibition_radius`` (starts at 0;
        learned by LMS); neighbours along the units, or on an image of
        ``inhibition_grid = (height, width)`` pixels (Euclidean distance). A whitening column cannot be predicted by other columns;
        :meth:`log_density` gives log p(x) = log N(u; 0, I) − log |det B| for the flows.
        ``order`` n > 1: the stimulus arrives in generalized coordinates x̃ = (x, x′, …), a
        vector of n × size (order-major; :func:`circuits.generalized.embed` makes one from a
        sampled signal), with covariance S(s) ⊗ Σ_0 for fluctuations of ``smoothness`` s
        (seconds; see :mod:`circuits.generalized`).
        """
        if lateral_inhibition not in (None, "autoregressive", "symmetric", "surround"):
            raise ValueError(f"lateral_inhibition must be None, 'autoregressive', 'symmetric' or "
                             f"'surround', got {lateral_inhibition!r}")
        if isinstance(inhibition_radius, bool) or not isinstance(inhibition_radius, (int, float, np.number)) \
                or not inhibition_radius >= 1:
            raise ValueError(f"inhibition_radius must be a number ≥ 1, got {inhibition_radius!r}")
        if inhibition_grid is not None and (len(inhibition_grid) != 2 or
                                            int(np.prod(inhibition_grid)) != size):
            raise ValueError(f"inhibition_grid must be (height, width) with height × width = size "
                             f"= {size}, got {inhibition_grid!r}")
        if learn_inhibition and lateral_inhibition is None:
            raise ValueError("learn_inhibition=True needs lateral_inhibition='autoregressive' or 'symmetric'")
        if lateral_inhibition and learn_covariance:
            raise ValueError("choose lateral_inhibition (Σ = B Bᵀ on lateral synapses) or "
                             "learn_covariance (Σ through interneurons), not both")
        return self._add_column(name, size, covariance, prior_mean, True, learn_covariance,
                                covariance_learning_rate, min_variance, lateral_inhibition,
                                learn_inhibition, inhibition_learning_rate, float(inhibition_radius),
                                None if inhibition_grid is None else tuple(int(n) for n in inhibition_grid),
                                order=order, smoothness=smoothness)

    def column(self, name: str, size: int, covariance=1.0, prior_mean=0.0, learn_covariance=False,
               covariance_learning_rate=0.01, min_variance=1e-3, order=1, smoothness=None,
               dynamics=None, flat_prior=False) -> Column:
        """Add a latent column of ``size`` estimate/error neuron pairs.

        ``covariance`` Σ: scalar, vector (diagonal) or matrix. ``prior_mean`` m (scalar or
        vector): the prior mean of a top column, where its estimates start; for a column with
        upper columns it adds to the prediction like a bias. ``learn_covariance``,
        ``covariance_learning_rate``, ``min_variance``: as for :meth:`sensory`.

        Dynamic predictive coding (:mod:`circuits.generalized`): ``order`` n > 1 gives the
        column n × size estimate neurons μ̃ = (μ, μ′, …) that descend F in a moving frame,
        dμ̃/dt = D μ̃ − ∂F/∂μ̃ / τ_μ, with covariance S(s) ⊗ Σ for ``smoothness`` s (seconds).
        ``dynamics`` A (size × size, order ≥ 2): a hidden-state column whose prior is the flow
        x′ = A x with noise covariance Σ (its errors compare μ̃ ′ with A μ̃ below the top order;
        it cannot be predicted by other columns). ``flat_prior``: no prior and no error of its
        own (a top column driven by the errors below alone, as in plain gradient tracking).
        """
        return self._add_column(name, size, covariance, prior_mean, False, learn_covariance,
                                covariance_learning_rate, min_variance, order=order,
                                smoothness=smoothness, dynamics=dynamics, flat_prior=flat_prior)

    def _add_column(self, name, size, covariance, prior_mean, sensory, learn_covariance,
                    covariance_learning_rate, min_variance, flow=None, learn_flow=False,
                    flow_learning_rate=0.0, flow_radius=4, flow_grid=None, order=1, smoothness=None,
                    dynamics=None, flat_prior=False):
        self._check_not_built("add a column")
        check_name(name, self.columns)
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
            raise TypeError(f"size must be a positive integer, got {size!r}")
        if size < 1:
            raise ValueError(f"size must be at least 1, got {size}")
        covariance = as_covariance(covariance, int(size))
        order, smoothness, dynamics = _generalized_options(order, smoothness, dynamics, int(size),
                                                           learn_covariance or flow, prior_mean)
        if flat_prior and (dynamics is not None or learn_covariance):
            raise ValueError("flat_prior=True: a flat prior has no covariance or dynamics to use; "
                             "drop dynamics / learn_covariance")
        largest = (np.diagonal(covariance).max() if is_diagonal(covariance) else np.linalg.eigvalsh(covariance).max()) * (
            1.0 if order == 1 else np.linalg.eigvalsh(temporal_covariance(order, smoothness)).max())
        if float(self.dt / self.tau_error) * largest >= 1:
            raise ValueError(f"covariance: its largest eigenvalue {largest:.3g} makes the error "
                             f"neurons' self-inhibition too fast for dt = {self.dt} and tau_error = "
                             f"{self.tau_error} (Euler needs dt·λmax(Σ)/τ_ε < 1 here, it is "
                             f"{float(self.dt / self.tau_error) * largest:.3g}); use dt ≤ "
                             f"{self.tau_error / (10 * largest)} or a larger tau_error")
        if learn_covariance and self.backend != "dense":
            raise ValueError("learn_covariance needs Circuit(backend='dense'): the learned Σ lives "
                             "in the dense interneuron synapses")
        column = Column(self, name, int(size), covariance, as_vector(prior_mean, int(size), "prior_mean"),
                        sensory, bool(learn_covariance),
                        _positive_number(covariance_learning_rate, "covariance_learning_rate", allow_zero=True),
                        _positive_number(min_variance, "min_variance"), flow, bool(learn_flow),
                        _positive_number(flow_learning_rate, "inhibition_learning_rate", allow_zero=True),
                        flow_radius, flow_grid, order=order, smoothness=smoothness, dynamics=dynamics,
                        flat_prior=bool(flat_prior))
        self.columns[name] = column
        return column

    def connect(self, upper: ColumnRef, lower: ColumnRef, weights, activation="linear", bias=0.0,
                backend=None, plastic=False, learning_rate=1e-3, weight_decay=0.0, learn_bias=False,
                feedback="tied", feedback_weights=None) -> Projection:
        """Let ``upper`` predict ``lower``: top-down generative synapses W f(μ_upper) + b into
        lower's error neurons, and bottom-up inference synapses B ε_lower (B = Wᵀ) into upper's
        estimates.

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
        plastic : bool
            Learn W with ΔW = α (ε_lower f(μ_upper)ᵀ − λ W) (see :mod:`circuits.learning`).
        learning_rate, weight_decay : float
            α and λ.
        learn_bias : bool
            Learn b too (Δb = α ε_lower).
        feedback : {"tied", "random", "kolen-pollack"}
            The bottom-up weights B: Wᵀ, fixed random (feedback alignment), or learned with the
            transposed rule (Kolen–Pollack).
        feedback_weights : array (upper.size, lower.size), optional
            Initial B for "random"/"kolen-pollack" (default: Gaussian with W's scale, from ``seed``).
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
        if lower.flow:
            raise ValueError(f"connect: {lower.name!r} is a whitening column (lateral_inhibition="
                             f"{lower.flow!r}): its error neurons carry u = B⁻¹(x − m), not "
                             f"Σ⁻¹(x − prediction), so it cannot be predicted")
        if lower.dynamics is not None or lower.flat_prior:
            kind = "a flat prior" if lower.flat_prior else "dynamics"
            raise ValueError(f"connect: {lower.name!r} has {kind} and must be a top column (it "
                             f"cannot be predicted)")
        if upper.order != lower.order:
            raise ValueError(f"connect: {upper.name!r} has order {upper.order} and {lower.name!r} order "
                             f"{lower.order}; columns in generalized coordinates connect at the same order")
        activation = get_activation(activation)
        if lower.generalized and (not activation.is_identity or plastic or learn_bias or feedback != "tied"):
            raise ValueError("connect: projections between columns in generalized coordinates must be "
                             "linear (activation='linear'), tied and not plastic (each order is "
                             "predicted by I ⊗ W)")
        if upper.name in self.encoders and self.encoders[upper.name].iterations:
            raise ValueError(f"connect: {upper.name!r} already has an encoder whose update neurons read "
                             f"the errors of the columns it predicts; connect the columns first, then "
                             f"add the encoder")
        if self._reaches(lower, upper):
            raise ValueError(f"connect: {lower.name!r} already predicts {upper.name!r} (directly or "
                             f"through other columns); the hierarchy must not contain cycles")
        weights = as_matrix(weights, (lower.state_size, upper.state_size), "weights")
        bias = as_vector(bias, lower.state_size, "bias")
        backend = self.backend if backend is None else backend
        if backend not in BACKENDS:
            raise ValueError(f"backend must be None or one of {BACKENDS}, got {backend!r}")
        if feedback not in FEEDBACK:
            raise ValueError(f"feedback must be one of {FEEDBACK}, got {feedback!r}")
        if (plastic or learn_bias) and backend != "dense":
            raise ValueError("plastic=True and learn_bias=True need backend='dense': the learning "
                             "rules update the dense weight matrices")
        if feedback == "tied":
            if feedback_weights is not None:
                raise ValueError("feedback_weights is only used with feedback='random' or 'kolen-pollack'")
        elif feedback_weights is None:
            scale = weights.std() if weights.std() > 0 else 1 / np.sqrt(lower.size)
            feedback_weights = self._rng.normal(scale=scale, size=(upper.size, lower.size))
        else:
            feedback_weights = as_matrix(feedback_weights, (upper.size, lower.size), "feedback_weights")
        projection = Projection(upper, lower, weights, activation, bias, backend,
                                plastic=bool(plastic),
                                learning_rate=_positive_number(learning_rate, "learning_rate", allow_zero=True),
                                weight_decay=_positive_number(weight_decay, "weight_decay", allow_zero=True),
                                learn_bias=bool(learn_bias), feedback=feedback,
                                feedback_weights=feedback_weights)
        self.projections.append(projection)
        upper.upward.append(projection)
        lower.downward.append(projection)
        return projection

    def encoder(self, target: ColumnRef, source: ColumnRef | None = None, weights=None, bias=0.0,
                activation="linear", plastic=True, learning_rate=0.01, iterations=0, update_gain=1.0,
                update_learning_rate=0.01, read_duration=None) -> Encoder:
        """Give latent column ``target`` an amortized-inference pathway (see
        :mod:`circuits.amortization`): proposal neurons μ_q = V f(x) + c fed by the sensory
        column ``source`` (default: the only sensory column), used by
        ``run_sequence(..., inference="amortized" | "hybrid")``.

        Parameters
        ----------
        weights : array (target.size, source.size), optional
            Initial V (default zeros). ``bias``: initial c (scalar or (target.size,)).
        activation : str, Activation or (f, f') pair
            f applied to x (default linear).
        plastic, learning_rate : bool, float
            Learn V and c by the delta rule towards the settled estimate, at rate α.
        iterations : int
            Learned updates per item (iterative amortization); 0 for direct amortization only.
        update_gain, update_learning_rate : float
            γ of each update and α_u of its weights U.
        read_duration : time, optional
            How long the errors settle at the held estimate before each update is read
            (default 10 time constants of the slowest error neurons read, τ_ε / λmin(Σ)).
        """
        self._check_not_built("add an encoder")
        target = self._column(target, "target")
        if target.sensory:
            raise ValueError(f"encoder: target {target.name!r} is sensory; an encoder proposes the "
                             f"estimates of a latent column")
        if target.name in self.encoders:
            raise ValueError(f"encoder: column {target.name!r} already has an encoder")
        if source is None:
            sensory = self._sensory_columns()
            if len(sensory) != 1:
                raise ValueError(f"encoder: the circuit has {len(sensory)} sensory columns; name the "
                                 f"source (one of {[c.name for c in sensory]})")
            source = sensory[0]
        source = self._column(source, "source")
        if not source.sensory:
            raise ValueError(f"encoder: source {source.name!r} must be a sensory column")
        if isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)) or iterations < 0:
            raise ValueError(f"iterations must be an integer ≥ 0, got {iterations!r}")
        if plastic and self.backend != "dense":
            raise ValueError("a plastic encoder needs Circuit(backend='dense')")
        weights = (np.zeros((target.size, source.size)) if weights is None
                   else as_matrix(weights, (target.size, source.size), "weights"))
        if read_duration is None:
            smallest = min(np.linalg.eigvalsh(c.covariance).min() for c in [target] + [p.lower for p in target.upward])
            steps = int(np.ceil(10 * float(self.tau_error / self.dt) / min(1.0, smallest)))
            read_duration = steps * self.dt
        encoder = Encoder(target, source, weights, as_vector(bias, target.size, "bias"),
                          get_activation(activation), bool(plastic),
                          _positive_number(learning_rate, "learning_rate", allow_zero=True), int(iterations),
                          _positive_number(update_gain, "update_gain"),
                          _positive_number(update_learning_rate, "update_learning_rate", allow_zero=True),
                          self._steps(read_duration, "read_duration"))
        self.encoders[target.name] = encoder
        return encoder

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

    @property
    def learns(self) -> bool:
        """Whether any projection or column has plasticity."""
        return (any(p.plastic or p.learn_bias or p.feedback == "kolen-pollack" for p in self.projections)
                or any(c.learn_covariance or c.learn_flow for c in self.columns.values())
                or any(e.plastic for e in self.encoders.values()))

    def build(self) -> Network:
        """Assemble the Brian2 network (done automatically by the first run). Returns it."""
        if self._network is not None:
            return self._network
        if not self.columns:
            raise ValueError("the circuit has no columns; add them with sensory() and column()")
        if self._standalone is not None:
            raise RuntimeError("a device='cpp_standalone' circuit is built and compiled by its first "
                               "run(duration, stimulus); run it before reading its groups or state")
        objects = []
        self._clock = Clock(dt=self.dt, name="circuit_clock")
        for column in self.columns.values():
            column._build_groups(self._clock, self._codeobj_class, method="euler")
            objects += column._groups()
            if column.sensory:   # μ_0 has no differential equation: nothing to integrate
                column._estimate.state_updater.active = False
        self._clamps = {column.name: column._estimate.run_regularly(
            f"mu = stimulus_{column.name}(t - run_start, i)", when="start", order=-1,
            name=f"{column.name}_clamp", codeobj_class=self._codeobj_class)
            for column in self._sensory_columns()}
        objects += self._clamps.values()
        self._attention_clamps = {column.name: column._error.run_regularly(
            f"gain = attention_{column.name}(t - run_start, i)", when="start", order=-1,
            name=f"{column.name}_attention", codeobj_class=self._codeobj_class)
            for column in self.columns.values() if not column.learn_covariance}
        objects += self._attention_clamps.values()
        for encoder in self.encoders.values():
            objects += encoder._build_groups(self._clock, self._codeobj_class)
        dense = [c for column in self.columns.values() for c in column._couplings()]
        dense += [c for encoder in self.encoders.values() for c in encoder._couplings()]
        if self.backend == "synapses":
            objects += [build_synapses(c, self._clock, self._codeobj_class, self._copies) for c in dense]
            dense = []
        for projection in self.projections:
            if projection.backend == "dense":
                dense += projection.couplings()
            else:
                projection.synapses = [build_synapses(c, self._clock, self._codeobj_class, self._copies)
                                       for c in projection.couplings()]
                objects += projection.synapses
        if dense:
            objects.append(build_dense_couplings(dense, self._clock, batch=self.batch_size))
        if self.learns:
            self._learning_op = continuous_learning(self)
            objects.append(self._learning_op)
        self._check_every = max(1, int(round(float(self.check_interval / self.dt))))
        objects.append(NetworkOperation(self._count_to_divergence_check, when="end", clock=self._clock,
                                        name="divergence_check"))
        self._network = Network(*objects, name="circuit")
        for column in self.columns.values():
            column._set_initial_state(self.tau_estimate, self.tau_error)
        return self._network

    @property
    def network(self) -> Network:
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
            the time since the start of this run). With several sensory columns pass a dict
            {name: stimulus}. Omitted: the sensory estimates hold their last value (0 at first).
        record : bool or int
            True: record μ and ε of every column at every step; an int k: every k-th step;
            False: keep only the final state. (To record other variables, add your own Brian2
            StateMonitor to :attr:`network`.)
        report : Brian2 ``report`` argument (e.g. ``"text"``) for progress of long runs.
        learn : bool, optional
            Apply the learning rules in continuous time during this run (default: whenever
            something is plastic). ``False`` freezes all weights and covariances.

        Returns
        -------
        Recording
            t, estimate, error, free_energy, free_energy_by_level (empty when record=False).

        Raises
        ------
        SimulationDiverged
            If rates became non-finite or exceeded ``divergence_threshold``.
        """
        steps = self._steps(duration, "duration")
        every = _record_every(record, {True: 1, False: 0})
        if self._standalone is not None:
            return self._run_standalone(steps, stimulus, every, learn)
        self.build()
        clamps = run_stimuli(self._sensory_columns(), stimulus, steps, self.dt, self.batch_size)
        sampler = self._simulate(steps * self.dt, clamps, every, report, continuous=self._continuous(learn))
        return self._recording(sampler)

    def _run_standalone(self, steps, stimulus, every, learn) -> Recording:
        """One run of the compiled C++ program (see :mod:`circuits.standalone`)."""
        if learn:
            raise ValueError("device='cpp_standalone' cannot learn during a run")
        given = stimulus if isinstance(stimulus, dict) else {} if stimulus is None else None
        missing = [] if given is None else [c.name for c in self._sensory_columns() if c.name not in given]
        if missing:
            raise ValueError(f"stimulus: a standalone run needs the stimulus of every sensory column "
                             f"(missing {missing}); it does not hold the previous one")
        clamps = run_stimuli(self._sensory_columns(), stimulus, steps, self.dt, self.batch_size)
        recorded = self._standalone.run(steps, every, clamps)
        divergence = self._divergence_report("at the end of the standalone run")
        if divergence is not None:
            raise SimulationDiverged(divergence)
        if recorded is None:
            return self._recording()
        t, estimates, errors = recorded
        return self._recording(result=(t, {n: self._unbatch(v) for n, v in estimates.items()},
                                       {n: self._unbatch(v) for n, v in errors.items()}))

    def _state(self, column: Column, kind: str) -> np.ndarray:
        """The live (runtime) or last (standalone) values of μ ("mu") or ε ("eps"), batch-major."""
        if self._standalone is not None:
            group = column._estimate if kind == "mu" else column._error
            if group is None:
                raise RuntimeError("a device='cpp_standalone' circuit has no state before its first run")
            return self._standalone.state[(group.name, kind)]
        group = column.estimate if kind == "mu" else column.error
        return group.variables[kind].get_value()

    def _sensory_columns(self):
        return [c for c in self.columns.values() if c.sensory]

    def _steps(self, duration, parameter) -> int:
        duration = as_time(duration, parameter)
        steps = int(round(float(duration / self.dt)))
        if steps < 1 or abs(steps * float(self.dt) - float(duration)) > 1e-6 * float(self.dt):
            raise ValueError(f"{parameter} = {duration} must be a positive multiple of dt = {self.dt}")
        return steps

    def _continuous(self, learn) -> bool:
        if learn not in (None, True, False):
            raise ValueError(f"learn must be None, True or False, got {learn!r}")
        if learn and not self.learns:
            raise ValueError("learn=True but nothing is plastic: pass plastic=True to connect() "
                             "or learn_covariance=True to a column")
        return self.learns if learn is None else learn

    def _simulate(self, duration, clamps, every, report, continuous, extra=()):
        """One Brian2 run with the given stimuli, monitors and learning switched as asked.

        ``clamps`` maps each sensory column to a constant vector (written into μ_0 now) or a
        TimedArray (read by the column's clamp at every step). ``every``: record every k-th
        step (k ≥ 1) or not at all (0). Returns the recorder (None when not recording).
        """
        network = self._network
        namespace = {}
        for column in self._sensory_columns():
            stimulus = clamps[column.name]
            clamp = self._clamps[column.name]
            clamp.active = isinstance(stimulus, TimedArray)
            if clamp.active:
                namespace[f"stimulus_{column.name}"] = stimulus
                column._estimate.run_start = network.t
            else:
                column._estimate.variables["mu"].get_value()[:] = stimulus
        for name, clamp in self._attention_clamps.items():
            column = self.columns[name]
            clamp.active = isinstance(column.attention, TimedArray)
            if clamp.active:
                namespace[f"attention_{name}"] = column.attention
                column._error.run_start = network.t
            else:
                column._apply_attention()
        steps = int(round(float(duration / self.dt)))
        sampler = _Recorder(self, every, steps) if every else None
        extra = list(extra) + ([sampler.operation] if sampler else [])
        if self._learning_op is not None:
            self._learning_op.active = continuous
        self._divergence = None
        network.add(*extra)
        gc.freeze()  # Brian2 calls gc.collect() at every run; frozen objects are not rescanned
        try:
            network.run(duration, namespace=namespace, report=report)
        finally:
            gc.unfreeze()
            network.remove(*extra)
        self._keep_state_updater_code()
        self._check_divergence()
        if self._divergence is not None:
            raise SimulationDiverged(self._divergence)
        return sampler

    def run_sequence(self, stimuli, item_duration, reset_between=True, record="trial_ends",
                     report=None, learn=None, inference="iterative") -> Recording:
        """Present K stimuli one after another, each for ``item_duration``, in ONE Brian2 run.

        Parameters
        ----------
        stimuli : array (K, size), or dict {sensory name: array (K, size)}
        item_duration : time
            How long each item is held (a multiple of dt).
        reset_between : bool
            Reset estimates to the prior mean and errors (and interneurons) to zero at the start
            of every item, so each item is inferred from scratch.
        record : {"trial_ends", "all", int k, False}
            The state at the end of every item is always kept (``rec.trial_end`` etc.);
            "all" also records every step (``rec.estimate`` …), an int k every k-th step.
        report : Brian2 ``report`` argument for progress (e.g. ``"text"``).
        learn : {None, "trial", "continuous", False}
            "trial": learning rules applied once at the end of every item, to the settled state
            (Bogacz 2017's scheme); "continuous": every step; False: frozen. Default: "trial"
            when something is plastic.
        inference : {"iterative", "amortized", "hybrid"}
            How the columns with an :meth:`encoder` infer each item (see
            :mod:`circuits.amortization`): by the dynamics from the prior mean, by the encoder's
            proposal (plus its learned updates) alone, or proposal then dynamics.

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
        if self._standalone is not None:
            raise ValueError("run_sequence needs Python at every item boundary (a network operation, which "
                             "Brian2 skips in standalone mode); with device='cpp_standalone' call run() per "
                             "item, or use the runtime device")
        every = _record_every(record, {"trial_ends": 0, False: 0, "all": 1})
        if learn not in (None, "trial", "continuous", False):
            raise ValueError(f"learn must be None, 'trial', 'continuous' or False, got {learn!r}")
        if learn and not self.learns:
            raise ValueError(f"learn={learn!r} but nothing is plastic: pass plastic=True to connect() "
                             f"or learn_covariance=True to a column")
        learn = ("trial" if self.learns else False) if learn is None else learn
        if inference not in INFERENCE:
            raise ValueError(f"inference must be one of {INFERENCE}, got {inference!r}")
        if inference != "iterative" and not self.encoders:
            raise ValueError(f"inference={inference!r} needs an encoder: add one with circuit.encoder(...)")
        steps_per_item = self._steps(item_duration, "item_duration")
        schedule = None if inference == "iterative" else ItemSchedule(list(self.encoders.values()), inference)
        if schedule is not None and steps_per_item < schedule.steps_needed():
            raise ValueError(f"item_duration = {item_duration} is too short for the encoders' "
                             f"schedule (proposal and learned updates): use at least "
                             f"{schedule.steps_needed() * self.dt}")
        self.build()
        values, items = sequence_stimuli(self._sensory_columns(), stimuli, self.batch_size)
        boundaries = _ItemBoundaries(self, values, steps_per_item, reset_between, learn, schedule)
        first = {name: items_of_column[0] for name, items_of_column in values.items()}
        sampler = self._simulate(items * steps_per_item * self.dt, first, every, report,
                                 continuous=(learn == "continuous"), extra=[boundaries.operation])
        boundaries.end_item()
        return self._recording(sampler, trials=boundaries.trials())

    def _keep_state_updater_code(self):
        """After a run, let every state updater keep its code object for later runs.

        Brian2 regenerates each code object at every ``run()`` (~4 ms each here, 18 of the 27 ms
        that a run of a 3-column circuit costs before its first step). A state updater's code
        depends only on its group's equations and variables, fixed when the circuit is built,
        and reads every value (time constants, gains, offsets) from the group's arrays at run
        time, so the code object of the first run serves all later ones. (Clamps, which read a
        new TimedArray per run, are left to Brian2.)
        """
        for group in self._network.objects:
            updater = getattr(group, "state_updater", None)
            if updater is not None and getattr(updater, "codeobj", None) is not None:
                updater.create_code_objects = _keep_code_objects

    def _count_to_divergence_check(self):
        """Every step: check every ``check_interval`` (counting steps on the circuit's clock;
        an operation on a clock of its own would slow every step of Brian2's loop)."""
        self._steps_since_check += 1
        if self._steps_since_check == self._check_every:
            self._steps_since_check = 0
            self._check_divergence()

    def _check_divergence(self):
        """Stop the network if any rate is non-finite or beyond the threshold."""
        self._divergence = self._divergence_report(f"at t = {self._network.t}")
        if self._divergence is not None:
            self._network.stop()

    def _divergence_report(self, when: str) -> str | None:
        """The message naming the first column whose μ or ε is non-finite or beyond the
        threshold (``when`` says where in the run it was found), or None."""
        for column in self.columns.values():
            for population, kind, symbol in (("estimate", "mu", "μ"), ("error", "eps", "ε")):
                values = self._state(column, kind)
                largest = max(values.max(), -values.min())   # two reductions, no temporary; NaN stays NaN
                if not largest <= self.divergence_threshold:   # also true for NaN
                    return (f"simulation diverged {when}: column {column.name!r} "
                            f"({population} neurons, {symbol}) reached |{symbol}| = {largest:.3g} "
                            f"(threshold {self.divergence_threshold:.3g}). Use a smaller dt (e.g. "
                            f"Circuit(dt={self.dt / 4})), larger time constants, a smaller learning "
                            f"rate, or check the weights and covariances; call reset() before running again.")
        return None

    def _recording(self, sampler=None, trials=None, result=None) -> Recording:
        if sampler is not None or result is not None:
            t, estimate, error = sampler.result() if sampler is not None else result
        else:
            t = np.zeros(0) * second
            estimate = {n: self._unbatch(np.zeros((0, c.size * self._copies))) for n, c in self.columns.items()}
            error = {n: self._unbatch(np.zeros((0, c.error_size * self._copies))) for n, c in self.columns.items()}
        gains = {name: column.attention for name, column in self.columns.items()
                 if isinstance(column.attention, np.ndarray)}
        if sampler is not None:
            gains.update(sampler.gains())
        energy = free_energy_by_level(self.columns.values(), estimate, gains)
        return Recording(t=t, estimate=estimate, error=error, free_energy_by_level=energy,
                         **(trials or {}))

    # -- state and parameters ------------------------------------------------------------------
    @property
    def _copies(self) -> int:
        return self.batch_size or 1

    def _unbatch(self, values: np.ndarray) -> np.ndarray:
        """Batch-major neuron values (…, B × n) as (…, B, n); unchanged without a batch."""
        if self.batch_size is None:
            return values
        return values.reshape(*values.shape[:-1], self.batch_size, values.shape[-1] // self.batch_size)

    def estimate(self, column: ColumnRef) -> np.ndarray:
        """Current μ of ``column`` (a copy), shape (size,), or (B, size) with a batch."""
        column = self._column(column, "column")
        return self._unbatch(self._state(column, "mu").copy())

    def error(self, column: ColumnRef) -> np.ndarray:
        """Current ε of ``column`` (a copy), shape (error_size,), or (B, error_size) with a batch."""
        column = self._column(column, "column")
        return self._unbatch(self._state(column, "eps").copy())

    def free_energy(self, estimates: dict | None = None):
        """Total free energy F(μ) at the current estimates, or with some columns at the
        ``estimates`` given ({name: (size,) or (B, size)}, e.g. an encoder's proposals).
        A float, or one value per copy (B,) with a batch."""
        estimates = {name: self.estimate(name) for name in self.columns} | dict(estimates or {})
        total = sum(free_energy_by_level(self.columns.values(), estimates, self._current_gains()).values())
        return float(total) if self.batch_size is None else np.asarray(total, dtype=float)

    def posterior_precision(self) -> np.ndarray:
        """H, the Gauss–Newton Hessian of F at the current estimates over the stacked latent
        estimate neurons (columns in creation order); H⁻¹ is the Laplace posterior covariance
        (exact for linear circuits at the posterior mean). See :mod:`circuits.gaussian`."""
        from .gaussian import laplace_precision
        self._check_unbatched("posterior_precision")
        estimates = {name: self.estimate(name) for name in self.columns}
        return laplace_precision(self, estimates, self._current_gains())

    def sample(self, samples: int, seed=None, covariance="mean-field") -> dict:
        """Reparameterized samples z = μ + σ ⊙ γ, γ ~ N(0, I), of every latent column around its
        current estimate, {name: (samples, size)}; σ² = 1/diag H (``"mean-field"``) or z = μ + L γ
        with L Lᵀ = H⁻¹ (``"laplace"``). See :mod:`circuits.variational`."""
        from .variational import sample
        self._check_unbatched("sample")
        return sample(self, samples, seed, covariance)

    def elbo(self, samples=1000, seed=None, covariance="mean-field", method="monte-carlo"):
        """(ELBO, standard error): E_q[log p(x, z)] + H[q] for the Gaussian q of :meth:`sample`,
        by Monte Carlo or (linear circuits) in closed form. Compare with −:meth:`free_energy`,
        the point (Laplace) estimate."""
        from .variational import elbo
        self._check_unbatched("elbo")
        return elbo(self, samples, seed, covariance, method)

    def _check_unbatched(self, method):
        if self.batch_size is not None:
            raise ValueError(f"{method}() works on one copy of the circuit; with batch_size = "
                             f"{self.batch_size}, use Circuit(batch_size=None) (or a circuit per input)")

    def _current_gains(self) -> dict:
        """The attention gains γ now in the error neurons (after a run; else the set ones)."""
        if self._standalone is not None:   # constant gains only
            return {name: column.attention for name, column in self.columns.items() if not column.learn_covariance}
        self.build()
        return {name: self._unbatch(column._error.variables["gain"].get_value().copy())
                for name, column in self.columns.items() if "gain" in column._error.variables}

    def weights(self, upper: ColumnRef, lower: ColumnRef) -> np.ndarray:
        """W of the projection from ``upper`` to ``lower`` (a copy), shape (lower.size, upper.size)."""
        return self._projection(upper, lower).weights

    def set_weights(self, upper: ColumnRef, lower: ColumnRef, weights):
        """Replace W of the projection from ``upper`` to ``lower`` (shape (lower.size, upper.size))
        from the next step (runtime) or the next run (standalone, without recompiling)."""
        projection = self._projection(upper, lower)
        weights = as_matrix(weights, projection._weights.shape, "weights")
        if projection.backend == "synapses" and projection.synapses:
            raise ValueError("set_weights: this projection's runtime Synapses were built for the old "
                             "connectivity; use backend='dense' (or device='cpp_standalone')")
        projection._weights[:] = weights
        if projection._synaptic is not projection._weights:   # generalized coordinates: I ⊗ W
            projection._synaptic[:] = np.kron(np.eye(projection.lower.order), weights)

    def bias(self, upper: ColumnRef, lower: ColumnRef) -> np.ndarray:
        """b of the projection from ``upper`` to ``lower`` (a copy), shape (lower.size,)."""
        return self._projection(upper, lower).bias.copy()

    def covariance(self, column: ColumnRef) -> np.ndarray:
        """Current Σ of ``column`` (a copy), shape (size, size)."""
        return self._column(column, "column").covariance.copy()

    def log_density(self, column: ColumnRef) -> float:
        """log p(x) of a whitening column's current input by the change of variables,
        log N(u; 0, I) − log |det B| (= − Σ log β_i for the autoregressive flow), from the
        error neurons' current output u (exact once they have settled at u = B⁻¹(x − m));
        one value per copy (B,) with a batch."""
        column = self._column(column, "column")
        if column.flow not in ("autoregressive", "symmetric"):
            raise ValueError(f"log_density: column {column.name!r} has no lateral_inhibition flow "
                             f"('autoregressive' or 'symmetric')")
        u = self.error(column)
        log_det = np.linalg.slogdet(column.flow_matrix)[1]
        density = -0.5 * np.sum(u * u, axis=-1) - 0.5 * column.size * np.log(2 * np.pi) - log_det
        return float(density) if self.batch_size is None else density

    def _projection(self, upper, lower) -> Projection:
        upper, lower = self._column(upper, "upper"), self._column(lower, "lower")
        for projection in self.projections:
            if projection.upper is upper and projection.lower is lower:
                return projection
        raise ValueError(f"no projection from {upper.name!r} to {lower.name!r}")

    def attend(self, column: ColumnRef, gain):
        """Attention as precision: scale the precision of ``column``'s errors by ``gain`` γ.

        The attended precision is Π' = D Π D with D = diag(√γ) (Σ' = D⁻¹ Σ D⁻¹), so an attended
        error counts more in the free energy, drives the estimates harder and settles faster.
        ``gain``: a positive scalar or vector (size,), in force from the next run on, or a Brian2
        TimedArray of shape (K, size) read at the time since the start of each run (attention
        that shifts during a run; columns with a diagonal Σ only). ``gain=1`` removes attention.
        """
        column = self._column(column, "column")
        if column.learn_covariance or column.flow:
            raise ValueError(f"attend: column {column.name!r} learns its covariance through "
                             f"interneurons or is a whitening column; attention needs a plain Σ")
        if isinstance(gain, TimedArray):
            as_timed_array(gain, column.error_size, "attend: gain")
            if np.any(np.asarray(gain.values) <= 0):
                raise ValueError("attend: gain must be positive (a precision gain)")
            if column.inhibition == "lateral":
                raise ValueError(f"attend: column {column.name!r} has a non-diagonal covariance; "
                                 f"change its gain between runs (a scalar or vector gain), not "
                                 f"with a TimedArray")
            if self.batch_size is not None:   # the same gains for every copy
                gain = TimedArray(np.tile(np.asarray(gain.values), (1, self.batch_size)), dt=gain.dt * second)
            column.attention = gain
            return
        gain = as_vector(gain, column.error_size, "gain")
        if np.any(gain <= 0):
            raise ValueError(f"attend: gain must be positive (a precision gain), got {gain}")
        column.attention = gain

    def reset(self):
        """Back to the initial state: time 0, estimates at the prior mean (sensory ones at 0),
        errors and interneurons zero. Weights, covariances and parameters are kept."""
        if self._standalone is not None:
            self._standalone.reset()
        elif self._network is not None:
            for column in self.columns.values():
                column._set_initial_state(self.tau_estimate, self.tau_error)
            self._network.t_ = 0.0
        self._divergence = None

    def save(self, path):
        """Write structure, weights, covariances and parameters to one ``.npz`` file."""
        from .storage import save
        save(self, path)

    @classmethod
    def load(cls, path) -> "Circuit":
        """A new circuit from a file written by :meth:`save` (at its initial state)."""
        from .storage import load
        return load(path)

    def __repr__(self):
        return (f"Circuit(dt={self.dt}, tau_estimate={self.tau_estimate}, tau_error={self.tau_error}, "
                f"columns={list(self.columns)}, projections={len(self.projections)})")


def _keep_code_objects(run_namespace):
    """Replaces a state updater's ``create_code_objects``: keep the existing code object."""


def _generalized_options(order, smoothness, dynamics, size, learns_lateral, prior_mean):
    """Checked (order, smoothness, dynamics) of a column."""
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order < 1:
        raise ValueError(f"order must be an integer ≥ 1 (1: no generalized coordinates), got {order!r}")
    if order == 1:
        if dynamics is not None:
            raise ValueError("dynamics needs order ≥ 2: the flow A compares the estimate's motion "
                             "μ′ with A μ (e.g. order=3, smoothness=0.5)")
        return 1, None, None
    if smoothness is None:
        raise ValueError(f"order = {order} needs smoothness s (seconds): the width of the "
                         f"fluctuations' autocorrelation, e.g. smoothness=0.5")
    smoothness = _positive_number(smoothness, "smoothness")
    if learns_lateral:
        raise ValueError("generalized coordinates (order > 1) cannot be combined with "
                         "learn_covariance or lateral_inhibition")
    if dynamics is not None:
        dynamics = as_matrix(dynamics, (size, size), "dynamics")
        if np.any(np.asarray(prior_mean) != 0):
            raise ValueError("a column with dynamics has no prior mean (its prior is the flow); "
                             "leave prior_mean at 0")
    return int(order), smoothness, dynamics


def _record_every(record, named: dict) -> int:
    """0 (no per-step recording), 1 (every step) or k (every k-th step) from a ``record`` value."""
    if isinstance(record, (bool, str)) or record is None:
        if record in named:
            return named[record]
    elif isinstance(record, (int, np.integer)) and record >= 1:
        return int(record)
    choices = ", ".join(repr(k) for k in named)
    raise ValueError(f"record must be one of {choices} or a positive integer k (every k-th step), "
                     f"got {record!r}")


class _Recorder:
    """Records t, μ and ε every k-th step into one preallocated array, at the point of the step
    where the sensory clamp has run and the couplings have not (the state at the start of the
    step). One Python call and one ``np.concatenate`` per step: Brian2's StateMonitors, which
    resize their arrays at every step, cost about 12 µs each per step here, a 6-population
    circuit 73 µs of its 115 µs."""

    def __init__(self, circuit: Circuit, every: int, steps: int):
        self.every, self.step, self.row = every, 0, 0
        self.time = circuit._clock.variables["t"].get_value()   # the clock's (1,) array
        rows = -(-steps // every)
        self.times = np.empty(rows)
        self.unbatch = circuit._unbatch
        # what is recorded: μ and ε of every column, and attention that changes during the run
        # (for the free energy); each gets a block of columns of one (rows, total) buffer
        sources = []
        for column in circuit.columns.values():
            sources += [("estimate", column.name, column._estimate.variables["mu"].get_value()),
                        ("error", column.name, column._error.variables["eps"].get_value())]
            if not isinstance(column.attention, np.ndarray):
                sources.append(("gain", column.name, column._error.variables["gain"].get_value()))
        self.sources = [array for _, _, array in sources]
        self.buffer = np.empty((rows, sum(len(array) for array in self.sources)))
        bounds = np.cumsum([0] + [len(array) for array in self.sources])
        self.blocks = {(kind, name): slice(a, b) for (kind, name, _), a, b in zip(sources, bounds, bounds[1:])}
        self.operation = NetworkOperation(self._on_step, when="start", order=0, clock=circuit._clock,
                                          name="recorder")

    def _on_step(self):
        if self.step % self.every == 0:
            self.times[self.row] = self.time[0]
            np.concatenate(self.sources, out=self.buffer[self.row])
            self.row += 1
        self.step += 1

    def _recorded(self, kind) -> dict:
        rows = self.row   # fewer than allocated if the run stopped early
        return {name: self.unbatch(self.buffer[:rows, block]) for (k, name), block in self.blocks.items()
                if k == kind}

    def gains(self) -> dict:
        return self._recorded("gain")

    def result(self):
        return self.times[:self.row] * second, self._recorded("estimate"), self._recorded("error")


class _ItemBoundaries:
    """At the first step of every item: read the previous item's end state (and apply the
    item-end learning), reset the estimates if asked, and clamp the sensory columns to the new
    item. Runs at the very start of a step, before the couplings."""

    def __init__(self, circuit: Circuit, stimuli: dict, steps_per_item: int, reset_between: bool,
                 learn, schedule: ItemSchedule | None):
        self.circuit, self.steps_per_item = circuit, steps_per_item
        self.sensory = [(c._estimate.variables["mu"].get_value(), stimuli[c.name])
                        for c in circuit._sensory_columns()]
        self.reset_between, self.learn, self.schedule = reset_between, learn, schedule
        self.step = 0
        self.estimates, self.errors, self.energies = [], [], []
        self.proposals = {name: [] for name in circuit.encoders}
        self.proposal_energies = []
        self.covariances = {c.name: [] for c in circuit.columns.values() if c.learn_covariance}
        self.operation = NetworkOperation(self._on_step, when="start", order=-2, clock=circuit._clock,
                                          name="item_boundaries")

    def _on_step(self):
        if self.step % self.steps_per_item == 0:
            if self.step:
                self.end_item()
            if self.reset_between:
                for column in self.circuit.columns.values():
                    column._reset_state()
            item = self.step // self.steps_per_item
            for clamped, values in self.sensory:
                clamped[:] = values[item]
        elif self.schedule is not None:
            self.schedule.on_step(self.step % self.steps_per_item)
        self.step += 1

    def end_item(self):
        if self.schedule is not None:
            self.schedule.finish()
        columns = self.circuit.columns.values()
        self.estimates.append({c.name: self.circuit.estimate(c) for c in columns})
        self.errors.append({c.name: self.circuit.error(c) for c in columns})
        self.energies.append(self.circuit.free_energy())
        if self.proposals:
            proposed = {name: self.circuit._unbatch(encoder.proposal())
                        for name, encoder in self.circuit.encoders.items()}
            for name, proposal in proposed.items():
                self.proposals[name].append(proposal)
            self.proposal_energies.append(self.circuit.free_energy(proposed))
        for name, history in self.covariances.items():
            history.append(self.circuit.columns[name].covariance.copy())
        if self.learn and self.schedule is not None:
            for name, encoder in self.circuit.encoders.items():
                encoder.learn_updates(self.schedule.reads.get(name, []))
        if self.learn == "trial":
            apply_learning(self.circuit, 1.0)

    def trials(self) -> dict:
        names = list(self.circuit.columns)
        return {"trial_end": {n: np.array([e[n] for e in self.estimates]) for n in names},
                "trial_error": {n: np.array([e[n] for e in self.errors]) for n in names},
                "trial_free_energy": np.array(self.energies),
                "trial_covariance": {n: np.array(h) for n, h in self.covariances.items()},
                "trial_proposal": {n: np.array(p) for n, p in self.proposals.items()},
                "trial_proposal_free_energy": np.array(self.proposal_energies)}
