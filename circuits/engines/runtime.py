"""The runtime engine: Brian2's runtime device (Cython or NumPy code objects) driven from Python.

Every feature runs here. Each column's estimate and error neurons (and interneurons) are
NeuronGroups integrated by Brian2's state updaters; the couplings are NumPy products written
into the groups before the state updaters (dense) or ``Synapses`` with summed variables.
Python runs between steps for what needs it, in ONE ``network_operation`` per step (scheduled
``before_groups``, after the stimulus and attention clamps), which calls in this order only
what the run needs: the item boundaries of a sequence (reset, next item, encoder schedule),
the recorder (the state at the start of the step), the dense couplings, continuous learning
(after the couplings read this step's weights) and the divergence check. Each Brian2 object
costs ~2–4 µs of Python per step here, so one object instead of five matters at small sizes.
"""
from __future__ import annotations

import gc
import inspect

from brian2 import Clock, Network, NetworkOperation, TimedArray, second
from brian2.codegen.runtime.numpy_rt import NumpyCodeObject
from brian2.groups.group import CodeRunner

from ..amortization import EncoderState
from ..column import ColumnState
from ..coupling import build_synapses, dense_couplings
from ..dendrite import DendriteState
from ..learning import apply_learning
from ..recording import Recorder, recorded_sources
from ..sequence import ItemBoundaries
from ..spiking import SpikingNetwork
from ..validation import as_time, choice
from .base import (Engine, RunPlan, SimulationDiverged, describe_divergence, find_divergence, own_objects,
                   quiet_invalid_values)

__all__ = ["RuntimeEngine"]

#: Code-generation targets: None follows ``brian2.prefs.codegen.target``.
TARGETS = (None, "cython", "numpy")


class RuntimeEngine(Engine):
    """Brian2's runtime device; ``target`` chooses the code objects (None: Brian2's preference,
    ``"auto"`` = Cython where a compiler works), ``check_interval`` how often divergence is
    checked during a run."""

    device = "runtime"

    def __init__(self, graph, batch, divergence_threshold, check_interval, target=None):
        super().__init__(graph, batch, divergence_threshold)
        self.target = choice(target, TARGETS, "target")
        self.check_interval = as_time(check_interval, "check_interval")
        self._check_every = max(1, int(round(float(self.check_interval / graph.timing.dt))))

    # -- building ------------------------------------------------------------------------------
    def build(self):
        if self.built:
            return
        graph = self.graph
        if not graph.columns:
            raise ValueError("the circuit has no columns; add them with sensory() and column()")
        if self.target == "numpy":
            codeobj_class = NumpyCodeObject
        elif self.target == "cython":
            from brian2.codegen.runtime.cython_rt import CythonCodeObject
            codeobj_class = CythonCodeObject
        else:
            codeobj_class = None
        self._clock = clock = Clock(dt=graph.timing.dt, name="circuit_clock")
        groups, objects, checked = {}, [], []
        try:
            self._build(clock, codeobj_class, groups, objects, checked)
        finally:   # also when building failed half-way: see own_objects
            own_objects([*groups.values(), *objects], checked)
        self._network = Network(*objects, name="circuit")
        self._steps_since_check, self._diverged, self._failure = 0, None, None
        graph.freeze()
        self.built = True

    def _build(self, clock, codeobj_class, groups: dict, objects: list, checked: list):
        """Create every Brian2 object into ``groups`` (by name) and ``objects`` (the Network's);
        ``checked``: the column groups the divergence check reads."""
        graph, batch = self.graph, self.batch
        for column in graph.columns.values():
            built = column.build_groups(clock, graph.timing, batch, codeobj_class)
            checked += built.values()
            column.bind(built, ColumnState.from_arrays(batch, _live(built, column.state_variables()), column.rectified))
            groups.update({group.name: group for group in built.values()})
        for encoder in graph.encoders.values():
            built = encoder.build_groups(clock, batch, codeobj_class)
            live = _live(built, encoder.state_variables())
            updates = {key.split(":", 1)[1]: live.pop(key) for key in list(live) if key.startswith("update:")}
            encoder.bind(built, EncoderState(batch, updates=updates, **live))
            groups.update({group.name: group for group in built.values()})
        for dendrite in graph.dendrites:
            built = dendrite.build_groups(clock, batch, codeobj_class)
            dendrite.bind(built, DendriteState(batch, **_live(built, dendrite.state_variables())))
            groups.update({group.name: group for group in built.values()})
        for group in groups.values():   # clamped sensory μ_0, compartments: nothing to integrate
            if not group.equations.diff_eq_names:
                group.state_updater.active = False
        objects += groups.values()
        self._clamps = {column.name: column.estimate.run_regularly(
            f"mu = stimulus_{column.name}(t - run_start, i)", when="start", order=-1,
            name=f"{column.name}_clamp", codeobj_class=codeobj_class) for column in graph.sensory_columns}
        self._attention_clamps = {column.name: column.error.run_regularly(
            f"gain = attention_{column.name}(t - run_start, i)", when="start", order=-1,
            name=f"{column.name}_attention", codeobj_class=codeobj_class)
            for column in graph.columns.values() if column.state.gain is not None}
        objects += [*self._clamps.values(), *self._attention_clamps.values()]
        self._spikes, self._couplings, self._held = None, None, ()
        if graph.spiking:   # every coupling is carried by spikes
            self._spikes = SpikingNetwork(graph, groups, clock, batch, codeobj_class)
            objects += self._spikes.objects
        else:
            objects += self._build_couplings(groups, codeobj_class)
        self._calls = []
        objects.append(NetworkOperation(self._step, when="before_groups", clock=clock, name="step"))

    def _build_couplings(self, groups: dict, codeobj_class) -> list:
        """The rate circuit's couplings: the Synapses ones (returned), and the function
        computing the dense ones in the per-step network operation."""
        graph, batch, objects = self.graph, self.batch, []
        self._groups = groups
        paired = graph.paired_groups
        if graph.backend != "dense":
            internal = [c for part in (*graph.columns.values(), *graph.encoders.values()) for c in part.couplings()]
            objects += [build_synapses(c, groups, self._clock, batch.copies, codeobj_class, paired=paired)
                        for c in internal]
        for projection in graph.projections:
            if projection.backend != "dense":
                projection.synapses = [build_synapses(c, groups, self._clock, batch.copies, codeobj_class,
                                                      paired=paired) for c in projection.couplings()]
                objects += projection.synapses
        self._couplings, self._held = self._dense_couplings(), self._held_columns()
        return objects

    @property
    def time(self) -> float:
        return float(self._network.t_) if self.built else 0.0

    def _held_columns(self) -> tuple:
        return tuple(name for name, column in self.graph.columns.items() if column.held)

    def _dense_couplings(self):
        """The function computing every dense coupling, made from the parts' couplings as they
        are now (a held column's errors read its inferred value: see Column.hold)."""
        graph = self.graph
        parts = (*graph.columns.values(), *graph.encoders.values()) if graph.backend == "dense" else ()
        dense = [c for part in parts for c in part.couplings()]
        dense += [c for p in graph.projections if p.backend == "dense" for c in p.couplings()]
        return (dense_couplings(dense, self._groups, self.batch.batched, self.batch.copies, graph.paired_groups)
                if dense else None)

    # -- running -------------------------------------------------------------------------------
    def run(self, plan: RunPlan):
        self.build()
        network, graph = self._network, self.graph
        if self._held_columns() != self._held:   # fixed predictions started or ended
            self._couplings, self._held = self._dense_couplings(), self._held_columns()
        namespace = {}
        for name, clamp in self._clamps.items():
            clamp.active = isinstance(plan.stimuli.get(name), TimedArray)
            if clamp.active:
                namespace[f"stimulus_{name}"] = plan.stimuli[name]
                graph.columns[name].estimate.run_start = network.t
        for name, stimulus in plan.stimuli.items():   # sensory and clamped latent columns
            if stimulus is not None and not isinstance(stimulus, TimedArray):   # None: hold the current value
                graph.columns[name].state.estimate[:] = stimulus
        for name, clamp in self._attention_clamps.items():
            column = graph.columns[name]
            clamp.active = isinstance(column.attention, TimedArray)
            if clamp.active:   # the same gains for every copy of a batch
                gains = column.attention
                namespace[f"attention_{name}"] = TimedArray(column.state.tile(gains.values), dt=gains.dt * second,
                                                            name=f"attention_{name}")
                column.error.run_start = network.t
            else:
                column.apply_attention()
        if self._spikes:
            self._spikes.apply()
            self._spikes.seed_run()
        calls, recorder, boundaries = [], None, None
        if plan.sequence is not None:
            boundaries = ItemBoundaries(graph, self.batch, plan.sequence)
            calls.append(boundaries.on_step)
        if plan.record_every:
            recorder = Recorder(recorded_sources(graph), self._clock.variables["t"].get_value(), plan.record_every,
                                plan.steps)
            calls.append(recorder.on_step)
        if self._couplings is not None:
            calls.append(self._couplings)
        if plan.learn:
            scale = float(graph.timing.dt / graph.timing.tau_estimate)
            calls.append(lambda: apply_learning(graph, scale))
        calls.append(self._count_to_check)
        self._calls, self._diverged, self._failure = calls, None, None
        gc.freeze()  # Brian2 calls gc.collect() at every run; frozen objects are not rescanned
        try:
            with quiet_invalid_values(self.divergence_threshold):   # reported once, as SimulationDiverged
                network.run(plan.steps * graph.timing.dt, namespace=namespace, report=plan.report)
        finally:
            gc.unfreeze()
        _keep_state_updater_code(network)
        if self._failure is not None:
            raise self._failure
        found = self._diverged or find_divergence(graph, self.divergence_threshold)
        if found is not None:
            raise SimulationDiverged(describe_divergence(found, self.divergence_threshold, graph.timing.dt,
                                                         f"at t = {network.t}"))
        if boundaries is not None:
            boundaries.end_item()
        return (recorder.trace() if recorder else None), (boundaries.trials() if boundaries else None)

    def _step(self):
        try:
            for call in self._calls:
                call()
        except SimulationDiverged as failure:   # a learning rule refused an unstable update
            self._failure = failure
            self._network.stop()

    def _count_to_check(self):
        """Every step: look for divergence every ``check_interval`` (counting steps: an
        operation on a clock of its own would slow every step of Brian2's loop); stop the
        network if something diverged."""
        self._steps_since_check += 1
        if self._steps_since_check == self._check_every:
            self._steps_since_check = 0
            self._diverged = find_divergence(self.graph, self.divergence_threshold)
            if self._diverged is not None:
                self._network.stop()

    def reset(self):
        if self.built:
            for column in self.graph.columns.values():
                column.initial_state()
            self._network.t_ = 0.0
            if self._spikes:
                self._spikes.runs = 0
        self._diverged = None


def _live(groups: dict, variables: dict) -> dict:
    """{field: the live array of group variable} for a part's ``state_variables()``."""
    return {field: groups[population].variables[variable].get_value()
            for field, (population, variable) in variables.items()}


def _keep_code_objects(run_namespace):
    """Replaces a state updater's ``create_code_objects``: keep the existing code object."""


#: Brian2's CodeRunner.create_code_objects(self, run_namespace), which the optimisation below
#: replaces per state updater; checked so that a Brian2 release that changes it runs unoptimised
#: instead of wrongly (tests/test_engines.py checks that it applies to the installed Brian2).
KEEPS_CODE_OBJECTS = list(inspect.signature(CodeRunner.create_code_objects).parameters) == ["self", "run_namespace"]


def _keep_state_updater_code(network):
    """After a run, let every state updater keep its code object for later runs.

    Brian2 regenerates each code object at every ``run()`` (~4 ms each here, 18 of the 27 ms
    that a run of a 3-column circuit costs before its first step). A state updater's code
    depends only on its group's equations and variables, fixed when the circuit is built, and
    reads every value (time constants, gains, offsets) from the group's arrays at run time, so
    the code object of the first run serves all later ones. (Clamps, which read a new
    TimedArray per run, are left to Brian2.)
    """
    if not KEEPS_CODE_OBJECTS:
        return
    for group in network.objects:
        updater = getattr(group, "state_updater", None)
        if updater is not None and getattr(updater, "codeobj", None) is not None:
            updater.create_code_objects = _keep_code_objects
