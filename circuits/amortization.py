"""Amortized inference: an encoder proposes, the circuit refines (Marino 2022, §4).

Predictive coding infers by gradient descent on F; a VAE's encoder maps the input to the
posterior mean in one sweep. An :class:`Encoder` puts the second into the first: a
feed-forward population of proposal neurons reads the sensory estimates x and holds

    μ_q = V f(x) + c                                          (direct amortization)

and, optionally, a population of update neurons reads the prediction errors and proposes a
learned correction (iterative amortization, Marino, Yue & Mandt 2018)::

    μ ← μ + γ u,   u = U_own ε_own + Σ_k U_k ε_k               (k: the columns μ predicts)

Inference modes of :meth:`circuits.Circuit.run_sequence` (per item):

``"iterative"``  classic predictive coding: μ starts at the prior mean and descends F.
``"amortized"``  μ is set to μ_q one step after the item starts (the sweep takes one step),
                 corrected by the ``iterations`` learned updates, and held there (the
                 recognition model alone, as in a VAE).
``"hybrid"``     as "amortized", then the circuit's dynamics refine μ.

Each learned update waits ``read_steps`` for the error neurons to settle at the held μ, then
jumps. Local learning, with α the encoder's learning rate::

    ΔV = α (μ − μ_q) f(x)ᵀ,   Δc = α (μ − μ_q)        (delta rule towards the settled μ)
    ΔU_k = α_u Σ_i (μ_end − μ_i+1) ε_k,iᵀ                (over the item's updates i)

A **deep encoder** (``weights=[U_1, …, U_K]``) proposes μ_q = h_K through dendritic
compartments h_1 = U_1 f_1(x) + a_1, h_k = U_k f_k(h_k−1) + a_k (:mod:`circuits.dendrite`),
all computed within the step, and learns every layer by the same local rule with the error
δ_K = μ − μ_q sent back through its layers (or by feedback alignment or target propagation,
``credit``): ΔU_k = α δ_k f_k(h_k−1)ᵀ, Δa_k = α δ_k, the gradient of ½‖μ − μ_q‖².

V and c learn at every item end (to the settled estimate) or, in continuous learning, every
step towards the current μ. U learns at item ends from what was still missing after each
update (μ_i+1 = μ_i + γ u_i), a delta rule on the errors it read. For a linear Gaussian model
both targets are affine in what the populations read, so V f(x) + c can equal the exact
posterior mean, and one update with γ U_own = −H⁻¹, γ U_k = H⁻¹ W_kᵀ (H the posterior
precision: μ* − μ = H⁻¹(Σ_k W_kᵀ ε_k − ε_own)) lands on it from anywhere.
"""
from __future__ import annotations

import numpy as np
from brian2 import NeuronGroup

from populations import proposal_equations, update_equations, update_variable

from .batch import Batch
from .coupling import Coupling
from .dendrite import Dendrite, layer_rates
from .validation import choice

__all__ = ["Encoder", "EncoderState", "INFERENCE", "ItemSchedule"]

#: Inference modes of run_sequence (see :class:`ItemSchedule`): by the dynamics alone, by the
#: encoder's proposal (and learned updates) alone, or proposal then dynamics.
INFERENCE = ("iterative", "amortized", "hybrid")


class EncoderState:
    """The live values of an encoder's neurons inside an engine, batch-major.

    Attributes
    ----------
    batch : Batch
    drive : ndarray (B × target.size,)
        V f(x) in the proposal neurons.
    bias : ndarray (B × target.size,)
        c in the proposal neurons.
    updates : dict of str to ndarray (B × target.size,)
        U_k ε_k in the update neurons, for each column k read (empty without iterations).
    """

    def __init__(self, batch: Batch, drive, bias, updates: dict):
        self.batch, self.drive, self.bias, self.updates = batch, drive, bias, updates


class Encoder:
    """The amortized-inference pathway of one latent column.

    Attributes
    ----------
    target : Column
        The latent column whose posterior mean is proposed.
    source : Column
        The sensory column read by the encoder.
    dendrite : Dendrite
        The layers (one for a plain encoder): weights, activations, biases, compartments.
    weights : ndarray (target.size, source.size), or list of ndarray
        V (live: changes when the encoder learns); [U_1, …, U_K] for a deep encoder.
    bias : ndarray (target.size,)
        c (a_K of a deep encoder; live: changes when the encoder learns).
    activation : populations.Activation
        f applied to x before V (f_1 of a deep encoder).
    plastic : bool
    learning_rate : float, or list of float
        α of the delta rule for V and c ([α_1, …, α_K] per layer of a deep encoder).
    iterations : int
        Learned updates per item (0: direct amortization only).
    update_gain : float
        γ of each update.
    update_weights : dict of str to ndarray (target.size, k.error_size)
        U_k for the target column itself and each column it predicts (live).
    update_learning_rate : float
        α_u.
    read_steps : int
        Steps the errors get to settle before each update is read.
    reads : list of Column
        The columns whose errors the update neurons read (the target and those it predicts).
    state : EncoderState or None
        The live values of the encoder's neurons, once an engine has built the circuit.
    """

    def __init__(self, target, source, dendrite: Dendrite, plastic: bool, learning_rate: float, iterations: int,
                 update_gain: float, update_learning_rate: float, read_steps: int):
        self.target, self.source, self.dendrite = target, source, dendrite
        self.plastic, self.learning_rate = plastic, learning_rate
        self.iterations, self.update_gain = iterations, update_gain
        self.update_learning_rate, self.read_steps = update_learning_rate, read_steps
        self.reads = [target] + [p.lower for p in target.upward] if iterations else []
        self.update_weights = {c.name: np.zeros((target.size, c.error_size)) for c in self.reads}
        self.state: EncoderState | None = None
        self._groups: dict[str, NeuronGroup] = {}

    layers = property(lambda self: self.dendrite.layers, doc="K, the number of weight matrices.")
    bias = property(lambda self: self.dendrite.biases[-1], doc="c (a_K), live, shape (target.size,).")
    activation = property(lambda self: self.dendrite.activations[0], doc="f (f_1 of a deep encoder).")

    @property
    def weights(self):
        """V (live), or the list [U_1, …, U_K] of a deep encoder (live arrays)."""
        return self.dendrite.weights[0] if self.layers == 1 else self.dendrite.weights

    # -- populations ---------------------------------------------------------------------------
    def group_name(self, population: str) -> str:
        """The Brian2 name of the encoder's "proposal" or "update" group."""
        return f"{self.target.name}_{population}"

    def build_groups(self, clock, batch: Batch, codeobj_class=None) -> dict[str, NeuronGroup]:
        """The proposal (and update) NeuronGroups for ``batch`` copies (see :meth:`bind`)."""
        neurons = self.target.size * batch.copies
        groups = {"proposal": NeuronGroup(neurons, proposal_equations(), name=self.group_name("proposal"),
                                          clock=clock, codeobj_class=codeobj_class)}
        if self.iterations:
            groups["update"] = NeuronGroup(neurons, update_equations([c.name for c in self.reads]),
                                           name=self.group_name("update"), clock=clock, codeobj_class=codeobj_class)
        return groups

    def state_variables(self) -> dict[str, tuple[str, str]]:
        """{field of EncoderState: (population, variable)}; ``updates`` fields are ``update:<k>``."""
        variables = {"drive": ("proposal", "drive"), "bias": ("proposal", "bias")}
        variables.update({f"update:{c.name}": ("update", update_variable(c.name)) for c in self.reads})
        return variables

    def bind(self, groups: dict[str, NeuronGroup], state: EncoderState):
        """Attach the groups and live state an engine built, and write c into the state."""
        self._groups, self.state = groups, state
        state.bias[:] = state.batch.tile(self.bias)

    def couplings(self) -> list[Coupling]:
        couplings = self.dendrite.forward_couplings((self.source.group_name("estimate"), "mu"),
                                                    (self.group_name("proposal"), "drive"),
                                                    f"encoder_{self.source.name}_to_{self.target.name}")
        couplings += [Coupling(f"update_{column.name}_to_{self.target.name}", column.group_name("error"), "eps",
                               self.group_name("update"), update_variable(column.name), self.update_weights[column.name])
                      for column in self.reads]
        return couplings

    @property
    def proposal_neurons(self) -> NeuronGroup:
        """The proposal neurons μ_q (a Brian2 NeuronGroup; the circuit must be built)."""
        return self._groups.get("proposal")

    @property
    def update_neurons(self) -> NeuronGroup | None:
        """The update neurons u (None without iterative amortization)."""
        return self._groups.get("update")

    def proposal(self) -> np.ndarray:
        """μ_q = V f(x) + c as the proposal neurons hold it now (a copy), shape
        (batch × target.size,), batch-major."""
        return self.state.drive + self.state.bias

    def update(self) -> np.ndarray:
        """u = Σ_k U_k ε_k as the update neurons hold it now (a copy)."""
        return sum(self.state.updates.values())

    # -- learning ------------------------------------------------------------------------------
    @property
    def learns(self) -> bool:
        return self.plastic

    def learn(self, scale: float):
        """Delta rule of V and c (of every layer) towards the current estimate (see the module
        docstring)."""
        batch = self.state.batch
        shortfall = self.target.state.estimate - self.proposal()
        steps = [scale * rate for rate in layer_rates(self.learning_rate, self.layers)]
        self.dendrite.learn(batch.rows(self.source.state.estimate), batch.rows(shortfall), batch, steps, scale,
                            biases=True)
        self.state.bias[:] = batch.tile(self.bias)

    def learn_updates(self, reads: list):
        """ΔU_k = α_u Σ_i (μ_end − μ_i+1) ε_k,iᵀ over an item's ``reads`` [(μ_i+1, {k: ε_k,i})]:
        each update's remaining shortfall times the errors it read."""
        if not (self.plastic and reads):
            return
        settled = self.target.state.estimate
        for held, errors in reads:
            for name, error in errors.items():
                self.update_weights[name] += self.update_learning_rate * self.state.batch.outer(settled - held, error)

    def __repr__(self):
        shapes = " → ".join(str(v.shape) for v in self.dendrite.weights)
        return f"Encoder({self.source.name} -> {self.target.name}, V {shapes}, iterations={self.iterations})"


class ItemSchedule:
    """What amortized inference does inside one item of a sequence (called at the start of
    every step after the first, before the couplings): set μ to the proposal, apply the
    learned updates, and hold μ where the mode asks."""

    def __init__(self, encoders: list[Encoder], mode: str):
        self.encoders, self.mode = encoders, mode
        self.held = {}
        self.proposals, self.reads = {}, {}

    @classmethod
    def for_items(cls, encoders: list[Encoder], inference: str, steps_per_item: int, dt) -> "ItemSchedule | None":
        """The schedule of ``inference`` (None for "iterative") for items of ``steps_per_item``
        steps of ``dt``, checked: the mode needs encoders, and items long enough for them."""
        choice(inference, INFERENCE, "inference")
        if inference == "iterative":
            return None
        if not encoders:
            raise ValueError(f"inference={inference!r} needs an encoder: add one with circuit.encoder(...)")
        schedule = cls(encoders, inference)
        if steps_per_item < schedule.steps_needed():
            raise ValueError(f"item_duration = {steps_per_item * dt} is too short for the encoders' schedule "
                             f"(proposal and learned updates): use at least {schedule.steps_needed() * dt}")
        return schedule

    def on_step(self, position: int):
        """``position``: steps since the item started (≥ 1)."""
        for encoder in self.encoders:
            estimate = encoder.target.state.estimate
            name = encoder.target.name
            last_update = 1 + encoder.iterations * encoder.read_steps
            if position == 1:
                self.held[name] = encoder.proposal()
                self.proposals[name] = self.held[name].copy()
                self.reads[name] = []
            elif position <= last_update and (position - 1) % encoder.read_steps == 0:
                errors = {c.name: c.state.error.copy() for c in encoder.reads}
                self.held[name] = self.held[name] + encoder.update_gain * encoder.update()
                self.reads[name].append((self.held[name].copy(), errors))
            elif position > last_update and self.mode == "hybrid":
                continue
            estimate[:] = self.held[name]

    def finish(self):
        """At the item's end: an estimate held by the amortized mode is read where it was held
        (undoing the last step's drift, as the hold is re-applied at the start of each step)."""
        if self.mode == "amortized":
            for encoder in self.encoders:
                if encoder.target.name in self.held:
                    encoder.target.state.estimate[:] = self.held[encoder.target.name]

    def steps_needed(self) -> int:
        """The fewest steps per item the schedule needs (proposal, updates, one more step)."""
        return max(2 + e.iterations * e.read_steps for e in self.encoders)
