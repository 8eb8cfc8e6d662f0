"""What a circuit *is*: its columns, projections and encoders, and every wiring check.

A :class:`CircuitGraph` holds the parts of a circuit and checks each addition at the API
boundary (messages name the argument and the fix). It knows nothing of how the circuit runs:
engines (:mod:`circuits.engines`) build Brian2 objects from it. :class:`Timing` holds the
integration step and the time constants, and the Euler bounds that every part must respect.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Union

import numpy as np
from brian2 import Quantity

from populations import PRIORS, get_activations, prior_shape

from .amortization import Encoder
from .column import ERRORS, FLOWS, Column
from .dendrite import CREDIT, Dendrite, layer_rates
from .generalized import temporal_covariance
from .projection import BACKENDS, FEEDBACK, Projection
from .spiking import spiking_options
from .validation import (as_array, as_covariance, as_matrix, as_time, as_vector, check_memory, check_name, choice,
                         is_diagonal, largest_eigenvalue, positive_number, random_generator, shown)

__all__ = ["CircuitGraph", "ColumnRef", "Timing"]

ColumnRef = Union[Column, str]


@dataclass(frozen=True)
class Timing:
    """The integration step and time constants of a circuit (Brian2 times).

    dt : the forward-Euler step; tau_estimate : τ_μ of the estimate neurons; tau_error : τ_ε
    of the error neurons and interneurons.
    """

    dt: Quantity
    tau_estimate: Quantity
    tau_error: Quantity

    @classmethod
    def checked(cls, dt, tau_estimate, tau_error) -> "Timing":
        """Validated times: forward Euler needs dt < τ/2 for the faster of the two neurons."""
        dt, tau_estimate, tau_error = (as_time(dt, "dt"), as_time(tau_estimate, "tau_estimate"),
                                       as_time(tau_error, "tau_error"))
        label, tau = min((("tau_estimate", tau_estimate), ("tau_error", tau_error)), key=lambda p: float(p[1]))
        if dt >= tau / 2:
            raise ValueError(f"dt = {dt} is too large: forward Euler needs dt < τ/2 for the faster "
                             f"neurons, here {label} = {tau} (tau_estimate = {tau_estimate}, tau_error = "
                             f"{tau_error}), so dt < {tau / 2}; use dt ≤ {tau / 10} for accuracy")
        return cls(dt, tau_estimate, tau_error)

    @property
    def error_step(self) -> float:
        """dt/τ_ε (dimensionless)."""
        return float(self.dt / self.tau_error)

    def steps(self, duration, parameter: str) -> int:
        """``duration`` as a whole number of steps (it must be a positive multiple of dt)."""
        duration = as_time(duration, parameter)
        steps = int(round(float(duration / self.dt)))
        if steps < 1 or abs(steps * float(self.dt) - float(duration)) > 1e-6 * float(self.dt):
            raise ValueError(f"{parameter} = {duration} must be a positive multiple of dt = {self.dt}")
        return steps

    def check_variance(self, largest: float, parameter: str, fix: str, error: type = ValueError):
        """Euler keeps the error neurons' self-inhibition stable only if dt·λmax(Σ')/τ_ε < 1;
        raise ``error`` naming ``parameter`` and ``fix`` otherwise."""
        rate = self.error_step * largest
        if not rate < 1:
            raise error(f"{parameter}: the largest variance {largest:.3g} makes the error neurons' "
                        f"self-inhibition too fast for dt = {self.dt} and tau_error = {self.tau_error} "
                        f"(forward Euler needs dt·λmax(Σ)/τ_ε < 1, here {rate:.3g}); {fix}, or use dt ≤ "
                        f"{(self.tau_error / (10 * largest)).in_best_unit(3)} or a larger tau_error")


class CircuitGraph:
    """Columns, projections and encoders of one circuit, checked as they are added.

    Attributes
    ----------
    timing : Timing
    backend : "dense" or "synapses"
        Default backend of projections and of the columns' internal links.
    columns : dict of str to Column
        In creation order.
    projections : list of Projection
    encoders : dict of str to Encoder
        By the name of the latent column each one proposes.
    seed : int or None
        Seeds random feedback weights and, in a spiking circuit, the spikes.
    spiking : circuits.spiking.Spiking or None
        The spiking populations of ``neurons="spiking"`` (None: rate neurons).
    """

    def __init__(self, timing: Timing, backend: str = "dense", seed=None, neurons="rate"):
        self.timing, self.backend, self.seed = timing, choice(backend, BACKENDS, "backend"), seed
        self.spiking = spiking_options(neurons)
        if self.spiking is not None:
            self.spiking.check_timing(timing)
        self.columns: dict[str, Column] = {}
        self.projections: list[Projection] = []
        self.encoders: dict[str, Encoder] = {}
        self._rng = random_generator(seed)
        self._frozen = False
        #: Called when a column's Brian2 groups are asked for before the circuit was built.
        self.on_demand: Callable[[], object] | None = None

    # -- structure ----------------------------------------------------------------------------
    def freeze(self):
        """No more columns, projections or encoders (the engine has built the circuit)."""
        self._frozen = True

    def _check_open(self, action: str):
        if self._frozen:
            raise RuntimeError(f"cannot {action}: the circuit was already built (by a run or by "
                               f"reading a column's .estimate/.error); build a new Circuit")

    def lookup(self, ref: ColumnRef, parameter: str = "column") -> Column:
        """The column ``ref`` (a Column of this graph, or its name); ``parameter`` names the
        argument in the error message."""
        if isinstance(ref, Column):
            if self.columns.get(ref.name) is not ref:
                raise ValueError(f"{parameter}: column {ref.name!r} belongs to another circuit")
            return ref
        if isinstance(ref, str):
            if ref not in self.columns:
                raise ValueError(f"{parameter}: no column named {ref!r}; columns are {list(self.columns)}")
            return self.columns[ref]
        raise TypeError(f"{parameter} must be a Column or a column name, got {type(ref).__name__}")

    def projection(self, upper: ColumnRef, lower: ColumnRef) -> Projection:
        """The projection from ``upper`` to ``lower``."""
        upper, lower = self.lookup(upper, "upper"), self.lookup(lower, "lower")
        for projection in self.projections:
            if projection.upper is upper and projection.lower is lower:
                return projection
        raise ValueError(f"no projection from {upper.name!r} to {lower.name!r}")

    @property
    def sensory_columns(self) -> list[Column]:
        return [c for c in self.columns.values() if c.sensory]

    @property
    def dendrites(self) -> list[Dendrite]:
        """The deep pathways with dendritic compartments (of projections and encoders)."""
        parts = [*self.projections, *self.encoders.values()]
        return [part.dendrite for part in parts if part.dendrite.layers > 1]

    @property
    def paired_groups(self) -> set[str]:
        """Brian2 names of the groups that hold ε+/ε− (a+/a−) pairs (rectified columns)."""
        return set().union(*(c.paired_groups for c in self.columns.values()))

    @property
    def rng(self) -> np.random.Generator:
        """The circuit's random generator (from ``seed``): random feedback weights, samples."""
        return self._rng

    @property
    def clamped_columns(self) -> list[Column]:
        """The columns whose estimates are data, set by stimuli: the sensory columns and the
        latent columns clamped now (:meth:`Column.clamp`)."""
        return [c for c in self.columns.values() if c.clamped]

    @property
    def learns(self) -> bool:
        """Whether any parameter of the circuit has a learning rule switched on."""
        return any(part.learns for part in (*self.columns.values(), *self.projections, *self.encoders.values()))

    def top_down(self) -> list[Column]:
        """The columns ordered so that every column comes after the columns predicting it."""
        ordered, placed = [], set()
        while len(ordered) < len(self.columns):
            for column in self.columns.values():
                if column.name not in placed and all(p.upper.name in placed for p in column.downward):
                    ordered.append(column)
                    placed.add(column.name)
        return ordered

    def _reaches(self, start: Column, goal: Column) -> bool:
        """Whether ``start`` predicts ``goal`` through a chain of projections."""
        frontier = [start]
        while frontier:
            column = frontier.pop()
            if column is goal:
                return True
            frontier.extend(p.lower for p in column.upward)
        return False

    # -- adding parts -------------------------------------------------------------------------
    def sensory(self, name: str, size: int, covariance=1.0, prior_mean=0.0, learn_covariance=False,
                covariance_learning_rate=0.01, min_variance=1e-3, lateral_inhibition=None,
                learn_inhibition=False, inhibition_learning_rate=0.01, inhibition_radius=4,
                inhibition_grid=None, order=1, smoothness=None, errors=None) -> Column:
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
        learned by LMS); neighbours along the units, or on an image of ``inhibition_grid =
        (height, width)`` pixels (Euclidean distance). A whitening column cannot be predicted
        by other columns; :meth:`Circuit.log_density` gives log p(x) = log N(u; 0, I) − log |det B|.
        ``order`` n > 1: the stimulus arrives in generalized coordinates x̃ = (x, x′, …), a
        vector of n × size (order-major; :func:`circuits.generalized.embed` makes one from a
        sampled signal), with covariance S(s) ⊗ Σ_0 for fluctuations of ``smoothness`` s
        (seconds; see :mod:`circuits.generalized`).
        ``errors``: ``"signed"`` error neurons, or ``"rectified"`` ε+/ε− pairs with
        non-negative rates whose difference follows the signed equation exactly (same fixed
        point, see :mod:`populations.error`); default "signed" (rectified in a spiking circuit).
        """
        choice(lateral_inhibition, (None, *FLOWS), "lateral_inhibition")
        if isinstance(inhibition_radius, bool) or not isinstance(inhibition_radius, (int, float, np.number)) \
                or not inhibition_radius >= 1:
            raise ValueError(f"inhibition_radius must be a number ≥ 1, got {inhibition_radius!r}")
        if inhibition_grid is not None and not (
                isinstance(inhibition_grid, (tuple, list)) and len(inhibition_grid) == 2
                and all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 1 for n in inhibition_grid)
                and inhibition_grid[0] * inhibition_grid[1] == size):
            raise ValueError(f"inhibition_grid must be (height, width), two positive integers with height × width "
                             f"= size = {size}, got {shown(inhibition_grid)}")
        if learn_inhibition and lateral_inhibition is None:
            raise ValueError("learn_inhibition=True needs lateral_inhibition='autoregressive', "
                             "'symmetric' or 'surround'")
        if lateral_inhibition and learn_covariance:
            raise ValueError("choose lateral_inhibition (Σ = B Bᵀ on lateral synapses) or "
                             "learn_covariance (Σ through interneurons), not both")
        return self._add_column(name, size, covariance, prior_mean, True, learn_covariance,
                                covariance_learning_rate, min_variance, order, smoothness,
                                flow=lateral_inhibition, learn_flow=bool(learn_inhibition),
                                flow_learning_rate=positive_number(inhibition_learning_rate,
                                                                   "inhibition_learning_rate", allow_zero=True),
                                flow_radius=float(inhibition_radius),
                                flow_grid=None if inhibition_grid is None else tuple(int(n) for n in inhibition_grid),
                                errors=errors)

    def column(self, name: str, size: int, covariance=1.0, prior_mean=0.0, learn_covariance=False,
               covariance_learning_rate=0.01, min_variance=1e-3, order=1, smoothness=None,
               dynamics=None, flat_prior=False, errors=None, prior="gaussian", sparsity=1.0) -> Column:
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
        it cannot be predicted by other columns). ``flat_prior``: no Gaussian prior and no error
        of its own (a top column driven by the errors below alone, as in plain gradient tracking).
        ``errors``: ``"signed"`` or ``"rectified"`` (ε+/ε− pairs), as for :meth:`sensory`.

        ``prior``: ``"gaussian"`` (N(g, Σ) alone), or a sparse prior that multiplies it by
        Π_i exp(−α φ(μ_i)) with α = ``sparsity``: ``"laplace"`` (φ = |μ|) or ``"cauchy"``
        (φ = log(1 + μ²), the kurtotic prior of Rao & Ballard 1999); see :mod:`populations.priors`.
        It adds α Σ φ(μ) to F and −α φ'(μ) to the estimates' drive (order 1 only; rate neurons).
        With ``flat_prior=True`` the sparse factor is the whole prior.
        """
        if flat_prior and (dynamics is not None or learn_covariance):
            raise ValueError("flat_prior=True: a flat prior has no covariance or dynamics to use; "
                             "drop dynamics / learn_covariance")
        if prior_shape(choice(prior, tuple(PRIORS), "prior")) is not None:
            if order != 1:
                raise ValueError(f"prior={prior!r} applies to plain estimates: use order=1 (a sparse "
                                 f"prior on generalized coordinates is not defined here)")
            sparsity = positive_number(sparsity, "sparsity")
        return self._add_column(name, size, covariance, prior_mean, False, learn_covariance,
                                covariance_learning_rate, min_variance, order, smoothness,
                                dynamics=dynamics, flat_prior=bool(flat_prior), errors=errors, prior=prior,
                                sparsity=sparsity if prior != "gaussian" else 0.0)

    def _add_column(self, name, size, covariance, prior_mean, sensory, learn_covariance,
                    covariance_learning_rate, min_variance, order, smoothness, dynamics=None,
                    flat_prior=False, flow=None, learn_flow=False, flow_learning_rate=0.0,
                    flow_radius=4.0, flow_grid=None, errors=None, prior="gaussian", sparsity=0.0) -> Column:
        self._check_open("add a column")
        check_name(name, self.columns)
        errors = ("rectified" if self.spiking else "signed") if errors is None else errors
        choice(errors, ERRORS, "errors")
        if self.spiking is not None:
            self.spiking.refuse(f"column {name!r}", signed_errors=errors == "signed", generalized_coordinates=order != 1,
                                lateral_inhibition=bool(flow), learning=learn_covariance or learn_flow,
                                a_sparse_prior=prior != "gaussian")
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
            raise TypeError(f"size must be a positive integer, got {shown(size)}")
        if size < 1:
            raise ValueError(f"size must be at least 1, got {size}")
        size = int(size)
        check_memory(8 * size * size, f"size = {size}: the column's covariance Σ (dense, size² entries)")
        covariance = as_covariance(covariance, size)
        order, smoothness, dynamics = _generalized_options(order, smoothness, dynamics, size,
                                                           learn_covariance or flow, prior_mean)
        largest = largest_eigenvalue(covariance)
        if order > 1:
            largest *= np.linalg.eigvalsh(temporal_covariance(order, smoothness)).max()
        self.timing.check_variance(largest, "covariance", "pass a smaller covariance")
        if learn_covariance and self.backend != "dense":
            raise ValueError("learn_covariance needs Circuit(backend='dense'): the learned Σ lives "
                             "in the dense interneuron synapses")
        column = Column(self, name, size, covariance, as_vector(prior_mean, size, "prior_mean"), sensory,
                        learn_covariance=bool(learn_covariance),
                        covariance_learning_rate=positive_number(covariance_learning_rate, "covariance_learning_rate",
                                                                 allow_zero=True),
                        min_variance=positive_number(min_variance, "min_variance"), order=order,
                        smoothness=smoothness, dynamics=dynamics, flat_prior=flat_prior, flow=flow,
                        learn_flow=learn_flow, flow_learning_rate=flow_learning_rate, flow_radius=flow_radius,
                        flow_grid=flow_grid, errors=errors, spiking=self.spiking, prior=prior, sparsity=sparsity)
        self.columns[name] = column
        return column

    def connect(self, upper: ColumnRef, lower: ColumnRef, weights, activation="linear", bias=0.0,
                backend=None, plastic=False, learning_rate=1e-3, weight_decay=0.0, learn_bias=False,
                feedback="tied", feedback_weights=None, credit="backprop", target_step=None,
                inverse_learning_rate=None, inverse_noise=0.1) -> Projection:
        """Let ``upper`` predict ``lower``: top-down generative synapses W f(μ_upper) + b into
        lower's error neurons, and bottom-up inference synapses B ε_lower (B = Wᵀ) into upper's
        estimates. With a list of weights, a deep projection whose hidden layers are dendritic
        compartments (:mod:`circuits.dendrite`).

        Parameters
        ----------
        upper, lower : Column or column name
        weights : array (lower.size, upper.size), or a list [V_1, …, V_K]
            W; or the layers of a deep projection, h_1 = V_1 f_1(μ_upper) + c_1,
            h_k = V_k f_k(h_k−1) + c_k, prediction h_K: V_1 is (H_1, upper.size), V_k
            (H_k, H_k−1), V_K (lower.size, H_K−1).
        activation : str, Activation or (f, f') pair of Brian2 expressions in ``x``
            One of ``linear``, ``tanh``, ``relu``, ``softplus``, ``sigmoid``, or custom; for a
            deep projection a list [f_1, …, f_K] of such entries, one per layer.
        bias : scalar or array (lower.size,)
            b; for a deep projection a scalar (every layer) or a list [c_1, …, c_K].
        backend : {None, "dense", "synapses"}
            None uses the circuit's backend.
        plastic : bool
            Learn W with ΔW = α (ε_lower f(μ_upper)ᵀ − λ W) (see :mod:`circuits.learning`); a
            deep projection learns every layer, ΔV_k = α (δ_k f_k(h_k−1)ᵀ − λ V_k).
        learning_rate, weight_decay : float
            α and λ (of every rule of this projection); a deep projection may take one rate
            per layer, learning_rate=[α_1, …, α_K] (layers of very different scales, e.g.
            inputs in units of their noise, learn at very different speeds under one α).
        learn_bias : bool
            Learn b with Δb = α ε_lower (with or without ``plastic``); every c_k, Δc_k = α δ_k.
        feedback : {"tied", "random", "kolen-pollack"}
            The bottom-up weights B: Wᵀ, fixed random (feedback alignment), or learned with the
            transposed rule ΔB = α (f(μ_upper) ε_lowerᵀ − λ B) together with W (Kolen–Pollack,
            which needs ``plastic=True``). A deep projection's bottom-up path is tied.
        feedback_weights : array (upper.size, lower.size), optional
            Initial B for "random"/"kolen-pollack" (default: Gaussian with W's scale, from ``seed``).
        credit : {"backprop", "feedback-alignment", "target-prop"}
            How a plastic deep projection's hidden layers get their learning signal δ_k (see
            :mod:`circuits.dendrite`): the backpropagated errors (the exact gradient of F),
            errors sent back through fixed random weights (from ``seed``, with V_k's scale), or
            difference target propagation through learned inverses.
        target_step, inverse_learning_rate, inverse_noise : float, optional
            Target propagation's β (default: lower's smallest variance, so that the output's
            target is the lower column's estimate when Σ is isotropic), α_g of the inverses
            (default: the rate of the layer each inverts) and σ of their denoising reconstruction.
        """
        self._check_open("connect columns")
        upper, lower = self.lookup(upper, "upper"), self.lookup(lower, "lower")
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
        weights, activations, biases = _pathway(weights, activation, bias, upper.state_size, lower.state_size,
                                                f"upper.size = {upper.state_size}", f"lower.size = {lower.state_size}")
        deep = len(weights) > 1
        if self.spiking is not None:
            self.spiking.refuse(f"connect({upper.name!r}, {lower.name!r})", learning=plastic or learn_bias,
                                a_deep_projection=deep, nonlinear_activation=not activations[0].is_identity)
        if lower.generalized and (deep or not activations[0].is_identity or plastic or learn_bias
                                  or feedback != "tied"):
            raise ValueError("connect: projections between columns in generalized coordinates must be "
                             "one-layer, linear (activation='linear'), tied and not plastic (each order is "
                             "predicted by I ⊗ W)")
        encoder = self.encoders.get(upper.name)
        if encoder is not None and encoder.iterations:
            raise ValueError(f"connect: {upper.name!r} already has an encoder whose update neurons read "
                             f"the errors of the columns it predicts; connect the columns first, then "
                             f"add the encoder")
        if self._reaches(lower, upper):
            raise ValueError(f"connect: {lower.name!r} already predicts {upper.name!r} (directly or "
                             f"through other columns); the hierarchy must not contain cycles")
        backend = self.backend if backend is None else choice(backend, BACKENDS, "backend")
        choice(feedback, FEEDBACK, "feedback")
        if deep and feedback != "tied":
            raise ValueError(f"feedback={feedback!r}: a deep projection's bottom-up path is tied (its "
                             f"compartments carry Jᵀ ε back to the estimates); choose how its layers learn "
                             f"with credit='feedback-alignment' or 'target-prop'")
        if feedback == "kolen-pollack" and not plastic:
            raise ValueError("feedback='kolen-pollack' learns B with the transposed rule of W, together "
                             "with W: pass plastic=True (or feedback='random' for fixed random B)")
        if (plastic or learn_bias) and backend != "dense":
            raise ValueError("plastic=True and learn_bias=True need backend='dense': the learning "
                             "rules update the dense weight matrices")
        if feedback == "tied":
            if feedback_weights is not None:
                raise ValueError("feedback_weights is only used with feedback='random' or 'kolen-pollack'")
        elif feedback_weights is None:
            W = weights[0]
            scale = W.std() if W.std() > 0 else 1 / np.sqrt(lower.size)
            feedback_weights = self._rng.normal(scale=scale, size=(upper.size, lower.size))
        else:
            feedback_weights = as_matrix(feedback_weights, (upper.size, lower.size), "feedback_weights")
        learning_rate = _learning_rates(learning_rate, len(weights))
        options = self._credit(credit, weights, plastic, target_step, inverse_learning_rate, inverse_noise,
                               learning_rate, lower)
        projection = Projection(upper, lower, weights, activations, biases, backend, plastic=bool(plastic),
                                learning_rate=learning_rate,
                                weight_decay=positive_number(weight_decay, "weight_decay", allow_zero=True),
                                learn_bias=bool(learn_bias), feedback=feedback, feedback_weights=feedback_weights,
                                **options)
        self.projections.append(projection)
        upper.upward.append(projection)
        lower.downward.append(projection)
        return projection

    def _credit(self, credit, weights: list, plastic, target_step, inverse_learning_rate, inverse_noise,
                learning_rate, lower=None) -> dict:
        """Checked credit-assignment options of a deep pathway (:class:`Dendrite` keywords), with
        random feedback or inverse weights drawn from the circuit's generator where needed."""
        options = {"credit": choice(credit, CREDIT, "credit")}
        if credit == "backprop":
            return options
        if len(weights) == 1:
            raise ValueError(f"credit={credit!r} chooses how the hidden layers of a deep pathway learn; "
                             f"a one-layer pathway has none (pass weights=[V_1, …, V_K], or leave "
                             f"credit='backprop')")
        if not plastic:
            raise ValueError(f"credit={credit!r} forms the learning signal of plastic layers: pass "
                             f"plastic=True (or leave credit='backprop')")
        # B_k+1 and Q_k+1 map layer k+1 back to layer k: shaped like V_k+1ᵀ, with V_k+1's scale
        shapes = [(v.shape[1], v.shape[0], v.std() if v.std() > 0 else 1 / np.sqrt(v.shape[1])) for v in weights[1:]]
        if credit == "feedback-alignment":
            options["alignment_weights"] = [self._rng.normal(scale=s, size=(rows, cols)) for rows, cols, s in shapes]
            return options
        options["inverses"] = ([self._rng.normal(size=(rows, cols)) / np.sqrt(cols) for rows, cols, _ in shapes],
                               [np.zeros(rows) for rows, _, _ in shapes])
        if target_step is None:   # lower's smallest variance (an encoder's targets are estimates: 1)
            target_step = 1.0 if lower is None else float(
                np.diagonal(lower.covariance).min() if is_diagonal(lower.covariance)
                else np.linalg.eigvalsh(lower.covariance).min())
        rates = (layer_rates(learning_rate, len(weights))[1:] if inverse_learning_rate is None else
                 [positive_number(inverse_learning_rate, "inverse_learning_rate", allow_zero=True)] * (len(weights) - 1))
        options.update(target_step=positive_number(target_step, "target_step"), inverse_learning_rates=rates,
                       inverse_noise=positive_number(inverse_noise, "inverse_noise", allow_zero=True),
                       seed=int(self._rng.integers(2 ** 32)))
        return options

    def encoder(self, target: ColumnRef, source: ColumnRef | None = None, weights=None, bias=0.0,
                activation="linear", plastic=True, learning_rate=0.01, iterations=0, update_gain=1.0,
                update_learning_rate=0.01, read_duration=None, credit="backprop", inverse_learning_rate=None,
                inverse_noise=0.1) -> Encoder:
        """Give latent column ``target`` an amortized-inference pathway (see
        :mod:`circuits.amortization`): proposal neurons μ_q = V f(x) + c fed by the sensory
        column ``source`` (default: the only sensory column), used by
        ``run_sequence(..., inference="amortized" | "hybrid")``.

        Parameters
        ----------
        weights : array (target.size, source.size), or a list [U_1, …, U_K], optional
            Initial V (default zeros); a list makes a deep encoder, h_1 = U_1 f_1(x) + a_1,
            h_k = U_k f_k(h_k−1) + a_k, μ_q = h_K, whose hidden layers are dendritic
            compartments (:mod:`circuits.dendrite`). ``bias``: initial c (scalar or
            (target.size,)); for a deep encoder a scalar or a list [a_1, …, a_K].
        activation : str, Activation or (f, f') pair
            f applied to x (default linear); a list [f_1, …, f_K] for a deep encoder.
        plastic, learning_rate : bool, float
            Learn V and c by the delta rule towards the settled estimate, at rate α (every layer
            of a deep encoder, with the error μ − μ_q sent back through its layers; one rate or
            one per layer).
        credit, inverse_learning_rate, inverse_noise
            How a deep encoder's hidden layers learn, as for :meth:`connect` (target
            propagation's output target is the settled estimate itself, β = 1).
        iterations : int
            Learned updates per item (iterative amortization); 0 for direct amortization only.
        update_gain, update_learning_rate : float
            γ of each update and α_u of its weights U.
        read_duration : time, optional
            How long the errors settle at the held estimate before each update is read
            (default 10 time constants of the slowest error neurons read, τ_ε / λmin(Σ)).
        """
        self._check_open("add an encoder")
        target = self.lookup(target, "target")
        if self.spiking is not None:
            self.spiking.refuse(f"encoder({target.name!r})", an_encoder=True)
        if target.sensory:
            raise ValueError(f"encoder: target {target.name!r} is sensory; an encoder proposes the "
                             f"estimates of a latent column")
        if target.name in self.encoders:
            raise ValueError(f"encoder: column {target.name!r} already has an encoder")
        if source is None:
            sensory = self.sensory_columns
            if len(sensory) != 1:
                raise ValueError(f"encoder: the circuit has {len(sensory)} sensory columns; name the "
                                 f"source (one of {[c.name for c in sensory]})")
            source = sensory[0]
        source = self.lookup(source, "source")
        if not source.sensory:
            raise ValueError(f"encoder: source {source.name!r} must be a sensory column")
        if isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)) or iterations < 0:
            raise ValueError(f"iterations must be an integer ≥ 0, got {iterations!r}")
        if plastic and self.backend != "dense":
            raise ValueError("a plastic encoder needs Circuit(backend='dense')")
        weights, activations, biases = _pathway(np.zeros((target.size, source.size)) if weights is None else weights,
                                                activation, bias, source.size, target.size,
                                                f"source.size = {source.size}", f"target.size = {target.size}")
        learning_rate = _learning_rates(learning_rate, len(weights))
        options = self._credit(credit, weights, plastic, None, inverse_learning_rate, inverse_noise, learning_rate)
        if read_duration is None:
            smallest = min(np.linalg.eigvalsh(c.covariance).min() for c in [target] + [p.lower for p in target.upward])
            read_steps = int(np.ceil(10 * float(self.timing.tau_error / self.timing.dt) / min(1.0, smallest)))
        else:
            read_steps = self.timing.steps(read_duration, "read_duration")
        dendrite = Dendrite(f"{target.name}_encoder", weights, activations, biases, backward=False, **options)
        encoder = Encoder(target, source, dendrite, bool(plastic), learning_rate, int(iterations),
                          positive_number(update_gain, "update_gain"),
                          positive_number(update_learning_rate, "update_learning_rate", allow_zero=True),
                          read_steps)
        self.encoders[target.name] = encoder
        return encoder

    def __repr__(self):
        return f"CircuitGraph(columns={list(self.columns)}, projections={len(self.projections)})"


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
    smoothness = positive_number(smoothness, "smoothness")
    if learns_lateral:
        raise ValueError("generalized coordinates (order > 1) cannot be combined with "
                         "learn_covariance or lateral_inhibition")
    if dynamics is not None:
        dynamics = as_matrix(dynamics, (size, size), "dynamics")
        if np.any(np.asarray(prior_mean) != 0):
            raise ValueError("a column with dynamics has no prior mean (its prior is the flow); "
                             "leave prior_mean at 0")
    return int(order), smoothness, dynamics


def _learning_rates(rate, layers: int):
    """A checked learning rate: one number ≥ 0, or (several layers) a list of one per layer."""
    if isinstance(rate, (list, tuple)):
        if len(rate) != layers:
            raise ValueError(f"learning_rate: give one number, or a list of {layers} (one per layer), got {rate!r}")
        return [positive_number(r, f"learning_rate[{k}]", allow_zero=True) for k, r in enumerate(rate)]
    return positive_number(rate, "learning_rate", allow_zero=True)


def _pathway(weights, activation, bias, inputs: int, outputs: int, input_label: str, output_label: str):
    """Checked (weights, activations, biases) lists of a projection's or encoder's layers.

    ``weights`` is one matrix (outputs × inputs: one layer, today's meaning) or a list of K
    matrices V_1 (H_1 × inputs) … V_K (outputs × H_K−1); ``activation`` one entry per layer
    (:func:`populations.get_activations`); ``bias`` a scalar (every layer) or, for one layer, a
    vector, for K layers a list of K scalars or vectors.
    """
    layered = (isinstance(weights, (list, tuple)) and len(weights) > 0
               and all(np.ndim(w) == 2 for w in weights))
    if not layered:
        matrices = [as_matrix(weights, (outputs, inputs), "weights")]
    else:
        matrices, columns = [], inputs
        for k, matrix in enumerate(weights):
            matrix = np.ascontiguousarray(as_array(matrix, f"weights[{k}]"))
            last = k == len(weights) - 1
            what = input_label if k == 0 else f"layer {k}: weights[{k - 1}] has {columns} rows"
            if matrix.shape[1] != columns or (last and matrix.shape[0] != outputs):
                expected = f"({outputs}, {columns})" if last else f"(H_{k + 1}, {columns})"
                raise ValueError(f"weights[{k}] must have shape {expected} ({'output' if last else 'hidden'} "
                                 f"size × input size; {what}{'; ' + output_label if last else ''}), got "
                                 f"shape {matrix.shape}")
            if matrix.shape[0] < 1:
                raise ValueError(f"weights[{k}]: a hidden layer needs at least one unit, got shape {matrix.shape}")
            matrices.append(matrix)
            columns = matrix.shape[0]
    layers = len(matrices)
    activations = get_activations(activation, layers)
    sizes = [len(m) for m in matrices]
    if layers == 1:
        biases = [as_vector(bias, outputs, "bias")]
    elif isinstance(bias, (list, tuple)) and len(bias) == layers:
        biases = [as_vector(b, size, f"bias[{k}]") for k, (b, size) in enumerate(zip(bias, sizes))]
    elif not isinstance(bias, (list, tuple)) and np.ndim(bias) == 0:
        biases = [as_vector(bias, size, "bias") for size in sizes]
    else:
        raise ValueError(f"bias: a pathway of {layers} layers takes a scalar (every layer) or a list of "
                         f"{layers} biases [c_1, …, c_{layers}] of sizes {sizes}, got {bias!r}")
    return matrices, activations, biases
