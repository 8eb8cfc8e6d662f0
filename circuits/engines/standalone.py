"""The C++ standalone engine: compile the circuit once, run the binary many times.

``Circuit(device="cpp_standalone")`` generates one C++ program for the circuit and compiles it
at the first :meth:`~circuits.Circuit.run` (a few seconds). Later runs of the same duration
reuse that binary: the stimulus, the state to continue from, the weights
(:meth:`~circuits.Circuit.set_weights`) and constant attention gains are passed to it as
Brian2 ``run_args``, never recompiled.

Standalone programs cannot call back into Python, so Brian2 skips ``network_operation``s there
— silently. Nothing here is one: every coupling is a Brian2 ``Synapses`` object with a
``(summed)`` variable (built by the same :func:`~circuits.coupling.build_synapses` as the
runtime engine's synapses backend), the recording is Brian2 ``StateMonitor``s, and divergence
is checked on the results when the program ends. A spiking circuit (:mod:`circuits.spiking`)
runs here too — its synapses carry spikes, its read-outs are recorded with the states, and its
weights and tonic inputs are passed as ``run_args`` like the rate couplings'. What needs
Python during a run is refused
with an error naming it: learning, encoders, sequences (``run_sequence``), attention that
changes during a run. Brian2 keeps one standalone project per process: building a second
standalone circuit ends the first one's runs.
"""
from __future__ import annotations

import tempfile

import numpy as np
from brian2 import Clock, Network, NetworkOperation, StateMonitor, TimedArray, get_device, seed, set_device

from ..column import ColumnState
from ..coupling import build_synapses, synapse_layout
from ..dendrite import DendriteState
from ..recording import Trace
from ..spiking import SpikingNetwork
from .base import Engine, RunPlan, own_objects, quiet_invalid_values

__all__ = ["StandaloneEngine"]

_current = {"engine": None}


class StandaloneEngine(Engine):
    """Brian2's ``cpp_standalone`` device; the program is written to ``directory`` (default: a
    new temporary directory)."""

    device = "cpp_standalone"

    def __init__(self, graph, batch, divergence_threshold, directory=None):
        super().__init__(graph, batch, divergence_threshold)
        self.directory = directory or tempfile.mkdtemp(prefix="pcsim-standalone-")
        self._device = None
        self._steps = None          # compiled duration, in steps
        self._every = None          # compiled recording interval (0: none)
        self._kinds = {}            # sensory column -> "constant" or "array" (compiled)
        self._stimuli = {}          # sensory column -> TimedArray in the program
        self._monitors = {}
        self._synapses = []         # (Synapses, coupling, SynapseLayout)
        self._spikes = None         # the SpikingNetwork of a spiking circuit
        self._parameters = {}       # (group name, variable) -> the state array passed as run_args
        self._time = 0.0

    def refuse(self, what: str):
        raise ValueError(f"device='cpp_standalone' cannot run {what}: it needs Python during the run "
                         f"(a network operation, which Brian2 skips in standalone mode). Use the runtime "
                         f"device (the default) for it.")

    def _check(self):
        graph = self.graph
        refused = []
        if graph.learns:
            refused.append("learning (plastic projections, learned biases, covariances or flows, encoders)")
        if graph.encoders:
            refused.append("encoders (amortized inference)")
        if any(not isinstance(c.attention, np.ndarray) for c in graph.columns.values()):
            refused.append("attention that changes during a run (a TimedArray gain)")
        if any(c.held for c in graph.columns.values()):
            refused.append("fixed predictions (hold: the error neurons' input is switched at run time)")
        if refused:
            self.refuse("; ".join(refused))

    # -- building ------------------------------------------------------------------------------
    def build(self):
        """Creating the groups needs the standalone device, which only the first run sets up:
        the program is built and compiled there."""
        if self.built:
            return
        raise RuntimeError("a device='cpp_standalone' circuit is built and compiled by its first "
                           "run(duration, stimulus); run it before reading its groups or state")

    def _build(self) -> list:
        """Create the groups and synapses under the standalone device (no run yet)."""
        graph, batch = self.graph, self.batch
        self._check()
        previous = _current["engine"]
        if previous is not None and previous is not self:
            previous._device = None      # its project is about to be replaced
        set_device("cpp_standalone", directory=self.directory, build_on_run=False)
        self._device = get_device()
        self._device.reinit()
        self._device.activate(directory=self.directory, build_on_run=False)
        _current["engine"] = self
        self._clock = clock = Clock(dt=graph.timing.dt, name="circuit_clock")
        groups, objects = {}, []
        parts = [(column, column.build_groups(clock, graph.timing, batch),
                  lambda b, arrays, paired=column.rectified: ColumnState.from_arrays(b, arrays, paired))
                 for column in graph.columns.values()]
        parts += [(dendrite, dendrite.build_groups(clock, batch), lambda b, arrays: DendriteState(b, **arrays))
                  for dendrite in graph.dendrites]
        for part, built, make_state in parts:
            fields = part.state_variables()
            live = {f: np.zeros(built[p].N) for f, (p, v) in fields.items()}
            part.bind(built, make_state(batch, live))
            for field, (population, variable) in fields.items():
                self._parameters[(built[population].name, variable)] = live[field]
            groups.update({group.name: group for group in built.values()})
        objects += groups.values()
        self._groups = groups
        for (name, variable), values in self._parameters.items():   # the program's own initial values
            setattr(groups[name], variable, values)
        if graph.spiking:   # every coupling is carried by spikes; the seed is compiled in
            self._spikes = SpikingNetwork(graph, groups, clock, batch)
            objects += self._spikes.objects
            if graph.seed is not None:
                seed(graph.seed)
        else:
            couplings = [c for column in graph.columns.values() for c in column.couplings()]
            couplings += [c for p in graph.projections for c in p.couplings()]   # through their compartments
            paired = set().union(*(c.paired_groups for c in graph.columns.values()))
            for coupling in couplings:
                # every pair of a weight matrix gets a synapse, so that new weights fit the program
                synapses = build_synapses(coupling, groups, clock, batch.copies, all_pairs=True, paired=paired)
                layout = synapse_layout(coupling, groups[coupling.source].N, groups[coupling.target].N, batch.copies,
                                        coupling.source in paired, coupling.target in paired, all_pairs=True)
                self._synapses.append((synapses, coupling, layout))
                objects.append(synapses)
        graph.freeze()
        self.built = True
        return objects

    def _compile(self, plan: RunPlan):
        try:
            objects = self._build()
            own_objects(objects, self._groups.values())
            namespace = {}
            for column in self.graph.sensory_columns:
                stimulus = plan.stimuli[column.name]
                kind = "array" if isinstance(stimulus, TimedArray) else "constant"
                values = np.asarray(stimulus.values) if kind == "array" else np.asarray(stimulus)[None, :]
                timed = TimedArray(values, dt=self.graph.timing.dt, name=f"stimulus_{column.name}")
                self._kinds[column.name], self._stimuli[column.name] = kind, timed
                namespace[f"stimulus_{column.name}"] = timed
                objects.append(column.estimate.run_regularly(f"mu = stimulus_{column.name}(t, i)", when="start",
                                                             order=-1, name=f"{column.name}_clamp"))
            if plan.record_every:
                for column in self.graph.columns.values():
                    fields = column.state_variables()
                    recorded = [fields["estimate"], fields["error"]]
                    recorded += [fields["estimate_rate"], fields["error_rate"]] if self.graph.spiking else []
                    for population, variable in recorded:
                        group = getattr(column, population)
                        monitor = StateMonitor(group, variable, record=True, dt=plan.record_every * self.graph.timing.dt,
                                               name=f"{group.name}_{variable}_monitor")
                        self._monitors[(column.name, population, variable)] = monitor
                        objects.append(monitor)
            self._network = Network(*objects, name="circuit")
            self._network.run(plan.steps * self.graph.timing.dt, namespace=namespace)
            self._device.build(directory=self.directory, compile=True, run=False, with_output=False)
            self._steps, self._every = plan.steps, plan.record_every
        finally:
            set_device("runtime")   # other circuits in this process keep Brian2's runtime device

    @property
    def time(self) -> float:
        return self._time

    # -- running -------------------------------------------------------------------------------
    def run(self, plan: RunPlan):
        graph = self.graph
        if plan.learn:
            self.refuse("learning during a run")
        if plan.sequence is not None:
            self.refuse("run_sequence (item boundaries); call run() per item")
        if any(c.held for c in graph.columns.values()):
            self.refuse("fixed predictions (hold: the error neurons' input is switched at run time)")
        missing = [column.name for column in graph.sensory_columns if plan.stimuli.get(column.name) is None]
        if missing:
            raise ValueError(f"stimulus: a standalone run needs the stimulus of every sensory column "
                             f"(missing {missing}); it does not hold the previous one")
        if self._steps is None:
            self._compile(plan)
        elif self._device is None:
            raise RuntimeError("this standalone circuit's program was replaced by another standalone "
                               "circuit built in the same process (Brian2 keeps one); rebuild it")
        elif plan.steps != self._steps or plan.record_every != self._every:
            raise ValueError(f"a standalone circuit runs the duration and recording it was compiled for "
                             f"({self._steps * graph.timing.dt}, record every {self._every} steps); got "
                             f"{plan.steps * graph.timing.dt}, every {plan.record_every}. Build a new Circuit "
                             f"for another")
        added = [o.name for o in self._network.objects if isinstance(o, NetworkOperation)]
        if added:
            raise ValueError(f"network operations {added} were added to a standalone circuit's network; "
                             f"Brian2 would skip them silently in the compiled program. Remove them, or "
                             f"use the runtime device")
        run_args = {}
        for column in graph.clamped_columns:   # clamped latent columns: constant, part of the state
            if not column.sensory and plan.stimuli.get(column.name) is not None:
                column.state.estimate[:] = plan.stimuli[column.name]
        for column in graph.sensory_columns:
            stimulus = plan.stimuli[column.name]
            kind = "array" if isinstance(stimulus, TimedArray) else "constant"
            if kind != self._kinds[column.name]:
                raise ValueError(f"stimulus for {column.name!r}: this standalone circuit was compiled for a "
                                 f"{self._kinds[column.name]} stimulus; pass a {self._kinds[column.name]} one")
            values = np.asarray(stimulus.values) if kind == "array" else np.asarray(stimulus)[None, :]
            if values.shape != np.shape(self._stimuli[column.name].values):
                raise ValueError(f"stimulus for {column.name!r}: shape {values.shape} differs from the "
                                 f"compiled {np.shape(self._stimuli[column.name].values)}")
            run_args[self._stimuli[column.name]] = values
        for column in graph.columns.values():
            column.apply_attention()
        for (name, variable), values in self._parameters.items():   # continue from the current state
            run_args[getattr(self._groups[name], variable)] = values
        for synapses, coupling, layout in self._synapses:
            if coupling.matrix is not None:   # the current matrix (weights, Σ, flows) of every coupling
                run_args[synapses.w] = layout.weights(coupling.matrix)
        if self._spikes:
            run_args.update(self._spikes.parameters())
        with quiet_invalid_values(self.divergence_threshold):   # check_divergence below reports it
            self._device.run(self.directory, with_output=False, run_args=run_args)
        for (name, variable), values in self._parameters.items():
            values[:] = self._groups[name].variables[variable].get_value()
        start = self._time
        self._time += plan.steps * float(graph.timing.dt)
        self.check_divergence("at the end of the standalone run")
        if not plan.record_every:
            return None, None

        def recorded(name, population, variable):
            return getattr(self._monitors[(name, population, variable)], variable).T.copy()

        t = np.asarray(self._monitors[(next(iter(graph.columns)), "estimate", "mu")].t_) + start
        rates = {name: {population: np.asarray(recorded(name, population, "readout")) for population in
                        ("estimate", "error")} for name in graph.columns} if graph.spiking else {}
        return Trace(t, {name: recorded(name, *c.state_variables()["estimate"]) for name, c in graph.columns.items()},
                     {name: recorded(name, *c.state_variables()["error"]) for name, c in graph.columns.items()},
                     firing_rates=rates), None

    def reset(self):
        if self.built:
            for column in self.graph.columns.values():
                column.initial_state()
        self._time = 0.0
