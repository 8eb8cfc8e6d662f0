"""A cortical column: paired estimate (μ) and error (ε) neurons for one level of the hierarchy."""
from __future__ import annotations

import numpy as np
from brian2 import Equations, NeuronGroup, TimedArray

from populations import error_equations, estimate_equations, interneuron_equations, sensory_equations

from .batch import Batch
from .coupling import MEMBRANE, Coupling
from .generalized import shift_operator, temporal_covariance
from .learning import update_covariance, update_flow
from .validation import as_timed_array, as_vector, is_diagonal

__all__ = ["Column", "ColumnState", "ERRORS", "FLOWS"]

#: Kinds of lateral inhibition of a sensory column.
FLOWS = ("autoregressive", "symmetric", "surround")

#: How a column carries its prediction errors: signed neurons, or ε+/ε− pairs of non-negative rates.
ERRORS = ("signed", "rectified")


class ColumnState:
    """The live values of one column's neurons inside an engine, batch-major (B × n each).

    Engines create it when they build the circuit; writing into its arrays changes the
    simulation from the next step (runtime) or run (standalone). In a rectified column the
    error neurons (and interneurons) are ε+/ε− pairs, 2 neurons per unit (layout
    :meth:`Batch.pairs`), and so are the per-neuron parameters offset, variance and gain.

    Attributes
    ----------
    batch : Batch
    paired : bool
        Whether the error neurons are ε+/ε− pairs (rectified errors).
    estimate : ndarray (B × size,)
        μ of the estimate neurons.
    error_neurons : ndarray (B × error_size,), or (B × 2 error_size,) when paired
        The error neurons' state: ε (u for a whitening column), or the membranes v of ε+ and
        ε−, whose rates are [v]+ (:meth:`rates`).
    error : ndarray (B × error_size,)
        The signed ε (read-only property): ``error_neurons``, or ε+ − ε− = [v+]+ − [v−]+ when
        paired (a new array then: :meth:`set_error` changes the state).
    interneurons : ndarray or None
        The state of the interneurons of a covariance-learning column (a, or the membranes of
        a+ and a−).
    activity : ndarray (B × error_size,) or None
        The signed a (read-only property, like ``error``).
    offset : ndarray (B × error neurons,) or None
        The constant part of the prediction, m + Σ b (None for a column with dynamics).
    variance : ndarray (B × error neurons,) or None
        The diagonal of Σ (of B for a flow): the error neurons' self-inhibition.
    gain : ndarray (B × error neurons,) or None
        The attention gain γ in the error neurons (None with interneurons).
    estimate_rate, error_rate : ndarray or None
        The filtered population firing rates (Hz) of a spiking column's estimate and error
        populations, per unit (None for rate columns).
    traces : dict of str to ndarray
        The synaptic traces of a spiking column's units, by "population.variable" (empty for
        rate columns): state that continues across runs and is zeroed by a reset.
    free : ndarray (B × size,) or None
        1 where the estimate neurons follow their drive, 0 where the column is clamped or held
        (None for a sensory column, which is always clamped).
    hold, inferred : ndarray (B × size,) or None
        1 where the column's predictions are fixed (:meth:`Column.hold`), and the value it
        infers meanwhile (None for a sensory column).
    """

    def __init__(self, batch: Batch, estimate, error, activity=None, offset=None, variance=None, gain=None,
                 estimate_rate=None, error_rate=None, paired=False, traces=None, free=None, hold=None,
                 inferred=None):
        self.batch, self.paired = batch, paired
        self.estimate, self.error_neurons, self.interneurons = estimate, error, activity
        self.offset, self.variance, self.gain = offset, variance, gain
        self.estimate_rate, self.error_rate = estimate_rate, error_rate
        self.traces = traces or {}
        self.free, self.hold, self.inferred = free, hold, inferred

    @classmethod
    def from_arrays(cls, batch: Batch, arrays: dict, paired: bool) -> "ColumnState":
        """The state over the live ``arrays`` of :meth:`Column.state_variables` (fields, and
        "trace:population.variable" entries)."""
        arrays = dict(arrays)
        traces = {key.split(":", 1)[1]: arrays.pop(key) for key in list(arrays) if key.startswith("trace:")}
        return cls(batch, paired=paired, traces=traces, **arrays)

    @property
    def error(self) -> np.ndarray:
        return self.batch.difference(self.rates(self.error_neurons)) if self.paired else self.error_neurons

    @property
    def activity(self) -> np.ndarray | None:
        if self.interneurons is None or not self.paired:
            return self.interneurons
        return self.batch.difference(self.rates(self.interneurons))

    def set_error(self, values) -> None:
        """Put the error neurons in the state that carries the signed ε ``values`` (B × error_size,):
        the neurons themselves, or each pair at its mirrored membranes v+ = ε, v− = −ε (the state
        the pair equations keep, whose rates' difference [v+]+ − [v−]+ is ε)."""
        if not self.paired:
            self.error_neurons[:] = values
            return
        pairs = self.batch.pairs(self.error_neurons)
        signed = np.reshape(values, pairs[..., 0, :].shape)
        pairs[..., 0, :], pairs[..., 1, :] = signed, -signed

    @staticmethod
    def rates(membranes: np.ndarray) -> np.ndarray:
        """The rates [v]+ of paired neurons with membranes v (a new array)."""
        return np.maximum(membranes, 0.0)

    def tile(self, values) -> np.ndarray:
        """Per-unit ``values`` (…, error_size) for every error neuron of every copy (both
        neurons of a pair get the same value)."""
        values = np.asarray(values, dtype=float)
        return self.batch.tile(np.concatenate([values, values], axis=-1) if self.paired else values)

    def units(self, values: np.ndarray) -> np.ndarray:
        """A per-error-neuron parameter (…, B × error neurons) per unit (…, B × error_size):
        the value of the positive neuron of each pair (a new array when paired)."""
        if not self.paired:
            return values
        return self.batch.pairs(values)[..., 0, :].reshape(*values.shape[:-1], values.shape[-1] // 2)


class Column:
    """Paired estimate and error populations of one level, with their covariance Σ.

    Created by :meth:`circuits.Circuit.sensory` (level 0, μ clamped to the stimulus) or
    :meth:`circuits.Circuit.column` (a latent level). The Brian2 groups exist once the circuit
    is built (at the first run, or when :attr:`estimate` / :attr:`error` is first read); the
    live values of its neurons are then :attr:`state`.

    Attributes
    ----------
    name : str
    size : int
        Number of estimate neurons: order × state_size.
    state_size : int
        Number of hidden-state (or input) dimensions; equals ``size`` for order 1.
    error_size : int
        Number of error neurons: ``size``, or (order − 1) × state_size with ``dynamics``.
    order : int
        Embedding order n in generalized coordinates (1: plain estimates; see
        :mod:`circuits.generalized`). Neurons are stacked order-major: μ̃ = (μ, μ′, …).
    smoothness : float or None
        s (seconds) of the generalized fluctuations, when order > 1.
    dynamics : ndarray (state_size, state_size) or None
        A of the hidden-state flow x′ = A x (latent columns of order ≥ 2): the column's errors
        compare D μ̃ with (I ⊗ A) μ̃ instead of μ̃ with a prediction from above.
    flat_prior : bool
        No Gaussian prior (an improper flat one): the column has no error of its own; its
        estimates are driven by the errors of the columns it predicts (and a sparse prior's
        gradient) alone (top columns only).
    prior : {"gaussian", "laplace", "cauchy"}
        The prior on the estimates (:mod:`populations.priors`): the Gaussian N(g, Σ) alone, or
        times the sparse factor Π_i exp(−α φ(μ_i)), which adds α Σ_i φ(μ_i) to F.
    sparsity : float
        α of a sparse prior (0 for the Gaussian prior).
    clamped : bool
        Whether the estimates are held (:meth:`clamp`) instead of following their drive;
        always True for a sensory column.
    held : bool
        Whether the column's predictions are fixed (:meth:`hold`).
    state_covariance : ndarray, shape (state_size, state_size)
        Σ as given (the same live array as ``covariance`` for order 1).
    covariance : ndarray, shape (error_size, error_size)
        Σ̃ of the error neurons, symmetric positive definite: Σ for order 1 (the live array: it
        changes when Σ is learned), S(s) ⊗ Σ in generalized coordinates. Its diagonal is the
        error neurons' self-inhibition, its off-diagonal part their lateral connections (or,
        when learned, the synapses onto the interneurons).
    estimate_map : ndarray (error_size, size) or None
        What the error neurons receive from the estimates: μ̃ itself (None) or, with
        ``dynamics``, (D ⊗ I − I ⊗ A) μ̃ without its top order.
    prior_mean : ndarray, shape (size,)
        m, the prior mean of a top column (0 unless given; higher orders 0); also where the
        estimates start.
    sensory : bool
        True for a sensory column, whose estimates are clamped to the stimulus.
    learn_covariance : bool
        Whether Σ is learned through interneurons (ΔΣ = α (sym(ε aᵀ) − I)).
    covariance_learning_rate : float
        α of that rule (per item end; per τ_μ in continuous learning).
    min_variance : float
        Floor on Σ's eigenvalues after each update, which keeps Σ positive definite.
    flow : None, "autoregressive", "symmetric" or "surround"
        Lateral inhibition (sensory columns only). As an affine normalizing flow, the error
        neurons settle at u = B⁻¹(x − m) with B lower-triangular (Cholesky, autoregressive
        order: u_i = (x_i − α_i(x_<i))/β_i) or symmetric (ZCA), Σ = B Bᵀ. As a centre-surround
        predictor (Srinivasan, Laughlin & Dubs 1982), u = x − m − W x with W non-zero only
        between neighbours within ``flow_radius`` (``flow_matrix`` is then W), neighbours along
        the column's units or, with ``flow_grid = (height, width)``, on an image grid.
    flow_matrix : ndarray (size, size) or None
        B of a flow, or W of the surround (live: changes when learned).
    learn_flow, flow_learning_rate : bool, float
        Learn B (or W) with a local rule (see :mod:`circuits.learning`) at rate α.
    attention : ndarray (error_size,) or TimedArray
        The precision gain γ set by :meth:`Circuit.attend` (ones: no attention).
    lateral : ndarray (error_size, error_size) or None
        The weights of the lateral synapses among the error neurons, Σ' − diag Σ' for the
        current constant gain (B − diag B for a flow, W for the surround); None when there are
        none (a diagonal Σ, or interneurons).
    upward, downward : list of Projection
        Projections to the columns this column predicts, and from the columns predicting it.
    errors : "signed" or "rectified"
        Signed error neurons, or ε+/ε− pairs with non-negative rates whose difference obeys
        the signed equation exactly (see :mod:`populations.error`); the estimates stay signed.
    spiking : circuits.spiking.Spiking or None
        The spiking populations of a spiking circuit (N Poisson neurons per unit, see
        :mod:`circuits.spiking`); None for rate neurons.
    state : ColumnState or None
        The live values of the neurons, once an engine has built the circuit.
    """

    def __init__(self, graph, name: str, size: int, covariance: np.ndarray, prior_mean: np.ndarray,
                 sensory: bool, learn_covariance=False, covariance_learning_rate=0.0, min_variance=1e-3,
                 order=1, smoothness=None, dynamics=None, flat_prior=False, flow=None, learn_flow=False,
                 flow_learning_rate=0.0, flow_radius=4.0, flow_grid=None, errors="signed", spiking=None,
                 prior="gaussian", sparsity=0.0):
        self._graph = graph
        self.errors = errors
        self.spiking = spiking
        self.name = name
        self.state_size = size
        self.order = order
        self.smoothness = smoothness
        self.dynamics = dynamics
        self.flat_prior = flat_prior
        self.prior = prior
        self.sparsity = sparsity
        self.size = order * size
        self.state_covariance = covariance
        self.estimate_map = None
        if order == 1:
            self.covariance = covariance
        elif dynamics is None:
            self.covariance = np.kron(temporal_covariance(order, smoothness), covariance)
        else:
            self.covariance = np.kron(temporal_covariance(order - 1, smoothness), covariance)
            below_top = np.eye(order - 1, order)   # orders 0 … n − 2
            self.estimate_map = (np.kron(below_top @ shift_operator(order), np.eye(size))
                                 - np.kron(below_top, dynamics))
        self.error_size = len(self.covariance)
        self.prior_mean = self.expand(prior_mean)
        self.sensory = sensory
        self.clamped = sensory
        self.held = False
        self._clamp_values = None   # batch-major values to clamp or hold at when the state is bound
        self.learn_covariance = learn_covariance
        self.covariance_learning_rate = covariance_learning_rate
        self.min_variance = min_variance
        self.flow = flow
        self.learn_flow = learn_flow
        self.flow_learning_rate = flow_learning_rate
        self.flow_radius = flow_radius
        self.flow_grid = flow_grid
        self.surround_mask = _surround_mask(size, flow_radius, flow_grid) if flow == "surround" else None
        self.flow_matrix = _flow_matrix(covariance, flow) if flow else None
        self.downward = []   # projections whose lower column is this one
        self.upward = []     # projections whose upper column is this one
        self.attention = np.ones(self.error_size)
        self.lateral = self._lateral_weights()
        self.state: ColumnState | None = None
        self._groups: dict[str, NeuronGroup] = {}

    # -- Brian2 populations -------------------------------------------------------------------
    def _group(self, population: str) -> NeuronGroup | None:
        if not self._groups and self._graph.on_demand is not None:
            self._graph.on_demand()
        return self._groups.get(population)

    @property
    def estimate(self) -> NeuronGroup:
        """The estimate neurons μ (a Brian2 NeuronGroup; builds the circuit if needed)."""
        return self._group("estimate")

    @property
    def error(self) -> NeuronGroup:
        """The error neurons ε (a Brian2 NeuronGroup; builds the circuit if needed)."""
        return self._group("error")

    @property
    def interneuron(self) -> NeuronGroup | None:
        """The interneurons a of a covariance-learning column (None otherwise)."""
        return self._group("interneuron")

    def spikes(self, population: str) -> NeuronGroup:
        """The Poisson population of a spiking column, ``"estimate"`` or ``"error"`` (N neurons
        per unit, unit-major: neuron u·N + k belongs to unit u of the unit group)."""
        if self.spiking is None:
            raise ValueError(f"column {self.name!r} has rate neurons; spiking populations exist in "
                             f"Circuit(neurons='spiking') circuits")
        if population not in ("estimate", "error"):
            raise ValueError(f"population must be 'estimate' or 'error', got {population!r}")
        return self._group(f"{population}_spikes")

    @property
    def rectified(self) -> bool:
        """Whether the error neurons are ε+/ε− pairs (``errors="rectified"``)."""
        return self.errors == "rectified"

    @property
    def error_group_size(self) -> int:
        """Error neurons per copy: error_size, or 2 × error_size for ε+/ε− pairs."""
        return self.error_size * (2 if self.rectified else 1)

    @property
    def paired_groups(self) -> set[str]:
        """Brian2 names of the column's groups that hold ε+/ε− (a+/a−) pairs."""
        if not self.rectified:
            return set()
        return {self.group_name("error")} | ({self.group_name("interneuron")} if self.learn_covariance else set())

    def group_name(self, population: str) -> str:
        """The Brian2 name of one of the column's groups ("estimate", "error", "interneuron")."""
        return f"{self.name}_{population}"

    def build_groups(self, clock, timing, batch: Batch, codeobj_class=None) -> dict[str, NeuronGroup]:
        """The column's Brian2 NeuronGroups for ``batch`` copies, by population, with their
        time constants set (called once by an engine; see :meth:`bind`): "estimate", "error",
        "interneuron" (learned Σ) and, in a spiking circuit, the Poisson populations
        "estimate_spikes" and "error_spikes"."""
        spiking = self.spiking is not None
        estimate_model = self._estimate_model(spiking)
        options = dict(method="euler", clock=clock, codeobj_class=codeobj_class)
        error_model = self._error_model(spiking)
        groups = {"estimate": NeuronGroup(self.size * batch.copies, estimate_model,
                                          name=self.group_name("estimate"), **options),
                  "error": NeuronGroup(self.error_group_size * batch.copies, error_model,
                                       name=self.group_name("error"), **options)}
        if self.learn_covariance:
            groups["interneuron"] = NeuronGroup(self.error_group_size * batch.copies,
                                                interneuron_equations(self.rectified),
                                                name=self.group_name("interneuron"), **options)
            groups["interneuron"].tau_error = timing.tau_error
        if self.rectified:
            signs = batch.tile(np.repeat([1.0, -1.0], self.error_size))
            for population in ("error", "interneuron"):
                if population in groups:
                    groups[population].polarity = signs
        if not self.sensory:
            groups["estimate"].tau_estimate = timing.tau_estimate
        if self.prior != "gaussian":
            groups["estimate"].sparsity = self.sparsity
        groups["error"].tau_error = timing.tau_error
        if spiking:
            for population in ("estimate", "error"):
                groups[f"{population}_spikes"] = self.spiking.population(
                    groups[population], population, self.group_name(f"{population}_spikes"), clock, codeobj_class)
        return groups

    def _estimate_model(self, spiking: bool) -> str:
        if self.sensory:
            return sensory_equations(spiking)
        return estimate_equations({p.lower.name: p.activation for p in self.upward}, moving=self.generalized,
                                  spiking=spiking, prior=self.prior)

    def _error_model(self, spiking: bool) -> str:
        return error_equations([p.upper.name for p in self.downward], self.inhibition, self.rectified, spiking)

    def bind(self, groups: dict[str, NeuronGroup], state: ColumnState):
        """Attach the groups and live state an engine built for this column, and write the
        column's parameters (prediction offset, self-inhibition, gains) into the state."""
        self._groups, self.state = groups, state
        if state.offset is not None:
            state.offset[:] = state.tile(self.offset)
        if state.variance is not None:
            inhibiting = self.covariance if self.flow in (None, "surround") else self.flow_matrix
            state.variance[:] = state.tile(np.diag(inhibiting))
        if state.gain is not None:
            state.gain[:] = 1.0
        self.initial_state()
        if not self.sensory:
            state.free[:] = 0.0 if self.clamped or self.held else 1.0
            state.hold[:] = 1.0 if self.held else 0.0
            state.estimate[:] = (state.batch.tile(self.prior_mean) if self._clamp_values is None
                                 else self._clamp_values)
            state.inferred[:] = state.estimate
            self._clamp_values = None

    def state_variables(self) -> dict[str, tuple[str, str]]:
        """Which group variable holds each field of :class:`ColumnState`:
        {field: (population, variable)}."""
        variables = {"estimate": ("estimate", "mu"), "error": ("error", MEMBRANE if self.rectified else "eps")}
        if self.learn_covariance:
            variables["activity"] = ("interneuron", MEMBRANE if self.rectified else "activity")
        else:
            variables.update(variance=("error", "variance"), gain=("error", "gain"))
        if self.estimate_map is None:
            variables["offset"] = ("error", "prediction_offset")
        if self.spiking is not None:
            variables.update(estimate_rate=("estimate", "readout"), error_rate=("error", "readout"))
            for population in ("estimate", "error"):
                model = self._error_model(True) if population == "error" else self._estimate_model(True)
                for variable in sorted(_traces(model)):
                    variables[f"trace:{population}.{variable}"] = (population, variable)
        if not self.sensory:
            variables.update(free=("estimate", "free"), hold=("estimate", "hold"), inferred=("estimate", "inferred"))
        return variables

    def couplings(self) -> list[Coupling]:
        """One-to-one links between the paired neurons, and Σ ε (lateral or via interneurons)."""
        estimate, error, interneuron = (self.group_name(p) for p in ("estimate", "error", "interneuron"))
        couplings = []
        if self.generalized and not self.sensory:   # the shift D μ̃: motion along the path
            couplings.append(Coupling(f"{self.name}_motion", estimate, "mu", estimate, "motion",
                                      np.kron(shift_operator(self.order), np.eye(self.state_size))))
        if self.flat_prior:   # no error of its own
            return couplings
        # with fixed predictions the errors compare the value inferred meanwhile (see hold())
        couplings.append(Coupling(f"{self.name}_estimate_to_error", estimate, "inferred" if self.held else "mu",
                                  error, "estimate", self.estimate_map))
        if not self.sensory:
            feedback = None if self.estimate_map is None else self.estimate_map.T.copy()
            couplings.append(Coupling(f"{self.name}_error_to_estimate", error, "eps", estimate, "error", feedback))
        if self.rectified:   # each neuron of a pair reads e = ε+ − ε−
            couplings.append(Coupling(f"{self.name}_pair", error, "eps", error, "pair", None))
        if self.learn_covariance:
            couplings += [Coupling(f"{self.name}_error_to_interneuron", error, "eps", interneuron, "drive",
                                   self.covariance),
                          Coupling(f"{self.name}_interneuron_to_error", interneuron, "activity", error,
                                   "inhibition", None)]
        elif self.flow == "surround":   # feed-forward: the neighbours' inputs predict the centre
            couplings.append(Coupling(f"{self.name}_surround", estimate, "mu", error, "lateral", self.lateral))
        elif self.lateral is not None:
            couplings.append(Coupling(f"{self.name}_lateral", error, "eps", error, "lateral", self.lateral))
        return couplings

    # -- parameters ----------------------------------------------------------------------------
    def expand(self, vector: np.ndarray) -> np.ndarray:
        """A state-level vector (state_size,) as a generalized one (size,): (v, 0, …, 0)."""
        return np.concatenate([vector, np.zeros(self.size - self.state_size)])

    @property
    def generalized(self) -> bool:
        """Whether the column carries generalized coordinates (order > 1)."""
        return self.order > 1

    @property
    def learns(self) -> bool:
        """Whether Σ (through interneurons) or the lateral-inhibition flow is learned."""
        return self.learn_covariance or self.learn_flow

    @property
    def precision(self) -> np.ndarray:
        """Π = Σ⁻¹ (computed from the current Σ)."""
        return np.linalg.inv(self.covariance)

    @property
    def lateral_covariance(self) -> np.ndarray:
        """Σ − diag Σ, the weights of the lateral connections among error neurons."""
        return self.covariance - np.diag(np.diag(self.covariance))

    def attended_covariance(self, gain=None) -> np.ndarray:
        """Σ' = D⁻¹ Σ D⁻¹ with D = diag(√γ), for the constant gain γ (default: the current one)."""
        gain = self.attention if gain is None else gain
        scale = 1 / np.sqrt(gain)
        return self.covariance * np.outer(scale, scale)

    @property
    def offset(self) -> np.ndarray:
        """The constant part of the prediction: m plus the biases of incoming projections."""
        return self.prior_mean + sum((self.expand(p.bias) for p in self.downward), np.zeros(self.size))

    @property
    def inhibition(self) -> str:
        """How Σ ε reaches the error neurons: "self", "lateral" or "interneuron"."""
        if self.learn_covariance:
            return "interneuron"
        return "lateral" if self.flow or not is_diagonal(self.covariance) else "self"

    def _lateral_weights(self) -> np.ndarray | None:
        if self.learn_covariance:
            return None
        if self.flow == "surround":
            return self.flow_matrix
        if self.inhibition != "lateral":
            return None   # a diagonal Σ: self-inhibition only
        inhibiting = self.covariance if self.flow is None else self.flow_matrix
        return inhibiting - np.diag(np.diag(inhibiting))

    def attend(self, gain):
        """Attention as precision: scale the precision of the column's errors by ``gain`` γ.

        The attended precision is Π' = D Π D with D = diag(√γ) (Σ' = D⁻¹ Σ D⁻¹), so an attended
        error counts more in the free energy, drives the estimates harder and settles faster.
        ``gain``: a positive scalar or vector (error_size,), in force from the next run on, or a
        Brian2 TimedArray of shape (K, error_size) read at the time since the start of each run
        (attention that shifts during a run; columns with a diagonal Σ only). The attended Σ'
        must respect the same Euler bound as Σ (dt·λmax(Σ')/τ_ε < 1).
        """
        if self.learn_covariance or self.flow:
            raise ValueError(f"attend: column {self.name!r} learns its covariance through "
                             f"interneurons or is a whitening column; attention needs a plain Σ")
        if isinstance(gain, TimedArray):
            values = as_timed_array(gain, self.error_size, "attend: gain").values
            if self.inhibition == "lateral":
                raise ValueError(f"attend: column {self.name!r} has a non-diagonal covariance; change "
                                 f"its gain between runs (a scalar or vector gain), not with a TimedArray")
        else:
            values = gain = as_vector(gain, self.error_size, "gain")
        if np.any(np.asarray(values) <= 0):
            raise ValueError(f"attend: gain must be positive (a precision gain), got {values}")
        smallest = np.min(values, axis=0) if np.ndim(values) == 2 else values
        largest = (np.max(np.diagonal(self.covariance) / smallest) if is_diagonal(self.covariance)
                   else np.linalg.eigvalsh(self.attended_covariance(smallest)).max())
        self._graph.timing.check_variance(
            float(largest), f"attend: gain for column {self.name!r}",
            f"Σ' = Σ/γ is too large for gains as small as {np.min(values):.3g}: use larger gains")
        self.attention = gain

    # -- state ---------------------------------------------------------------------------------
    def apply_attention(self):
        """Write a constant gain γ into the error neurons and rescale the lateral synapses to
        Σ' − diag Σ' (a TimedArray gain is read by the engine during the run instead)."""
        if not isinstance(self.attention, np.ndarray) or self.flow or self.state.gain is None:
            return
        self.state.gain[:] = self.state.tile(self.attention)
        if self.lateral is not None:
            attended = self.attended_covariance()
            self.lateral[:] = attended - np.diag(np.diag(attended))

    def clamp(self, values: np.ndarray | None = None):
        """Hold the estimates (a latent column): μ stops following its drive and keeps the
        ``values`` given (batch-major (B × size,), already checked), or its current values
        (None; the prior mean before the circuit is built), until :meth:`release`. Its error
        neurons keep comparing μ with the prediction, and it keeps predicting the columns
        below: a clamped column is data, like a sensory one, and stimuli can set it."""
        if self.sensory:
            raise ValueError(f"clamp: {self.name!r} is a sensory column, always clamped to its stimulus")
        if self.held:
            raise ValueError(f"clamp: {self.name!r} has fixed predictions (hold); release it first")
        if self.spiking is not None:
            self.spiking.refuse(f"clamp({self.name!r})", clamped_estimates=True)
        self.clamped = True
        if self._pin(values):
            self.state.free[:] = 0.0

    def hold(self, values: np.ndarray | None = None):
        """Fix the column's predictions (the fixed-prediction assumption: Millidge, Tschantz &
        Buckley 2022; Rosenbaum 2022): μ stays at its current value (or at ``values``,
        batch-major (B × size,), already checked; the prior mean before the circuit is built)
        for everything the column sends — its predictions W f(μ) of the columns below (through
        every layer of a deep projection), the gain f'(μ) of the errors it receives, the
        presynaptic rate f(μ) of learning — while the value it infers, x (``state.inferred``),
        follows the same drive from there, and its error neurons compare x with its prediction:
        ε = Σ⁻¹(x − g). Needs the runtime engine and dense couplings (the error neurons' input is
        switched from μ to x). :meth:`release` ends it."""
        if self.sensory or self.clamped:
            raise ValueError(f"hold: {self.name!r} is {'sensory' if self.sensory else 'clamped'}; its "
                             f"predictions are fixed already")
        if self._graph.backend != "dense":
            raise ValueError("hold: fixed predictions switch the error neurons' input from μ to the "
                             "inferred value, which needs Circuit(backend='dense')")
        if self.spiking is not None:
            self.spiking.refuse(f"hold({self.name!r})", fixed_predictions=True)
        self.held = True
        if self._pin(values):
            self.state.free[:], self.state.hold[:] = 0.0, 1.0
            self.state.inferred[:] = self.state.estimate

    def _pin(self, values: np.ndarray | None) -> bool:
        """Keep the ``values`` of :meth:`clamp` or :meth:`hold` until the state is bound (False),
        or write them into μ now (True; None keeps μ)."""
        if self.state is None:
            self._clamp_values = values
            return False
        if values is not None:
            self.state.estimate[:] = values
        return True

    @property
    def pinned_values(self) -> np.ndarray | None:
        """The values (B × size,) a clamped or held latent column keeps μ at (a copy): its live
        estimates once the circuit is built, before that the values given to :meth:`clamp` or
        :meth:`hold` (None: the prior mean, or a column that is neither clamped nor held)."""
        if self.sensory or not (self.clamped or self.held):
            return None
        if self.state is not None:
            return self.state.estimate.copy()
        return None if self._clamp_values is None else self._clamp_values.copy()

    def release(self):
        """Let a clamped or held latent column's estimates follow their drive again, from where μ is."""
        if self.sensory:
            raise ValueError(f"release: {self.name!r} is a sensory column; its estimates are the stimulus "
                             f"(to infer them, make it a latent column with column() and clamp it)")
        self.clamped = self.held = False
        self._clamp_values = None
        if self.state is not None:
            self.state.free[:], self.state.hold[:] = 1.0, 0.0

    def reset_state(self, predicted: bool = False):
        """Estimates back to the prior mean (sensory and clamped ones keep their values), errors
        and interneurons to zero: what happens between the items of a sequence. ``predicted``:
        the estimates start at their prediction g = m + b + Σ_p W_p f(μ_p) from the columns
        above instead (the network's output h_K for a deep projection; reset those columns
        first; a column with dynamics starts at its prior mean)."""
        state = self.state
        if not (self.clamped or self.held):
            if predicted and state.offset is not None:
                rows = state.batch.rows
                start = (rows(state.units(state.offset))
                         + sum(p.prediction(rows(p.upper.state.estimate)) for p in self.downward))
                state.estimate[:] = np.ravel(start)
            else:
                state.estimate[:] = state.batch.tile(self.prior_mean)
        if self.held:
            state.inferred[:] = state.estimate
        state.error_neurons[:] = 0.0
        if state.interneurons is not None:
            state.interneurons[:] = 0.0
        for array in (state.estimate_rate, state.error_rate, *state.traces.values()):
            if array is not None:
                array[:] = 0.0

    def initial_state(self):
        """The state of :meth:`reset_state`, with the sensory estimates at 0 until the
        stimulus arrives (clamped latent columns keep their values)."""
        self.reset_state()
        if self.sensory:
            self.state.estimate[:] = 0.0

    # -- learning ------------------------------------------------------------------------------
    def learn(self, scale: float):
        """One update of the learned Σ or flow from the current state (see :mod:`circuits.learning`)."""
        if self.learn_covariance:
            update_covariance(self, scale, self._graph.timing)
        if self.learn_flow:
            update_flow(self, scale, self._graph.timing)

    def __repr__(self):
        kind = "sensory" if self.sensory else "latent"
        return f"Column({self.name!r}, size={self.size}, {kind})"


def _traces(model: str) -> set[str]:
    """The synaptic traces of a spiking unit group's equations: its differential equations
    other than the rate variable itself and the read-out."""
    return set(Equations(model).diff_eq_names) - {"mu", "inferred", "eps", MEMBRANE, "readout"}


def _flow_matrix(covariance: np.ndarray, flow: str) -> np.ndarray:
    """B with B Bᵀ = Σ: the Cholesky factor (autoregressive) or the symmetric square root (ZCA);
    for the surround, W = 0 (no inhibition until learned)."""
    if flow == "surround":
        return np.zeros_like(covariance)
    if flow == "autoregressive":
        return np.linalg.cholesky(covariance)
    values, vectors = np.linalg.eigh(covariance)
    return (vectors * np.sqrt(values)) @ vectors.T


def _surround_mask(size: int, radius: float, grid) -> np.ndarray:
    """Where a surround W may be non-zero: units at distance 0 < d ≤ radius, along the units
    (d = |i − j|) or on a (height, width) grid (Euclidean distance between pixels)."""
    if grid is None:
        coordinates = np.arange(size)[:, None].astype(float)
    else:
        rows, columns = np.divmod(np.arange(size), grid[1])
        coordinates = np.stack([rows, columns], axis=1).astype(float)
    distance = np.sqrt(((coordinates[:, None, :] - coordinates[None, :, :]) ** 2).sum(-1))
    return (distance > 0) & (distance <= radius)
