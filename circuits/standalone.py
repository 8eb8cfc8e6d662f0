"""Brian2's C++ standalone mode for circuits: compile once, run many times with new inputs.

``Circuit(device="cpp_standalone")`` generates one C++ program for the circuit and compiles it
at the first :meth:`~circuits.Circuit.run` (a few seconds). Later runs of the same duration
reuse that binary: the stimulus, the state to continue from, the weights
(:meth:`~circuits.Circuit.set_weights`) and constant attention gains are passed to it as
Brian2 ``run_args``, never recompiled.

Standalone programs cannot call back into Python, so Brian2 skips ``network_operation``s there
— silently. Nothing in a standalone circuit is one: every coupling is a Brian2 ``Synapses``
object with a ``(summed)`` variable (the ``"synapses"`` backend, whatever the circuit's
``backend``), the recording is Brian2 ``StateMonitor``s, and divergence is checked on the
results when the program ends. What needs Python during a run is refused with an error
naming it: learning, encoders, sequences (``run_sequence``), attention that changes during a
run. Brian2 keeps one standalone project per process: building a second standalone circuit
ends the first one's runs.
"""
from __future__ import annotations

import tempfile

import numpy as np
from brian2 import Clock, Network, NetworkOperation, StateMonitor, TimedArray, get_device, second, set_device

from .projection import build_synapses, synapse_indices

__all__ = ["StandaloneRunner"]

_current = {"runner": None}


class StandaloneRunner:
    """Builds, compiles and runs one circuit as a Brian2 C++ standalone program."""

    def __init__(self, circuit, directory=None):
        self.circuit = circuit
        self.directory = directory or tempfile.mkdtemp(prefix="pcsim-standalone-")
        self.device = None
        self.steps = None          # compiled duration, in steps
        self.every = None          # compiled recording interval (0: none)
        self.kinds = {}            # sensory column -> "constant" or "array" (compiled)
        self.stimuli = {}          # sensory column -> TimedArray in the program
        self.monitors = {}
        self.synapses = []         # (Synapses, coupling, (post, pre) of its synapses)
        self.groups = {}           # group name -> NeuronGroup (once built)
        self.state = {}            # (group name, variable) -> current values (Python side)
        self.time = 0.0            # seconds simulated so far

    # -- checks --------------------------------------------------------------------------------
    def check(self):
        circuit = self.circuit
        refused = []
        if circuit.learns:
            refused.append("learning (plastic projections, learned covariances or flows, encoders)")
        if circuit.encoders:
            refused.append("encoders (amortized inference)")
        if any(not isinstance(c.attention, np.ndarray) for c in circuit.columns.values()):
            refused.append("attention that changes during a run (a TimedArray gain)")
        if refused:
            raise ValueError("device='cpp_standalone' cannot run " + "; ".join(refused) + ": they need "
                             "Python during the run (network operations, which Brian2 skips in "
                             "standalone mode). Use the runtime device (the default) for them.")

    # -- building ------------------------------------------------------------------------------
    def build(self):
        """Create the groups and synapses under the standalone device (no run yet)."""
        circuit = self.circuit
        self.check()
        previous = _current["runner"]
        if previous is not None and previous is not self:
            previous.device = None      # its project is about to be replaced
        set_device("cpp_standalone", directory=self.directory, build_on_run=False)
        self.device = get_device()
        self.device.reinit()
        self.device.activate(directory=self.directory, build_on_run=False)
        _current["runner"] = self
        objects = []
        circuit._clock = Clock(dt=circuit.dt, name="circuit_clock")
        for column in circuit.columns.values():
            column._build_groups(circuit._clock, None, method="euler")
            objects += column._groups()
        self.groups = {group.name: group for group in objects}
        self.state = self._initial_state()
        for (name, variable), values in self.state.items():   # the program's own initial values
            setattr(self.groups[name], variable, values)
        for column in circuit.columns.values():
            if not column.sensory:
                column._estimate.tau_estimate = circuit.tau_estimate
            column._error.tau_error = circuit.tau_error
            if "gain" in column._error.variables:   # the current gains are passed at every run
                column._error.gain = column._tile(column.attention)
        couplings = [c for column in circuit.columns.values() for c in column._couplings()]
        couplings += [c for p in circuit.projections for c in p.couplings()]
        for coupling in couplings:
            # every pair of a weight matrix gets a synapse, so that new weights fit the program
            synapses = build_synapses(coupling, circuit._clock, None, circuit._copies, all_pairs=True)
            indices = None if coupling.matrix is None else synapse_indices(coupling.matrix, all_pairs=True)
            self.synapses.append((synapses, coupling, indices))
            objects.append(synapses)
        return objects

    def _initial_state(self) -> dict:
        """{(group name, variable): values}: estimates at the prior mean (sensory ones at 0),
        errors at 0, as :meth:`Circuit.reset` defines the initial state."""
        state = {}
        for column in self.circuit.columns.values():
            state[(column._estimate.name, "mu")] = (np.zeros(column.size * column.batch) if column.sensory
                                                    else column._tile(column.prior_mean))
            state[(column._error.name, "eps")] = np.zeros(column.error_size * column.batch)
        return state

    def compile(self, steps, every, clamps):
        """Add clamps and monitors, declare the run of ``steps`` and compile the program."""
        try:
            self._compile(steps, every, clamps)
        finally:
            set_device("runtime")   # other circuits in this process keep Brian2's runtime device

    def _compile(self, steps, every, clamps):
        circuit = self.circuit
        objects = self.build()
        namespace = {}
        for column in circuit._sensory_columns():
            stimulus = clamps[column.name]
            kind = "array" if isinstance(stimulus, TimedArray) else "constant"
            values = np.asarray(stimulus.values) if kind == "array" else np.asarray(stimulus)[None, :]
            timed = TimedArray(values, dt=circuit.dt, name=f"stimulus_{column.name}")
            self.kinds[column.name], self.stimuli[column.name] = kind, timed
            namespace[f"stimulus_{column.name}"] = timed
            objects.append(column._estimate.run_regularly(f"mu = stimulus_{column.name}(t, i)", when="start",
                                                          order=-1, name=f"{column.name}_clamp"))
        if every:
            for column in circuit.columns.values():
                for group, variable in ((column._estimate, "mu"), (column._error, "eps")):
                    monitor = StateMonitor(group, variable, record=True, dt=every * circuit.dt,
                                           name=f"{group.name}_monitor")
                    self.monitors[(column.name, variable)] = monitor
                    objects.append(monitor)
        circuit._network = Network(*objects, name="circuit")
        circuit._network.run(steps * circuit.dt, namespace=namespace)
        self.device.build(directory=self.directory, compile=True, run=False, with_output=False)
        self.steps, self.every = steps, every

    # -- running -------------------------------------------------------------------------------
    def run(self, steps, every, clamps):
        """Run the compiled program from the current state; returns (t, estimates, errors)."""
        circuit = self.circuit
        if self.steps is None:
            self.compile(steps, every, clamps)
        elif self.device is None:
            raise RuntimeError("this standalone circuit's program was replaced by another standalone "
                               "circuit built in the same process (Brian2 keeps one); rebuild it")
        elif steps != self.steps or every != self.every:
            raise ValueError(f"a standalone circuit runs the duration and recording it was compiled "
                             f"for ({self.steps * circuit.dt}, record every {self.every} steps); got "
                             f"{steps * circuit.dt}, every {every}. Build a new Circuit for another")
        added = [o.name for o in circuit._network.objects if isinstance(o, NetworkOperation)]
        if added:
            raise ValueError(f"network operations {added} were added to a standalone circuit's network; "
                             f"Brian2 would skip them silently in the compiled program. Remove them, or "
                             f"use the runtime device")
        run_args = {}
        for column in circuit._sensory_columns():
            stimulus = clamps[column.name]
            kind = "array" if isinstance(stimulus, TimedArray) else "constant"
            if kind != self.kinds[column.name]:
                raise ValueError(f"stimulus for {column.name!r}: this standalone circuit was compiled for a "
                                 f"{self.kinds[column.name]} stimulus; pass a {self.kinds[column.name]} one")
            values = np.asarray(stimulus.values) if kind == "array" else np.asarray(stimulus)[None, :]
            if values.shape != np.shape(self.stimuli[column.name].values):
                raise ValueError(f"stimulus for {column.name!r}: shape {values.shape} differs from the "
                                 f"compiled {np.shape(self.stimuli[column.name].values)}")
            run_args[self.stimuli[column.name]] = values
        for (name, variable), values in self.state.items():   # continue from the current state
            run_args[getattr(self.groups[name], variable)] = values
        for column in circuit.columns.values():
            if "gain" in column._error.variables:
                column._attend_lateral()
                run_args[column._error.gain] = column._tile(column.attention)
        for synapses, coupling, indices in self.synapses:
            if indices is not None:   # the current matrix (weights, Σ, flows) of every coupling
                run_args[synapses.w] = np.tile(coupling.matrix[indices], circuit._copies)
        self.device.run(self.directory, with_output=False, run_args=run_args)
        for name, variable in self.state:
            self.state[(name, variable)] = np.array(self.groups[name].variables[variable].get_value())
        start = self.time
        self.time += steps * float(circuit.dt)
        if not every:
            return None
        t = np.asarray(self.monitors[(next(iter(circuit.columns)), "mu")].t_) + start
        estimates = {name: self.monitors[(name, "mu")].mu.T.copy() for name in circuit.columns}
        errors = {name: self.monitors[(name, "eps")].eps.T.copy() for name in circuit.columns}
        return t * second, estimates, errors

    def reset(self):
        """Back to the initial state (as :meth:`Circuit.reset`)."""
        if self.state:   # built: before that, the build sets the initial state
            self.state = self._initial_state()
        self.time = 0.0

