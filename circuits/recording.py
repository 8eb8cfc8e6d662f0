"""What a run returns: trajectories of estimates, errors and free energy.

Engines hand back a :class:`Trace` (times and batch-major neuron values, as the engine saw
them); :func:`make_recording` turns it into the user's :class:`Recording` (batch axes split,
free energy computed from the recorded estimates with the gains in force at each step).
:class:`Recorder` is the per-step recorder of engines that run Python between steps.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from brian2 import Quantity, second

from .energy import free_energy_by_level

__all__ = ["Recorder", "Recording", "Trace", "make_recording", "recorded_sources"]


@dataclass(frozen=True)
class Recording:
    """Trajectories recorded by :meth:`circuits.Circuit.run`, one row per time step.

    Row n holds the state at the start of step n, i.e. at time ``t[n]`` (the sensory
    estimates are the stimulus x(t[n])). The state after the last step is what
    :meth:`Circuit.estimate` and :meth:`Circuit.error` return. With ``Circuit(batch_size=B)``
    every per-column array gains a batch axis after the time or item axis — (T, B, size),
    (K, B, size) — and free energies are (T, B) and (K, B).

    Attributes
    ----------
    t : brian2 Quantity, shape (T,)
        Network time of each row (continues across runs; :meth:`Circuit.reset` sets it to 0).
    estimate : dict of str to ndarray (T, size)
        μ of each column.
    error : dict of str to ndarray (T, error_size)
        ε of each column (ε+ − ε− for a rectified column).
    error_positive, error_negative : dict of str to ndarray (T, error_size)
        The non-negative rates of the ε+ and ε− neurons of each rectified column.
    firing_rate : dict of str to dict of str to ndarray (T, units)
        Spiking columns: the population firing rates in Hz (filtered with τ_readout) of the
        "estimate", "error+" and "error-" populations, per unit (see :mod:`circuits.spiking`).
    free_energy_by_level : dict of str to ndarray (T,)
        F_ℓ of each column (see :mod:`circuits.energy`).
    trial_end, trial_error : dict of str to ndarray (K, size)
        μ and ε of each column at the end of each item of :meth:`Circuit.run_sequence`
        (empty for :meth:`Circuit.run`).
    trial_free_energy : ndarray (K,)
        Total F at the end of each item, with the parameters of that moment.
    trial_covariance : dict of str to ndarray (K, size, size)
        Σ of each covariance-learning column at the end of each item (before its update).
    trial_proposal : dict of str to ndarray (K, size)
        The encoder's proposal μ_q of each encoded column for each item (before learning).
    trial_proposal_free_energy : ndarray (K,)
        F with the encoded columns at their proposals and the others at their settled values.
    """

    t: Quantity
    estimate: dict
    error: dict
    free_energy_by_level: dict
    error_positive: dict = field(default_factory=dict)
    error_negative: dict = field(default_factory=dict)
    firing_rate: dict = field(default_factory=dict)
    trial_end: dict = field(default_factory=dict)
    trial_error: dict = field(default_factory=dict)
    trial_free_energy: np.ndarray = field(default_factory=lambda: np.zeros(0))
    trial_covariance: dict = field(default_factory=dict)
    trial_proposal: dict = field(default_factory=dict)
    trial_proposal_free_energy: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def free_energy(self) -> np.ndarray:
        """Total free energy F = Σ_ℓ F_ℓ, shape (T,)."""
        return np.sum(list(self.free_energy_by_level.values()), axis=0)

    @property
    def amortization_gap(self) -> np.ndarray:
        """F at the encoders' proposals minus F at the settled estimates, per item, shape (K,)."""
        return self.trial_proposal_free_energy - self.trial_free_energy

    def __repr__(self):
        return (f"Recording({len(self.t)} steps from {self.t[0] if len(self.t) else 0 * second}, "
                f"columns {list(self.estimate)})")


@dataclass
class Trace:
    """What an engine recorded: ``t`` (rows,) in seconds and, per column, batch-major neuron
    values (rows, B × n) of the estimates, error neurons (ε+ and ε− of a rectified column),
    — for gains that changed during the run — the attention gains (per error neuron) and,
    for spiking columns, the population firing rates {column: {"estimate", "error": …}}."""

    t: np.ndarray
    estimates: dict
    errors: dict
    gains: dict = field(default_factory=dict)
    firing_rates: dict = field(default_factory=dict)

    @classmethod
    def empty(cls, graph, copies: int) -> "Trace":
        return cls(np.zeros(0), {n: np.zeros((0, c.size * copies)) for n, c in graph.columns.items()},
                   {n: np.zeros((0, c.error_group_size * copies)) for n, c in graph.columns.items()})


def recorded_sources(graph) -> list:
    """(kind, column name, live array) of everything a per-step :class:`Recorder` records."""
    sources = []
    for column in graph.columns.values():
        state = column.state
        sources += [("estimate", column.name, state.estimate), ("error", column.name, state.error_neurons)]
        if not isinstance(column.attention, np.ndarray):
            sources.append(("gain", column.name, state.gain))
        if state.estimate_rate is not None:
            sources += [("estimate_rate", column.name, state.estimate_rate), ("error_rate", column.name, state.error_rate)]
    return sources


def make_recording(graph, batch, trace: Trace, trials: dict | None = None) -> Recording:
    """The user's Recording of ``trace``: batch axes split off, ε+ − ε− of rectified columns,
    firing rates of spiking ones, free energy per level with the constant gains of the columns
    and the recorded ones where they changed during the run."""

    def half(values, k):   # the positive (k = 0) or negative (1) neurons of paired values
        return batch.split(batch.pairs(values)[..., k, :].reshape(*values.shape[:-1], values.shape[-1] // 2))

    def rate(membranes, k):   # the rates [v]+ of the positive or negative neurons
        return np.maximum(half(membranes, k), 0.0)

    estimates = {name: batch.split(values) for name, values in trace.estimates.items()}
    errors, positive, negative, rates = {}, {}, {}, {}
    for name, values in trace.errors.items():
        if not graph.columns[name].rectified:
            errors[name] = batch.split(values)
            continue
        positive[name], negative[name] = rate(values, 0), rate(values, 1)
        errors[name] = positive[name] - negative[name]
    for name, recorded in trace.firing_rates.items():
        rates[name] = {"estimate": batch.split(recorded["estimate"]), "error+": half(recorded["error"], 0),
                       "error-": half(recorded["error"], 1)}
    gains = {name: column.attention for name, column in graph.columns.items()
             if isinstance(column.attention, np.ndarray)}
    gains.update({name: half(values, 0) if graph.columns[name].rectified else batch.split(values)
                  for name, values in trace.gains.items()})
    energy = free_energy_by_level(graph.columns.values(), estimates, gains)
    return Recording(t=trace.t * second, estimate=estimates, error=errors, free_energy_by_level=energy,
                     error_positive=positive, error_negative=negative, firing_rate=rates, **(trials or {}))


class Recorder:
    """Records t, μ and ε every k-th step into one preallocated array: one call and one
    ``np.concatenate`` per recorded step (Brian2's StateMonitors resize their arrays at every
    step: about 12 µs each per step here, a 6-population circuit 73 µs of its 115 µs).

    ``sources`` are (kind, column name, live array) (:func:`recorded_sources`);
    ``time`` is the engine's live (1,) array of the current time in seconds. :meth:`on_step`
    must run where the state is the state at the start of the step.
    """

    def __init__(self, sources: list, time: np.ndarray, every: int, steps: int):
        self.every, self.step, self.row = every, 0, 0
        self.time = time
        rows = -(-steps // every)
        self.times = np.empty(rows)
        self.arrays = [array for _, _, array in sources]
        self.buffer = np.empty((rows, sum(len(array) for array in self.arrays)))
        bounds = np.cumsum([0] + [len(array) for array in self.arrays])
        self.blocks = {(kind, name): slice(a, b) for (kind, name, _), a, b in zip(sources, bounds, bounds[1:])}

    def on_step(self):
        if self.step % self.every == 0:
            self.times[self.row] = self.time[0]
            np.concatenate(self.arrays, out=self.buffer[self.row])
            self.row += 1
        self.step += 1

    def _recorded(self, kind) -> dict:
        rows = self.row   # fewer than allocated if the run stopped early
        return {name: self.buffer[:rows, block] for (k, name), block in self.blocks.items() if k == kind}

    def trace(self) -> Trace:
        estimate_rates, error_rates = self._recorded("estimate_rate"), self._recorded("error_rate")
        rates = {name: {"estimate": estimate_rates[name], "error": error_rates[name]} for name in estimate_rates}
        return Trace(self.times[:self.row].copy(), self._recorded("estimate"), self._recorded("error"),
                     self._recorded("gain"), rates)
