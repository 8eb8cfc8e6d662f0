"""Spiking columns: the same circuit built from Poisson populations of N neurons per unit.

``Circuit(neurons="spiking")`` (or ``neurons=Spiking(population_size=N, ...)``) builds every
column of the circuit from spiking neurons in Brian2. Each rate unit of the rate circuit
becomes a population of N Poisson neurons (:mod:`populations.spiking`); the errors are
rectified ε+/ε− pairs (:mod:`populations.error`), so that every quantity a population carries
maps onto a non-negative firing rate:

=====================  ==========================  ==========================================
rate unit              population                  firing rate of each neuron
=====================  ==========================  ==========================================
estimate μ_i (signed)  N Poisson neurons           [r0 + κ_μ μ_i]+   (baseline r0 = 40 Hz,
                                                   κ_μ = 20 Hz: μ ∈ [−2, 8] ↦ 0–200 Hz)
error ε+_i, ε−_i ≥ 0   N Poisson neurons each      κ_ε [v±_i]+       (κ_ε = 40 Hz; v±: membranes)
sensory x_i (clamped)  N Poisson neurons           [r0 + κ_μ x_i]+
=====================  ==========================  ==========================================

A neuron spikes in a step with probability rate · dt. Every coupling target = M y of the rate
circuit (:mod:`circuits.coupling`: top-down W μ, bottom-up Wᵀ e, the column's μ → ε and e → μ
links, the lateral Σ' − diag Σ', and the pair's e = ε+ − ε−) is carried by spikes: a spike of
a neuron of presynaptic unit j adds M_ij / (N κ τ_s) to the target unit's input trace X_i
(from ε− with the opposite sign). By default the synapses are instantaneous, τ_s = dt: the
trace holds the spikes of the last step as a rate, and the target's membrane (v± of an error
neuron, μ of an estimate) integrates them — each spike is a jump of the membrane. The trace's
mean is M (y + r0/κ); a tonic input (r0/κ) M 1 cancels the estimates' baseline, so the
**mean field of the spiking circuit is the rate circuit**: the same equations and fixed point,
with no filter added to its loops. The estimates' dynamics are linear in the spike trains, and
so is the pairs' difference (v− = −v+ holds spike by spike: both neurons of a pair receive the
same spikes with opposite signs, and the rectification acts on the common mode only), so for
a linear circuit the expected trajectory is the rate circuit's, and time-averaged estimates are
unbiased, with a variance ∝ 1/N (an error ∝ 1/√N) as long as no estimate rate is clipped at 0.
``Spiking(tau_synapse=τ)`` makes the synapses exponential currents that decay with τ instead:
the same fixed point, but τ of extra lag in every loop (with τ = 5 ms the default 10 ms / 2 ms
circuit oscillates).

Each unit's N neurons receive the same input (all-to-all connections between populations),
so their drive is stored once per unit (a Brian2 linked variable), and a spike of any of the N
neurons reaches the target unit's trace through one synapse: N synapses per matrix entry
instead of N², with identical dynamics. The **read-out** of a population is its rate filtered
with τ_r (default 20 ms), ``state.estimate_rate`` / ``state.error_rate`` and
``Recording.firing_rate`` (Hz); :meth:`Spiking.decode` maps it back to μ or ε±.

Spiking circuits run in the runtime engine and in the C++ standalone engine (where they are
fast). ``Circuit(seed=...)`` makes the spikes reproducible: the runtime engine seeds Brian2's
generator at every run from (seed, run number since the last reset); a standalone program
compiles the seed in, so each rerun draws the same spikes for the same inputs. Covariance
lateral synapses, attention (precision gains), batches of independent trials and new weights
between runs work as in rate circuits. Not available in spiking circuits, each refused with
an error: learning (plastic weights, learned biases or covariances), nonlinear activations
(the top-down synapses carry the presynaptic firing rate, linear in μ, not f(μ)), generalized
coordinates, whitening flows and encoders.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from brian2 import Hz, NeuronGroup, Quantity, Synapses, linked_var, ms, second, seed

from populations import THRESHOLD, poisson_equations

from .coupling import MEMBRANE, Coupling, synapse_layout
from .validation import as_rate, as_time, shown

__all__ = ["NEURONS", "Spiking", "SpikingNetwork", "spiking_options"]

#: ``Circuit(neurons=...)`` names.
NEURONS = ("rate", "spiking")


@dataclass(frozen=True)
class Spiking:
    """How a spiking circuit maps rates onto spikes (see the module docstring).

    Parameters
    ----------
    population_size : int
        N, Poisson neurons per rate unit (per ε+ and per ε− unit too).
    estimate_baseline : Brian2 rate
        r0, the firing rate of an estimate (or sensory) population at μ = 0 (default 40 Hz).
    estimate_scale : Brian2 rate
        κ_μ, Hz per unit of μ (default 20 Hz): the rate is [r0 + κ_μ μ]+.
    error_scale : Brian2 rate
        κ_ε, Hz per unit of ε± (default 40 Hz): the rate is κ_ε ε±.
    tau_synapse : Brian2 time or None
        None (default): instantaneous synapses, each spike a jump of the target's membrane
        (the trace holds the spikes of the last step, as a rate). A time τ_s ≥ 2 dt: exponential
        synaptic currents, which low-pass filter every coupling with τ_s (the same fixed
        point, but extra lag in every loop: with τ_s = 5 ms the default 10 ms / 2 ms circuit
        oscillates).
    tau_readout : Brian2 time
        τ_r, the filter of the population-rate read-out (default 20 ms).
    """

    population_size: int = 100
    estimate_baseline: Quantity = field(default_factory=lambda: 40 * Hz)
    estimate_scale: Quantity = field(default_factory=lambda: 20 * Hz)
    error_scale: Quantity = field(default_factory=lambda: 40 * Hz)
    tau_synapse: Quantity | None = None
    tau_readout: Quantity = field(default_factory=lambda: 20 * ms)

    def __post_init__(self):
        size = self.population_size
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
            raise ValueError(f"population_size must be a positive integer (N neurons per unit), got {shown(size)}")
        as_rate(self.estimate_baseline, "estimate_baseline", allow_zero=True)
        as_rate(self.estimate_scale, "estimate_scale")
        as_rate(self.error_scale, "error_scale")
        if self.tau_synapse is not None:
            as_time(self.tau_synapse, "tau_synapse")
        as_time(self.tau_readout, "tau_readout")

    def check_timing(self, timing):
        """Forward Euler keeps the traces stable only if dt < τ/2."""
        for label in ("tau_synapse", "tau_readout"):
            tau = getattr(self, label)
            if tau is not None and not timing.dt < tau / 2:
                raise ValueError(f"Spiking {label} = {tau} is too short for dt = {timing.dt}: forward Euler "
                                 f"needs dt < {label}/2; use a smaller dt or a longer {label}")

    def synaptic_time(self, dt) -> Quantity:
        """τ_s of the traces: ``tau_synapse``, or dt for instantaneous synapses (forward Euler
        with τ_s = dt empties the trace at every step: it then holds the last step's spikes)."""
        return dt if self.tau_synapse is None else self.tau_synapse

    def refuse(self, column: str, **features):
        """Raise naming the first of ``features`` (name: used?) that a spiking circuit cannot
        build, for ``column`` (see the module docstring)."""
        fixes = {"learning": "learning needs rate neurons: use Circuit(neurons='rate')",
                 "nonlinear activation": "the top-down synapses carry the presynaptic rate, linear in μ; "
                                         "use activation='linear'",
                 "signed errors": "firing rates are non-negative: spiking columns have errors='rectified'",
                 "generalized coordinates": "use order=1", "lateral inhibition": "use a plain covariance",
                 "an encoder": "amortized inference needs rate neurons",
                 "a deep projection": "hidden layers are dendritic compartments of rate neurons; use one "
                                      "layer (a weight matrix, one activation)",
                 "a sparse prior": "the prior's gradient is not carried by spikes; use prior='gaussian'",
                 "clamped estimates": "a clamped column is data: make it a sensory column and give it "
                                      "the values as stimulus",
                 "fixed predictions": "fixed predictions (hold) need rate neurons: use Circuit(neurons='rate')"}
        for feature, used in features.items():
            if used:
                raise ValueError(f"{column}: a spiking circuit (Circuit(neurons='spiking')) cannot have "
                                 f"{feature.replace('_', ' ')}; {fixes[feature.replace('_', ' ')]}")

    def code(self, population: str) -> tuple[float, float]:
        """(r0, κ) in Hz of the ``"estimate"`` or ``"error"`` populations."""
        if population == "estimate":
            return float(self.estimate_baseline), float(self.estimate_scale)
        return 0.0, float(self.error_scale)

    def decode(self, population: str, rate):
        """The rate variable (μ, or ε±) that a firing rate (Hz, array or Quantity) of a
        ``"estimate"`` or ``"error"`` population encodes: (rate − r0) / κ."""
        baseline, scale = self.code(population)
        return (np.asarray(rate, dtype=float) - baseline) / scale

    def population(self, units: NeuronGroup, population: str, name: str, clock, codeobj_class=None) -> NeuronGroup:
        """The Poisson population of N neurons per unit of ``units`` (unit-major), firing at
        [r0 + κ · value]+ where value is the unit's μ (``population="estimate"``) or ε±."""
        variable = "mu" if population == "estimate" else MEMBRANE
        neurons = NeuronGroup(units.N * self.population_size, poisson_equations(), threshold=THRESHOLD,
                              name=name, clock=clock, codeobj_class=codeobj_class)
        neurons.value = linked_var(units, variable, index=np.repeat(np.arange(units.N), self.population_size))
        baseline, scale = self.code(population)
        neurons.baseline, neurons.scale = baseline * Hz, scale * Hz
        units.tau_synapse, units.tau_readout = self.synaptic_time(clock.dt), self.tau_readout
        return neurons

    def options(self) -> dict:
        """The parameters as plain numbers (Hz, seconds), for saving."""
        return {"population_size": int(self.population_size),
                **{name: None if getattr(self, name) is None else float(getattr(self, name)) for name in _RATES + _TIMES}}

    @classmethod
    def from_options(cls, options: dict) -> "Spiking":
        """The inverse of :meth:`options`."""
        return cls(population_size=int(options["population_size"]),
                   **{name: options[name] * Hz for name in _RATES},
                   **{name: None if options[name] is None else options[name] * second for name in _TIMES})


_RATES = ("estimate_baseline", "estimate_scale", "error_scale")
_TIMES = ("tau_synapse", "tau_readout")


def spiking_options(neurons) -> Spiking | None:
    """The :class:`Spiking` options of ``Circuit(neurons=...)``: None for ``"rate"``."""
    if isinstance(neurons, Spiking):
        return neurons
    if isinstance(neurons, str) and neurons in NEURONS:
        return Spiking() if neurons == "spiking" else None
    raise ValueError(f"neurons must be 'rate', 'spiking' or a circuits.Spiking(...), got {shown(neurons)}")


class SpikingNetwork:
    """The synapses of a spiking circuit: the population read-outs and every coupling of the
    columns and projections carried by spikes, built by an engine into ``objects``.

    Each coupling's synapses connect every pair of units (so that new weights fit them);
    :meth:`parameters` gives their current weights and the tonic baseline inputs, which
    :meth:`apply` writes before each run of the runtime engine and the standalone engine
    passes as ``run_args``.
    """

    def __init__(self, graph, groups: dict, clock, batch, codeobj_class=None):
        self.graph, self.groups, self.batch = graph, groups, batch
        self.spiking: Spiking = graph.spiking
        self.objects, self.links = [], []
        self.runs = 0
        paired = graph.paired_groups
        for column in graph.columns.values():
            for population in ("estimate", "error"):
                self.objects.append(self._readout(column.group_name(population), clock, codeobj_class))
        couplings = [c for column in graph.columns.values() for c in column.couplings()]
        couplings += [c for projection in graph.projections for c in projection.couplings()]
        for coupling in couplings:
            self.objects.append(self._carry(coupling, paired, clock, codeobj_class))
        self.apply()

    def _readout(self, units: str, clock, codeobj_class) -> Synapses:
        """τ_r dr̂/dt = −r̂ + (1/N) Σ spikes of the unit's N neurons."""
        size = self.spiking.population_size
        readout = Synapses(self.groups[f"{units}_spikes"], self.groups[units], "step : hertz (shared, constant)",
                           on_pre="readout_post += step", name=f"{units}_readout", clock=clock,
                           codeobj_class=codeobj_class)
        neurons = np.arange(readout.source.N)
        readout.connect(i=neurons, j=neurons // size)
        readout.step = 1 / (size * self.spiking.tau_readout)
        return readout

    def _carry(self, coupling: Coupling, paired, clock, codeobj_class) -> Synapses:
        """The spikes of the source's population onto the target's trace of ``coupling``."""
        if coupling.activation is not None and not coupling.activation.is_identity:
            raise ValueError(f"coupling {coupling.name}: spiking synapses carry the presynaptic rate, "
                             f"linear in μ; a nonlinear activation cannot be carried")
        source, target = self.groups[coupling.source], self.groups[coupling.target]
        neurons = self.groups[f"{coupling.source}_spikes"]
        layout = synapse_layout(coupling, source.N, target.N, self.batch.copies, coupling.source in paired,
                                coupling.target in paired, all_pairs=True)
        size = self.spiking.population_size
        synapses = Synapses(neurons, target, "w : 1 (constant)", on_pre=f"{coupling.target_variable}_post += w",
                            name=coupling.name, clock=clock, codeobj_class=codeobj_class)
        synapses.connect(i=(layout.pre[:, None] * size + np.arange(size)).ravel(), j=np.repeat(layout.post, size))
        population = "estimate" if coupling.source_variable == "mu" else "error"
        baseline = f"{coupling.target_variable}_baseline" if self.spiking.code(population)[0] else None
        self.links.append((synapses, coupling, layout, population, target, baseline))
        return synapses

    def parameters(self) -> dict:
        """{Brian2 variable: values}: every spiking synapse's weight M_ij / (N κ τ_s) for the
        current matrices, and every tonic input (r0/κ) M 1 that cancels a baseline rate."""
        size, tau = self.spiking.population_size, float(self.spiking.synaptic_time(self.graph.timing.dt))
        values = {}
        for synapses, coupling, layout, population, target, baseline in self.links:
            weights = layout.weights(coupling.matrix)
            offset, scale = self.spiking.code(population)
            values[synapses.w] = np.repeat(weights / (size * scale * tau), size)
            if baseline is not None:
                values[getattr(target, baseline)] = np.bincount(layout.post, weights * offset / scale,
                                                                minlength=target.N)
        return values

    def apply(self):
        """Write :meth:`parameters` into the synapses and groups (runtime engine, before a run)."""
        for variable, values in self.parameters().items():
            variable[:] = values

    def seed_run(self):
        """Seed Brian2's random numbers for the next run from (seed, runs since the last reset),
        so that a circuit built and run alike draws the same spikes (no seed: fresh noise)."""
        if self.graph.seed is not None:
            seed(int(np.random.SeedSequence([self.graph.seed, self.runs]).generate_state(1)[0]))
        self.runs += 1
