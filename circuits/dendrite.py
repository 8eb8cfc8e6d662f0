"""Deep networks inside neurons: the dendritic pathway of a projection or an encoder.

A :class:`Dendrite` of K layers maps its input s (the upper column's μ, or an encoder's x)
through K weight matrices::

    h_1 = V_1 f_1(s) + c_1,    h_k = V_k f_k(h_k−1) + c_k    (k = 2 … K),    output h_K

One layer (K = 1) is today's projection W f(μ) + b. The hidden layers h_1 … h_K−1 are
**dendritic compartments** (:mod:`populations.dendrite`): Brian2 groups of the predicting
pathway with no error neurons of their own. Biologically they are the branches of a
pyramidal neuron, each summing its synapses and passing a nonlinear function on — a neuron
as a multi-layer network (Häusser & Mel 2003; Poirazi, Brannon & Mel 2003; Larkum 2013).
The output's bias c_K lives with the target (the lower column's prediction offset, the
proposal neurons' bias), so the last coupling delivers V_K f_K(h_K−1).

**Errors backpropagate through the compartments** (the projection's bottom-up path): with
ε the lower column's error,

    δ_K = ε,    δ_k = f'_k+1(h_k) ⊙ V_k+1ᵀ δ_k+1,    soma: f'_1(μ) ⊙ V_1ᵀ δ_1 = Jᵀ ε

(J = ∂g/∂μ), the seed's ∇_μ log p = Jᵀ ε_x − ε_1. δ is a signal travelling back through
the neuron's own dendrites, as back-propagating action potentials and dendritic spikes do
(Stuart & Sakmann 1994; Larkum 2013), or as the apical error signals of Guerguiev, Lillicrap
& Richards (2017) and Sacramento et al. (2018); Marino (2022, §5) asks for exactly this: "if
a deep network is analogous to an individual neuron, then backprop-like mechanisms may occur
within neurons".

**Within a step** the compartments compute the whole forward pass h_1 … h_K−1 and then the
whole backward pass δ_K−1 … δ_1 from the state at the start of the step (couplings with
``order`` < 0, :mod:`circuits.coupling`); then every estimate and error neuron takes its
Euler step. Compartments have no time constant of their own (dendritic integration is fast
compared with τ_μ), so the circuit is exactly the forward-Euler discretisation of the gradient
flow of F, with the same fixed points: the settled estimates are the MAP of F.

**Learning within the neuron** (:meth:`Dendrite.learn`), local to each layer::

    ΔV_k = α (δ_k f_k(h_k−1)ᵀ − λ V_k),    Δc_k = α δ_k

For ``credit="backprop"`` δ_k is the backpropagated signal above and ΔV_k = −α ∂F/∂V_k, the
exact gradient (at the state the rule reads). The other ways to assign credit to the hidden
layers avoid transporting V_k+1ᵀ into the backward path:

``"feedback-alignment"``  δ_k = f'_k+1(h_k) ⊙ B_k+1 δ_k+1 with fixed random B_k+1 (Lillicrap
                          et al. 2016);
``"target-prop"``         difference target propagation (Bengio 2014; Lee et al. 2015): each
                          layer above the first has a learned approximate inverse
                          g_k(h_k) = Q_k r_k(h_k) + d_k ≈ h_k−1 (r_k = f_k+1, the identity for
                          the output), the output's target is t_K = h_K + β δ_K, lower targets
                          t_k = h_k + g_k+1(t_k+1) − g_k+1(h_k+1), and each layer learns towards
                          its target with δ_k = (t_k − h_k)/β. The inverses learn by local
                          denoising reconstruction: h̃_k−1 = h_k−1 + σ ξ, h̃_k its forward image,
                          ΔQ_k = α_g (h̃_k−1 − g_k(h̃_k)) r_k(h̃_k)ᵀ, Δd_k = α_g (h̃_k−1 − g_k(h̃_k)).

The credit rule changes only how the hidden layers learn; inference always follows the exact
gradient (the compartments carry the backpropagated δ), so the settled state is the MAP of
F for every rule.
"""
from __future__ import annotations

import numpy as np
from brian2 import NeuronGroup

from populations import Activation, compartment_equations

from .batch import Batch
from .coupling import Coupling

__all__ = ["CREDIT", "Dendrite", "DendriteState", "layer_rates"]

#: How the hidden layers of a deep pathway get their learning signal: exact backpropagation
#: within the neuron, fixed random feedback weights, or targets from learned inverses.
CREDIT = ("backprop",             # exact: δ_k = f'(h_k) ⊙ V_k+1ᵀ δ_k+1
          "feedback-alignment",   # δ_k = f'(h_k) ⊙ B_k+1 δ_k+1, B fixed random
          "target-prop")          # δ_k = (t_k − h_k)/β from learned inverses


class DendriteState:
    """The live values of a dendrite's compartments inside an engine, batch-major.

    Attributes
    ----------
    batch : Batch
    biases : list of ndarray (B × H_k,)
        c_k in the compartments of hidden layers k = 1 … K−1 (given as fields ``bias_k``).
    """

    def __init__(self, batch: Batch, **fields):
        self.batch = batch
        self.biases = [fields[f"bias_{k}"] for k in range(1, len(fields) + 1)]


class Dendrite:
    """A K-layer pathway s → h_1 → … → h_K (see the module docstring).

    Parameters and attributes
    -------------------------
    name : str
        Prefix of the compartments' Brian2 names.
    weights : list of ndarray
        V_1 (H_1 × input) … V_K (output × H_K−1), the live arrays (learning changes them).
    activations : list of Activation
        f_1 … f_K (f_1 applies to the input s, f_k to h_k−1).
    biases : list of ndarray
        c_1 … c_K (live; c_K is applied by the target).
    backward : bool
        Whether the compartments carry δ back (a projection's); an encoder's compute forward only.
    credit : one of CREDIT
    alignment_weights : list of ndarray or None
        B_2 … B_K (H_k−1 × H_k, shaped like V_kᵀ), fixed random, for feedback alignment.
    inverse_weights, inverse_biases : lists of ndarray or None
        Q_2 … Q_K (H_k−1 × H_k) and d_2 … d_K of target propagation's inverses (live).
    target_step : float
        β of target propagation.
    inverse_learning_rates : list of float
        α_g of each inverse g_2 … g_K (their denoising reconstruction).
    inverse_noise : float
        σ of that reconstruction.
    state : DendriteState or None
        Live values of the compartments, once an engine has built the circuit.
    """

    def __init__(self, name: str, weights: list, activations: list, biases: list, backward: bool = True,
                 credit: str = "backprop", alignment_weights: list | None = None, inverses: tuple | None = None,
                 target_step: float = 1.0, inverse_learning_rates: list | None = None, inverse_noise: float = 0.1,
                 seed=None):
        self.name = name
        self.weights, self.activations, self.biases = weights, activations, biases
        self.backward, self.credit, self.alignment_weights = backward, credit, alignment_weights
        self.inverse_weights, self.inverse_biases = inverses if inverses is not None else (None, None)
        self.target_step = target_step
        self.inverse_learning_rates, self.inverse_noise = inverse_learning_rates, inverse_noise
        self._noise = np.random.default_rng(seed)
        self.state: DendriteState | None = None
        self._groups: dict[str, NeuronGroup] = {}

    @property
    def layers(self) -> int:
        """K, the number of weight matrices."""
        return len(self.weights)

    @property
    def hidden_sizes(self) -> list[int]:
        """H_1 … H_K−1, the sizes of the compartments."""
        return [len(v) for v in self.weights[:-1]]

    @property
    def linear(self) -> bool:
        """Whether every activation is the identity (the pathway is affine)."""
        return all(f.is_identity for f in self.activations)

    # -- the maths (NumPy, over rows: arrays (..., n)) ----------------------------------------
    def forward(self, source: np.ndarray) -> tuple[list, np.ndarray]:
        """(hidden, drive): the compartments' potentials [h_1 … h_K−1] and the output's
        synaptic drive V_K f_K(h_K−1) (without c_K), for inputs ``source`` (..., input)."""
        hidden, previous = [], np.asarray(source, dtype=float)
        for weights, activation, bias in zip(self.weights[:-1], self.activations, self.biases):
            previous = activation.rate_numpy(previous) @ weights.T + bias
            hidden.append(previous)
        return hidden, self.activations[-1].rate_numpy(previous) @ self.weights[-1].T

    def jacobian(self, source: np.ndarray) -> np.ndarray:
        """∂(output)/∂s at an input ``source`` (input,), shape (output, input), or at inputs
        (..., input), shape (..., output, input)."""
        source = np.asarray(source, dtype=float)
        hidden, _ = self.forward(source)
        jacobian = self.weights[0] * self.activations[0].gain_numpy(source)[..., None, :]
        for weights, activation, below in zip(self.weights[1:], self.activations[1:], hidden):
            jacobian = (weights * activation.gain_numpy(below)[..., None, :]) @ jacobian
        return jacobian

    def deltas(self, hidden: list, drive: np.ndarray, top: np.ndarray) -> list:
        """[δ_1 … δ_K] for the output signal δ_K = ``top`` (rows), by this dendrite's credit rule."""
        deltas = [np.asarray(top, dtype=float)]
        if self.credit == "target-prop":
            outputs = hidden + [drive + self.biases[-1]]   # h_1 … h_K
            for k in range(self.layers - 1, 0, -1):        # inverse of layer k+1 (0-based k)
                above, signal = outputs[k], deltas[0]
                moved = self._inverse_rate(k, above + self.target_step * signal) - self._inverse_rate(k, above)
                deltas.insert(0, moved @ self.inverse_weights[k - 1].T / self.target_step)
            return deltas
        for k in range(self.layers - 1, 0, -1):
            backward = self.alignment_weights[k - 1].T if self.credit == "feedback-alignment" else self.weights[k]
            deltas.insert(0, self.activations[k].gain_numpy(hidden[k - 1]) * (deltas[0] @ backward))
        return deltas

    def _inverse_rate(self, k: int, potential: np.ndarray) -> np.ndarray:
        """r_k+1(h_k+1) read by the inverse of layer k+1 (0-based k): f_k+2, or the identity
        for the output."""
        return potential if k == self.layers - 1 else self.activations[k + 1].rate_numpy(potential)

    # -- learning ------------------------------------------------------------------------------
    def learn(self, source: np.ndarray, top: np.ndarray, batch: Batch, steps: list, scale: float,
              weight_decay: float = 0.0, weights: bool = True, biases: bool = False) -> list:
        """One update from inputs ``source`` and output signal δ_K = ``top`` (rows (B, n) of
        the B copies), with per-layer ``steps`` s_k (schedule scale × α_k): ΔV_k = s_k
        (⟨δ_k f_k(h_k−1)ᵀ⟩ − λ V_k) if ``weights``, Δc_k = s_k ⟨δ_k⟩ if ``biases`` (⟨⟩: the
        batch average), and target propagation's inverses at ``scale`` × α_g. Returns the
        batch-averaged Hebbian terms ⟨δ_k f_k(h_k−1)ᵀ⟩ per layer (empty without ``weights``).

        The passes are formed here from ``source`` and ``top`` as they are now, by the maths
        the compartments carry (for backprop, the compartments' δ of a step whose state has not
        moved since): an update at an item's end reads the settled state exactly, not the
        compartments' values of the step before."""
        hidden, drive = self.forward(source)
        deltas = self.deltas(hidden, drive, top)
        hebbians = []
        if weights:
            inputs = [source] + hidden
            hebbians = [_outer(batch, delta, activation.rate_numpy(below))
                        for delta, activation, below in zip(deltas, self.activations, inputs)]
            for matrix, hebbian, step in zip(self.weights, hebbians, steps):
                matrix += step * (hebbian - weight_decay * matrix)
            if self.credit == "target-prop":
                self._learn_inverses(hidden, batch, [scale * rate for rate in self.inverse_learning_rates])
        if biases:
            for bias, step, delta in zip(self.biases, steps, deltas):
                bias += step * _mean(batch, delta)
            if self.state is not None:
                for live, bias in zip(self.state.biases, self.biases):
                    live[:] = batch.tile(bias)
        return hebbians

    def _learn_inverses(self, hidden: list, batch: Batch, steps: list):
        """Denoising reconstruction of each inverse g_k (k = 2 … K) at the current layer k−1."""
        for k, step in zip(range(1, self.layers), steps):
            below = hidden[k - 1]
            noisy = below + self.inverse_noise * self._noise.standard_normal(below.shape)
            above = self.activations[k].rate_numpy(noisy) @ self.weights[k].T + self.biases[k]
            rate = self._inverse_rate(k, above)
            shortfall = noisy - (rate @ self.inverse_weights[k - 1].T + self.inverse_biases[k - 1])
            self.inverse_weights[k - 1] += step * _outer(batch, shortfall, rate)
            self.inverse_biases[k - 1] += step * _mean(batch, shortfall)

    # -- compartments (Brian2) -------------------------------------------------------------------
    def group_name(self, layer: int) -> str:
        """The Brian2 name of the compartment of hidden layer ``layer`` (1 … K−1)."""
        return f"{self.name}_compartment_{layer}"

    def build_groups(self, clock, batch: Batch, codeobj_class=None) -> dict[str, NeuronGroup]:
        """One NeuronGroup per hidden layer, {"compartment_k": group}, for ``batch`` copies."""
        groups = {}
        for k, size in enumerate(self.hidden_sizes, start=1):
            gain = self.activations[k] if self.backward else None   # f_k+1 reads h_k
            groups[f"compartment_{k}"] = NeuronGroup(size * batch.copies, compartment_equations(gain),
                                                     name=self.group_name(k), clock=clock,
                                                     codeobj_class=codeobj_class)
        return groups

    def state_variables(self) -> dict[str, tuple[str, str]]:
        """{field: (population, variable)}: ``bias_k`` is c_k of compartment k."""
        return {f"bias_{k}": (f"compartment_{k}", "bias") for k in range(1, self.layers)}

    def bind(self, groups: dict[str, NeuronGroup], state: DendriteState):
        """Attach the groups and live state an engine built, and write the biases c_k into it."""
        self._groups, self.state = groups, state
        for live, bias in zip(state.biases, self.biases):
            live[:] = state.batch.tile(bias)

    @property
    def compartments(self) -> list[NeuronGroup]:
        """The compartments' NeuronGroups, layer 1 first (empty for one layer, or before building)."""
        return [self._groups[f"compartment_{k}"] for k in range(1, self.layers) if f"compartment_{k}" in self._groups]

    def forward_couplings(self, source: tuple[str, str], target: tuple[str, str], name: str) -> list[Coupling]:
        """The forward pass from (group, variable) ``source`` through the compartments into
        ``target``: V_k f_k(·) into compartment k, the last V_K f_K(h_K−1) into the target
        (that coupling is called ``name``)."""
        couplings, previous = [], source
        for k, (weights, activation) in enumerate(zip(self.weights, self.activations), start=1):
            last = k == self.layers
            into = target if last else (self.group_name(k), "drive")
            couplings.append(Coupling(name if last else f"{self.name}_forward_{k}", *previous, *into, weights,
                                      activation, order=0 if last else k - 2 * self.layers))
            previous = (self.group_name(k), "potential")
        return couplings

    def backward_couplings(self, top: tuple[str, str]) -> list[Coupling]:
        """The backward pass from the output's signal δ_K at (group, variable) ``top`` into the
        compartments: V_k+1ᵀ δ_k+1 into compartment k, for k = K−1 … 1 (after the forward pass).
        Compartment 1's ``delta`` is then δ_1 (see :meth:`first_delta`)."""
        couplings, previous = [], top
        for k in range(self.layers - 1, 0, -1):
            position = self.layers + (self.layers - 1 - k)   # K … 2K−2, after the forward pass
            couplings.append(Coupling(f"{self.name}_backward_{k}", *previous, self.group_name(k), "back",
                                      self.weights[k].T, order=position - 2 * self.layers))
            previous = (self.group_name(k), "delta")
        return couplings

    def first_delta(self, top: tuple[str, str]) -> tuple[str, str]:
        """Where δ_1 is: compartment 1's ``delta``, or ``top`` itself for one layer."""
        return (self.group_name(1), "delta") if self.layers > 1 else top


def layer_rates(rate, layers: int) -> list:
    """A learning rate α (every layer) or [α_1, …, α_K] as one rate per layer."""
    return list(rate) if isinstance(rate, (list, tuple)) else [rate] * layers


def _outer(batch: Batch, post: np.ndarray, pre: np.ndarray) -> np.ndarray:
    """⟨post preᵀ⟩ over the copies, for rows (B, n) (or vectors for one copy)."""
    return batch.outer(np.reshape(post, -1), np.reshape(pre, -1))


def _mean(batch: Batch, values: np.ndarray) -> np.ndarray:
    """⟨values⟩ over the copies, for rows (B, n)."""
    return np.array(batch.mean(np.reshape(values, -1)))
