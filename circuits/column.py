"""A cortical column: paired estimate (μ) and error (ε) neurons for one level of the hierarchy."""
from __future__ import annotations

import numpy as np
from brian2 import NeuronGroup

from populations import error_equations, estimate_equations, interneuron_equations, sensory_equations

from .generalized import shift_operator, temporal_covariance
from .projection import Coupling
from .validation import is_diagonal

__all__ = ["Column"]


class Column:
    """Paired estimate and error populations of one level, with their covariance Σ.

    Created by :meth:`circuits.Circuit.sensory` (level 0, μ clamped to the stimulus) or
    :meth:`circuits.Circuit.column` (a latent level). The Brian2 groups exist once the circuit
    is built (at the first run, or when :attr:`estimate` / :attr:`error` is first read).

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
        No prior (an improper flat one): the column has no error of its own; its estimates are
        driven by the errors of the columns it predicts alone (top columns only).
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
    learn_flow, flow_learning_rate : bool, float
        Learn B (or W) with a local rule (see :mod:`circuits.learning`) at rate α.
    attention : ndarray (error_size,) or TimedArray
        The precision gain γ set by :meth:`Circuit.attend` (ones: no attention).
    upward, downward : list of Projection
        Projections to the columns this column predicts, and from the columns predicting it.
    """

    def __init__(self, circuit, name: str, size: int, covariance: np.ndarray, prior_mean: np.ndarray,
                 sensory: bool, learn_covariance=False, covariance_learning_rate=0.0, min_variance=1e-3,
                 flow=None, learn_flow=False, flow_learning_rate=0.0, flow_radius=4, flow_grid=None,
                 order=1, smoothness=None, dynamics=None, flat_prior=False):
        self._circuit = circuit
        self.name = name
        self.state_size = size
        self.order = order
        self.smoothness = smoothness
        self.dynamics = dynamics
        self.flat_prior = flat_prior
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
        self.learn_covariance = learn_covariance
        self.covariance_learning_rate = covariance_learning_rate
        self.min_variance = min_variance
        self.flow = flow
        self.learn_flow = learn_flow
        self.flow_learning_rate = flow_learning_rate
        self.flow_radius = flow_radius
        self.flow_grid = flow_grid
        self.surround_mask = _surround_mask(size, flow_radius, flow_grid) if flow == "surround" else None
        self.flow_matrix = _flow_matrix(covariance, flow) if flow else None   # B or W (live)
        self.downward = []   # projections whose lower column is this one
        self.upward = []     # projections whose upper column is this one
        self.attention = np.ones(self.error_size)   # precision gain γ: a vector, or a TimedArray (K, size)
        self._lateral = None             # (Σ' − diag Σ') of the lateral synapses, once built
        self._estimate: NeuronGroup | None = None
        self._error: NeuronGroup | None = None
        self._interneuron: NeuronGroup | None = None

    # -- Brian2 populations -------------------------------------------------------------------
    @property
    def estimate(self) -> NeuronGroup:
        """The estimate neurons μ (a Brian2 NeuronGroup; builds the circuit if needed)."""
        self._circuit.build()
        return self._estimate

    @property
    def error(self) -> NeuronGroup:
        """The error neurons ε (a Brian2 NeuronGroup; builds the circuit if needed)."""
        self._circuit.build()
        return self._error

    @property
    def interneuron(self) -> NeuronGroup | None:
        """The interneurons a of a covariance-learning column (None otherwise)."""
        self._circuit.build()
        return self._interneuron

    @property
    def batch(self) -> int:
        """How many copies of the column the circuit simulates at once (its ``batch_size``, or 1)."""
        return self._circuit.batch_size or 1

    def _tile(self, values) -> np.ndarray:
        """Per-neuron ``values`` repeated for every copy of the batch (batch-major)."""
        return np.tile(values, self.batch)

    def expand(self, vector: np.ndarray) -> np.ndarray:
        """A state-level vector (state_size,) as a generalized one (size,): (v, 0, …, 0)."""
        return np.concatenate([vector, np.zeros(self.size - self.state_size)])

    @property
    def generalized(self) -> bool:
        """Whether the column carries generalized coordinates (order > 1)."""
        return self.order > 1

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

    def _build_groups(self, clock, codeobj_class, method: str):
        """Create the NeuronGroups (called once by the circuit)."""
        if self.sensory:
            estimate_model = sensory_equations()
        else:
            estimate_model = estimate_equations({p.lower.name: p.activation for p in self.upward},
                                                moving=self.generalized)
        self._estimate = NeuronGroup(self.size * self.batch, estimate_model, method=method,
                                     name=f"{self.name}_estimate", clock=clock, codeobj_class=codeobj_class)
        self._error = NeuronGroup(self.error_size * self.batch, error_equations([p.upper.name for p in self.downward],
                                                             self.inhibition),
                                  method=method, name=f"{self.name}_error", clock=clock,
                                  codeobj_class=codeobj_class)
        if self.estimate_map is None:
            self._error.prediction_offset = self._tile(self.offset)
        if self.learn_covariance:
            self._interneuron = NeuronGroup(self.size * self.batch, interneuron_equations(), method=method,
                                            name=f"{self.name}_interneuron", clock=clock,
                                            codeobj_class=codeobj_class)
        else:
            inhibiting = self.covariance if self.flow in (None, "surround") else self.flow_matrix
            self._error.variance = self._tile(np.diag(inhibiting))
            self._error.gain = 1.0
            if self.flow == "surround":
                self._lateral = self.flow_matrix
            elif self.inhibition == "lateral":
                self._lateral = inhibiting - np.diag(np.diag(inhibiting))
            # (a diagonal Σ has no lateral synapses: _lateral stays None)

    def _groups(self) -> list[NeuronGroup]:
        return [g for g in (self._estimate, self._error, self._interneuron) if g is not None]

    def _set_initial_state(self, tau_estimate, tau_error):
        """The state of :meth:`_reset_state`, sensory estimates at 0 until the stimulus arrives,
        and the time constants."""
        self._reset_state()
        if self.sensory:
            self._estimate.mu = 0.0
        else:
            self._estimate.tau_estimate = tau_estimate
        self._error.tau_error = tau_error
        if self._interneuron is not None:
            self._interneuron.tau_error = tau_error

    def _apply_attention(self):
        """Write a constant gain γ into the error neurons and rescale the lateral synapses to
        Σ' − diag Σ' (a TimedArray gain is read by the column's attention clamp instead)."""
        if not isinstance(self.attention, np.ndarray) or self.flow:
            return
        self._error.variables["gain"].get_value()[:] = self._tile(self.attention)
        self._attend_lateral()

    def _attend_lateral(self):
        """The lateral synapses carry Σ' − diag Σ' for the current constant gain."""
        if self._lateral is not None and isinstance(self.attention, np.ndarray) and not self.flow:
            attended = self.attended_covariance()
            self._lateral[:] = attended - np.diag(np.diag(attended))

    def _reset_state(self):
        """Estimates back to the prior mean (sensory ones keep the stimulus), errors and
        interneurons to zero: what happens between the items of a sequence."""
        if not self.sensory:
            self._estimate.variables["mu"].get_value()[:] = self._tile(self.prior_mean)
        self._error.variables["eps"].get_value()[:] = 0.0
        if self._interneuron is not None:
            self._interneuron.variables["activity"].get_value()[:] = 0.0

    def _couplings(self) -> list[Coupling]:
        """One-to-one links between the paired neurons, and Σ ε (lateral or via interneurons)."""
        couplings = []
        if self.generalized and not self.sensory:   # the shift D μ̃: motion along the path
            couplings.append(Coupling(f"{self.name}_motion", self._estimate, "mu", self._estimate,
                                      "motion", np.kron(shift_operator(self.order), np.eye(self.state_size))))
        if self.flat_prior:   # no error of its own
            return couplings
        couplings.append(Coupling(f"{self.name}_estimate_to_error", self._estimate, "mu",
                                  self._error, "estimate", self.estimate_map))
        if not self.sensory:
            feedback = None if self.estimate_map is None else self.estimate_map.T.copy()
            couplings.append(Coupling(f"{self.name}_error_to_estimate", self._error, "eps",
                                      self._estimate, "error", feedback))
        if self.learn_covariance:
            couplings += [
                Coupling(f"{self.name}_error_to_interneuron", self._error, "eps", self._interneuron,
                         "drive", self.covariance),
                Coupling(f"{self.name}_interneuron_to_error", self._interneuron, "activity",
                         self._error, "inhibition", None)]
        elif self.flow == "surround":   # feed-forward: the neighbours' inputs predict the centre
            couplings.append(Coupling(f"{self.name}_surround", self._estimate, "mu", self._error,
                                      "lateral", self._lateral))
        elif self.inhibition == "lateral":
            couplings.append(Coupling(f"{self.name}_lateral", self._error, "eps", self._error,
                                      "lateral", self._lateral))
        return couplings

    def __repr__(self):
        kind = "sensory" if self.sensory else "latent"
        return f"Column({self.name!r}, size={self.size}, {kind})"


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
