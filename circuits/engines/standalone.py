"""The C++ standalone engine: compile the circuit once, run the binary many times.

``Circuit(device="cpp_standalone")`` generates one C++ program for the circuit and compiles it
at the first :meth:`~circuits.Circuit.run` (tens of seconds). Later runs reuse that binary —
for any duration (the step count is a ``run_arg``, read by a :class:`~.compiled.StopAfter`
object that ends the compiled run) — with the stimulus, the state to continue from, the
weights (:meth:`~circuits.Circuit.set_weights`) and constant attention gains passed as Brian2
``run_args``, never recompiled. The program is kept in the compilation cache
(:func:`circuits.compilation.cache_directory`/``standalone/<key>``, the key a hash of the
circuit's structure, :func:`~.compiled.program.structure_key`), so a later process that builds
the same structure finds it compiled and only regenerates identical sources (make rebuilds
nothing); processes that build the same program at once take turns (a file lock).

Couplings are generated array code (:mod:`circuits.engines.compiled`): every dense coupling is
one BLAS product per step (``cblas_dgemv``, or one ``cblas_dgemm`` over a batch; ``sgemv``
and ``sgemm`` in single precision), every one-to-one link inside a column a plain loop; only
sparse couplings (the ``"synapses"`` backend) are ``Synapses`` with a ``(summed)`` variable,
connected where W ≠ 0. Standalone programs cannot call back into Python, so Brian2 skips
``network_operation``s there — silently. Nothing here is one: the recording is Brian2 ``StateMonitor``s, and divergence is
checked on the results when the program ends. :meth:`~circuits.Circuit.run_sequence` runs
compiled: the items are a TimedArray of one row per item, each item's reset and item-end
learning are generated code tested against the step (:class:`~.compiled.ItemStart`,
:class:`~.compiled.objects.HebbianUpdate` at item ends), monitors record every item's end, and
the item-end bookkeeping (F with each item's W) is replayed in Python afterwards; a program
compiled by run_sequence runs sequences of that item length and reset only. What needs Python
during a run is refused with an error naming it: learning other than W's (and Kolen–Pollack
B's), encoders, attention that changes during a run, fixed predictions, and in sequences
continuous learning, top-down resets, samples of q, rectified and generalized-coordinate
columns. A spiking circuit
(:mod:`circuits.spiking`) runs here too — its synapses carry spikes, its read-outs are recorded
with the states, its weights and tonic inputs are passed as ``run_args``; couplings from or to
rectified (ε+/ε−) populations stay ``Synapses``. A program compiled for a time-varying stimulus takes stimuli of at most as many
steps as the first one rounded up to a power of two, and constant ones (a program compiled
for a constant stimulus takes constant ones only). Brian2 keeps one standalone
project per process: building a second standalone circuit ends the first one's runs.
``Circuit(device="cpp_standalone", precision="single")`` compiles the program in float32
(ngc-learn's and most GPU code's precision; see :class:`StandaloneEngine`).
"""
from __future__ import annotations

import atexit
import fcntl
import hashlib
import os
import shutil
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
from brian2 import (Clock, Network, NetworkOperation, NeuronGroup, StateMonitor, TimedArray, get_device, prefs,
                    second, set_device)

from brian2 import seed as brian2_seed

from ..column import ColumnState
from ..compilation import cache_directory
from ..dendrite import DendriteState
from ..recording import Trace
from ..energy import current_free_energy
from ..sequence import ItemBoundaries
from ..spiking import SpikingNetwork
from .base import Engine, RunPlan, own_objects, quiet_invalid_values
from .compiled import CompiledDevice, ItemStart, StopAfter
from .compiled.objects import TEMPLATES
from .compiled.program import (build_couplings, build_learning, learned_matrices, learning_args, read_learned,
                               structure_key)

__all__ = ["StandaloneEngine"]

#: ``precision`` names and the dtype of the program's floating-point arrays.
PRECISIONS = {"double": np.float64, "single": np.float32}

_current = {"engine": None}
_devices = {}   # device class -> the one instance of this process

#: The ColumnState fields a recording run monitors (and, in a spiking circuit, the read-outs).
_RECORDED, _RECORDED_RATES = ("estimate", "error"), ("estimate_rate", "error_rate")

#: The duration a program is compiled for, in steps: longer than any run (StopAfter ends each).
_LONGEST = 2 ** 40


class StandaloneEngine(Engine):
    """Brian2's ``cpp_standalone`` device; the program is written to ``directory`` (default: the
    compilation cache, one directory per circuit structure). ``precision``: "double" (default;
    float64 arrays, equal to the runtime engine to 1e-12) or "single" (every state variable,
    matrix and product of the program in float32 — Brian2's ``core.default_float_dtype`` while
    the program is generated — and sgemv/sgemm: half the memory traffic of the weights and
    twice the arithmetic rate, with float32 rounding: ~6e-8 relative per operation; forward
    Euler stalls where a step's increment, dt/τ of the residual, is below half an ulp, so
    settled estimates are within ~(τ_μ/dt)·2^-24 of the fixed point; a weight decay factor
    1 − αλ·dt/τ_μ is rounded to float32 too, so a decay below ~3e-8 a step is lost). The state,
    weights and recordings the circuit hands back are float64 either way."""

    device = "cpp_standalone"
    precisions = tuple(PRECISIONS)

    def __init__(self, graph, batch, divergence_threshold, directory=None, precision="double"):
        super().__init__(graph, batch, divergence_threshold)
        self.directory = directory  # None: chosen by the structure when compiling
        self.precision = precision
        self._device = None
        self._compiled = False
        self._every = None          # compiled recording interval (0: none)
        self._sequence = None       # (steps per item, reset_between) of a program compiled for sequences
        self._starts = []           # (parameter group of the item-start estimates, column)
        self._steps = None          # the only duration a program runs (one that records, where
                                    # the device's monitors allocate the run up front), or None
        self._kinds = {}            # sensory column -> "constant" or "array" (compiled)
        self._stimuli = {}          # sensory column -> TimedArray in the program
        self._monitors = {}         # (column, ColumnState field) -> StateMonitor
        self._couplings = None      # CompiledCouplings
        self._control = None        # the group whose "steps" ends each run
        self._spikes = None         # the SpikingNetwork of a spiking circuit
        self._parameters = {}       # (group name, variable) -> the state array passed as run_args
        self._time = 0.0
        #: Seconds the program spent in its time-stepping loop in the last run (Brian2's own
        #: timer inside the program: without launching it, loading the state and writing the
        #: results); None before the first run.
        self.stepping_seconds = None

    def refuse(self, what: str):
        raise ValueError(f"device={self.device!r} cannot run {what}: it needs Python during the run "
                         f"(a network operation, which Brian2 skips in standalone mode). Use the runtime "
                         f"device (the default) for it.")

    def _check(self):
        graph = self.graph
        refused = []
        if graph.encoders:
            refused.append("encoders (amortized inference)")
        if any(not isinstance(c.attention, np.ndarray) for c in graph.columns.values()):
            refused.append("attention that changes during a run (a TimedArray gain)")
        if any(c.held for c in graph.columns.values()):
            refused.append("fixed predictions (hold: the error neurons' input is switched at run time)")
        if refused:
            self.refuse("; ".join(refused))

    def _check_continuous_learning(self):
        """Continuous learning runs compiled for the generative weights W (and Kolen–Pollack B)
        of dense projections between plain columns; refuse the rest, naming it."""
        if self.graph.spiking:
            raise ValueError(f"device={self.device!r} cannot learn during a run of a spiking circuit; use "
                             f"learn='trial' (applied after the run) or the runtime device")
        refused = [f"learned biases ({p.upper.name} → {p.lower.name})" for p in self.graph.projections if p.learn_bias]
        refused += [f"plastic weights {_why_learning_not_compiled(p)} ({p.upper.name} → {p.lower.name})"
                    for p in self.graph.projections if p.plastic and _why_learning_not_compiled(p)]
        refused += [f"learned covariances or lateral-inhibition flows (column {c.name!r})"
                    for c in self.graph.columns.values() if c.learns]
        if refused:
            raise ValueError(f"device={self.device!r} learns continuously only the weights W (and a "
                             f"Kolen–Pollack B) of dense projections; it cannot learn {'; '.join(refused)} "
                             f"during a run. Use learn='trial' (applied after the run, in Python) or the "
                             f"runtime device")

    # -- building ------------------------------------------------------------------------------
    def build(self):
        """Creating the groups needs the standalone device, which only the first run sets up:
        the program is built and compiled there."""
        if self.built:
            return
        raise RuntimeError("a device='cpp_standalone' circuit is built and compiled by its first "
                           "run(duration, stimulus); run it before reading its groups or state")

    def _build(self, sequence=None) -> list:
        """Create the groups and couplings under the standalone device (no run yet). Nothing
        is given a value here: every run passes the state and the matrices as run_args, so the
        generated code depends on the structure alone."""
        graph, batch = self.graph, self.batch
        self._check()
        previous = _current["engine"]
        if previous is not None and previous is not self:
            previous._device = None      # its project is about to be replaced
        set_device(self._new_device(), build_on_run=False)
        self._device = get_device()
        self._device.reinit()
        self._device.activate(build_on_run=False)
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
        couplings = [c for column in graph.columns.values() for c in column.couplings()]
        sparse = {c.name for c in couplings} if graph.backend != "dense" else set()
        for projection in graph.projections:   # through their compartments
            couplings += projection.couplings()
            if projection.backend != "dense":
                sparse |= {c.name for c in projection.couplings()}
        paired = graph.paired_groups
        if graph.spiking:   # every coupling is carried by spikes; the seed is compiled in
            couplings, sparse = [], set()
            self._spikes = SpikingNetwork(graph, groups, clock, batch)
            objects += self._spikes.objects
            if graph.seed is not None:
                brian2_seed(graph.seed)
        self._couplings = build_couplings(couplings, groups, clock, batch.copies, sparse, paired=paired)
        objects += self._couplings.objects
        item_steps = sequence.steps_per_item if sequence is not None else 0
        if not graph.spiking:
            objects += build_learning([p for p in graph.projections if not _why_learning_not_compiled(p)],
                                      self._couplings, groups, clock, item_steps)
        if sequence is not None and sequence.reset_between:
            objects += self._item_resets(item_steps, clock)
        self._control = NeuronGroup(1, "steps : 1  # steps of this run (a run_arg)", name="run_control", clock=clock,
                                    dtype={"steps": np.float64})   # exact beyond float32's 2^24
        objects += [self._control, StopAfter(self._control, clock)]
        self._structure = (groups, couplings, sparse)
        graph.freeze()
        self.built = True
        return objects

    #: This package's templates for the device (part of the program's cache key).
    templates = TEMPLATES

    #: Whether a program that records runs any duration (False: the duration it was compiled
    #: for, where the device's monitors allocate the whole run's memory when it starts).
    records_any_duration = True

    def _device_class(self):
        """The class of the Brian2 device that generates the program."""
        return CompiledDevice

    def _generator_versions(self) -> dict:
        """{package: version} of the code generators besides Brian2 (whose version every
        program's key holds), for the program's cache key."""
        return {}

    def _new_device(self):
        """The device of :meth:`_device_class`, one instance per process."""
        kind = self._device_class()
        if kind not in _devices:
            _devices[kind] = kind()
        return _devices[kind]

    def _preferences(self) -> dict:
        """Brian2 preferences to set while the program is generated and compiled: the C++
        include folders without those that Brian2's runtime (Cython) compilation appends to the
        shared preference list itself (folders of the brian2 package — brian2/synapses in 2.9,
        brian2/devices/cpp_standalone/brianlib in 2.11 — and NumPy's headers; a standalone
        project gets copies of what it needs), which would make the makefile, and so whether a
        later process recompiles the cached program, depend on what ran before in this process."""
        import brian2
        package = Path(brian2.__file__).parent

        def appended(folder: str) -> bool:
            return Path(folder) == Path(np.get_include()) or package in Path(folder).parents
        return {"codegen.cpp.include_dirs": [f for f in prefs["codegen.cpp.include_dirs"] if not appended(f)],
                "core.default_float_dtype": PRECISIONS[self.precision]}

    def _compile(self, plan: RunPlan):
        preferences = self._preferences()
        saved = {name: prefs[name] for name in preferences}
        try:
            for name, value in preferences.items():
                prefs[name] = value
            objects = self._build(plan.sequence)
            own_objects(objects, self._groups.values())
            namespace, settings = {}, {"precision": self.precision, **self._generator_versions()}
            dt = self.graph.timing.dt
            for column in self.graph.sensory_columns:
                stimulus = plan.stimuli[column.name]
                kind = "array" if isinstance(stimulus, TimedArray) else "constant"
                self._kinds[column.name] = kind
                settings[f"stimulus_{column.name}"] = kind
                if kind == "constant":   # μ_0 is part of the state passed to each run: no clamp
                    continue
                values = np.asarray(stimulus.values)
                rows = 1 << (len(values) - 1).bit_length()   # room for longer runs
                step = stimulus.dt * second                  # the stimulus's own sampling step
                timed = TimedArray(np.zeros((rows, values.shape[1])), dt=step, name=f"stimulus_{column.name}")
                self._stimuli[column.name] = timed
                settings[f"stimulus_{column.name}"] = (kind, timed.values.shape, float(step))
                namespace[f"stimulus_{column.name}"] = timed
                objects.append(column.estimate.run_regularly(f"mu = stimulus_{column.name}(t, i)", when="start",
                                                             order=-1, name=f"{column.name}_clamp"))
            if plan.record_every:
                for column in self.graph.columns.values():
                    fields = column.state_variables()
                    for field in _RECORDED + (_RECORDED_RATES if self.graph.spiking else ()):
                        population, variable = fields[field]
                        group = getattr(column, population)
                        # every step: on the circuit's clock, so that the program has one clock and its
                        # main.cpp does not depend on the order of a set of clocks (a new process then
                        # regenerates it identically; with a clock per monitor only main.o recompiles)
                        timing = ({"clock": self._clock} if plan.record_every == 1
                                  else {"dt": plan.record_every * dt})
                        monitor = StateMonitor(group, variable, record=True, name=f"{group.name}_{variable}_monitor",
                                               **timing)
                        self._monitors[(column.name, field)] = monitor
                        objects.append(monitor)
            if plan.sequence is not None:   # the state at every item's start, before its learning and reset
                every = plan.sequence.steps_per_item * dt
                for column in self.graph.columns.values():
                    for field in _RECORDED:
                        population, variable = column.state_variables()[field]
                        group = getattr(column, population)
                        monitor = StateMonitor(group, variable, record=True, dt=every, when="start", order=-5,
                                               name=f"{group.name}_{variable}_item_ends")
                        self._monitors[("item_ends", column.name, field)] = monitor
                        objects.append(monitor)
                sequence = (plan.sequence.steps_per_item, plan.sequence.reset_between)
                settings["sequence"] = self._sequence = sequence
            self._network = Network(*objects, name="circuit")
            fixed_duration = (plan.record_every or plan.sequence is not None) and not self.records_any_duration
            longest = plan.steps if fixed_duration else _LONGEST   # StopAfter ends each run
            self._network.run(longest * dt, namespace=namespace)
            timing = self.graph.timing
            plastic = [(p.upper.name, p.lower.name, p.feedback) for p in self.graph.projections if p.plastic]
            key = structure_key(*self._structure, self._couplings, self.templates, spiking=self.graph.spiking, seed=self.graph.seed, dt=float(dt), tau_estimate=float(timing.tau_estimate),
                                tau_error=float(timing.tau_error), copies=self.batch.copies, plastic=plastic,
                                record_every=plan.record_every, device=self.device, steps=longest, **settings)
            self.directory = self.directory or str(cache_directory() / "standalone" / key)
            with _building(Path(self.directory)):
                self._device.build(directory=self.directory, compile=True, run=False, with_output=False)
            self._every, self._compiled, self._steps = plan.record_every, True, plan.steps if fixed_duration else None
        finally:
            for name, value in saved.items():
                prefs[name] = value
            set_device("runtime")   # other circuits in this process keep Brian2's runtime device

    def _item_resets(self, item_steps: int, clock) -> list:
        """At every item's start: latent estimates (not clamped ones) back to the prior mean (a
        parameter group per column, set by each run), every error neuron to zero; as
        :meth:`Column.reset_state` does between the items of a runtime sequence."""
        objects = []
        for column in self.graph.columns.values():
            fields = column.state_variables()
            if not (column.sensory or column.clamped):
                start = NeuronGroup(column.estimate.N, "value : 1  # the prior mean m, tiled", clock=clock,
                                    name=f"{column.name}_item_start")
                self._starts.append((start, column))
                objects += [start, ItemStart(f"{column.name}_estimate_reset", column.estimate, "mu = _start",
                                             item_steps, clock, start)]
            _, variable = fields["error"]
            objects.append(ItemStart(f"{column.name}_error_reset", column.error, f"{variable} = 0", item_steps, clock))
        return objects

    def _check_sequence(self, sequence):
        """A compiled sequence: items of the sensory columns, the iterative inference of plain
        rate columns, learning at the settled state; refuse the rest, naming it."""
        graph, refused = self.graph, []
        if sequence.reset_between == "prediction":
            refused.append("reset_between='prediction' (a top-down sweep at each item's start)")
        if sequence.learn_at != "settled":
            refused.append(f"learn_at={sequence.learn_at!r} (samples of q at item ends)")
        refused += [f"items for the clamped latent column {name!r}" for name in sequence.items
                    if not graph.columns[name].sensory]
        refused += [f"a column with {what} ({c.name!r})" for c in graph.columns.values() for what, where in
                    (("rectified errors", c.rectified), ("generalized coordinates", c.order > 1),
                     ("covariance interneurons", c.learn_covariance)) if where]
        if graph.spiking:
            refused.append("spiking columns")
        if sequence.learn == "continuous":
            refused.append("learn='continuous' (the free energy at each item's end needs that item's W; use "
                           "learn='trial', or run() to learn continuously)")
        if sequence.learn == "trial":
            try:
                self._check_continuous_learning()
            except ValueError as failure:
                refused.append(f"item-end learning of what does not learn compiled ({failure})")
        if refused:
            self.refuse("run_sequence with " + "; ".join(refused))

    def _sequence_plan(self, plan: RunPlan) -> RunPlan:
        """The plan of a compiled sequence: the sensory columns' items as TimedArrays of one
        row per item (the clamp reads the item of the step)."""
        step = plan.sequence.steps_per_item * self.graph.timing.dt
        return replace(plan, stimuli={name: TimedArray(values, dt=step) for name, values in plan.sequence.items.items()})

    @property
    def time(self) -> float:
        return self._time

    # -- running -------------------------------------------------------------------------------
    def run(self, plan: RunPlan):
        graph = self.graph
        if plan.learn:
            self._check_continuous_learning()
        sequence = plan.sequence
        if sequence is not None:
            self._check_sequence(sequence)
            plan = self._sequence_plan(plan)
        kind = None if sequence is None else (sequence.steps_per_item, sequence.reset_between)
        if self._compiled and kind != self._sequence:
            raise ValueError(f"this device={self.device!r} circuit was compiled for {_program_kind(self._sequence)}; "
                             f"got {_program_kind(kind)}. Build a new Circuit for another")
        if any(c.held for c in graph.columns.values()):
            self.refuse("fixed predictions (hold: the error neurons' input is switched at run time)")
        missing = [column.name for column in graph.sensory_columns if plan.stimuli.get(column.name) is None]
        if missing:
            raise ValueError(f"stimulus: a standalone run needs the stimulus of every sensory column "
                             f"(missing {missing}); it does not hold the previous one")
        if not self._compiled:
            self._compile(plan)
        elif self._device is None:
            raise RuntimeError("this standalone circuit's program was replaced by another standalone "
                               "circuit built in the same process (Brian2 keeps one); rebuild it")
        elif plan.record_every != self._every:
            raise ValueError(f"a standalone circuit records as it was compiled to (every {self._every} steps, "
                             f"0: not at all); got every {plan.record_every}. Build a new Circuit for another")
        added = [o.name for o in self._network.objects if isinstance(o, NetworkOperation)]
        if added:
            raise ValueError(f"network operations {added} were added to a standalone circuit's network; "
                             f"Brian2 would skip them silently in the compiled program. Remove them, or "
                             f"use the runtime device")
        if self._steps is not None and plan.steps != self._steps:
            raise ValueError(f"device={self.device!r} records only runs of the duration it was compiled for "
                             f"({self._steps} steps, {self._steps * graph.timing.dt}); got "
                             f"{plan.steps * graph.timing.dt}. Build a new Circuit for another duration, or one "
                             f"whose first run does not record (record=False): that program runs any duration")
        run_args = {self._control.steps: plan.steps}
        for column in graph.clamped_columns:   # clamped latent columns: constant, part of the state
            if not column.sensory and plan.stimuli.get(column.name) is not None:
                column.state.estimate[:] = plan.stimuli[column.name]
        for column in graph.sensory_columns:
            stimulus = plan.stimuli[column.name]
            kind = "array" if isinstance(stimulus, TimedArray) else "constant"
            if kind == "array" and self._kinds[column.name] == "constant":
                raise ValueError(f"stimulus for {column.name!r}: this standalone circuit was compiled for a "
                                 f"constant stimulus; build a new Circuit whose first run has a time-varying one")
            if self._kinds[column.name] == "constant":
                column.state.estimate[:] = stimulus   # passed with the state below
                continue
            values = np.asarray(stimulus.values) if kind == "array" else np.asarray(stimulus)[None, :]
            rows, width = np.shape(self._stimuli[column.name].values)
            if kind == "array" and not np.isclose(stimulus.dt, self._stimuli[column.name].dt):
                raise ValueError(f"stimulus for {column.name!r}: a TimedArray sampled every {stimulus.dt * second}; "
                                 f"the program was compiled for every {self._stimuli[column.name].dt * second}. "
                                 f"Build a new Circuit for another sampling step")
            if values.shape[1:] != (width,) or len(values) > rows:
                raise ValueError(f"stimulus for {column.name!r}: shape {values.shape} does not fit the compiled "
                                 f"program ({rows} steps of {width} values at most); build a new Circuit, "
                                 f"running the longest stimulus first")
            run_args[self._stimuli[column.name]] = np.concatenate([values, np.repeat(values[-1:], rows - len(values), 0)])
        for column in graph.columns.values():
            column.apply_attention()
        for (name, variable), values in self._parameters.items():   # continue from the current state
            run_args[getattr(self._groups[name], variable)] = values
        run_args.update(self._couplings.run_args())   # the current matrices (weights, Σ, flows)
        step = float(graph.timing.dt / graph.timing.tau_estimate) if plan.learn else 0.0
        trial = sequence is not None and sequence.learn == "trial"
        run_args.update(learning_args(self._couplings, step, trial))
        for start, column in self._starts:
            run_args[start.value] = column.state.tile(column.prior_mean)
        if self._spikes:
            run_args.update(self._spikes.parameters())
        weights_before = [(matrix, matrix.copy()) for matrix in learned_matrices(self._couplings)] if trial else []
        project = Path(self.directory)
        results, arguments = _process_directories(project)      # processes may share the cached program
        with quiet_invalid_values(self.divergence_threshold):   # check_divergence below reports it
            self._device.run(self.directory, results_directory=results.name, with_output=False,
                             run_args=_command_line(run_args, arguments))
        # the program's own record of its loop: "<seconds> <completed fraction>"
        self.stepping_seconds = float((Path(self._device.results_dir) / "last_run_info.txt").read_text().split()[0])
        for (name, variable), values in self._parameters.items():
            values[:] = self._groups[name].variables[variable].get_value()
        if plan.learn or trial:
            read_learned(self._couplings)
        trace = None
        if plan.record_every:
            columns = graph.columns
            t = self._recorded(next(iter(columns)), "estimate", times=True)[:, 0] + self._time
            rates = {name: {population: self._recorded(name, f"{population}_rate") for population in
                            ("estimate", "error")} for name in columns} if graph.spiking else {}
            trace = Trace(t, {name: self._recorded(name, "estimate") for name in columns},
                          {name: self._recorded(name, "error") for name in columns}, firing_rates=rates)
        self._time += plan.steps * float(graph.timing.dt)
        self.check_divergence("at the end of the standalone run")
        return trace, (self._item_ends(sequence, weights_before) if sequence is not None else None)

    def _item_ends(self, sequence, weights_before: list) -> dict:
        """The Recording's ``trial_*`` of a compiled sequence. The monitors hold each item's end
        state (recorded at the start of the next item, before its learning and reset; their
        first row is the state before the first item). Each is put back into the columns in
        turn, with the weights of that moment, and the runtime's own item-end bookkeeping
        (:meth:`ItemBoundaries.end_item`: μ, ε, F, then the item-end learning) runs on it:
        F needs each item's W, which learning changed during the run — it is relearned here
        from ``weights_before`` (in float64: equal to the program's own result, read back
        already, in double precision, within float32 rounding of it in single). The last item
        ends at the final state."""
        graph, batch = self.graph, self.batch
        boundaries = ItemBoundaries(graph, batch, sequence)
        final = {name: (column.state.estimate.copy(), column.state.error.copy()) for name, column in graph.columns.items()}
        for matrix, values in weights_before:
            matrix[:] = values
        recorded = {(name, field): self._recorded(("item_ends", name, field)) for name in graph.columns
                    for field in _RECORDED}
        for item in range(1, sequence.count + 1):
            for name, column in graph.columns.items():
                estimate, error = ((recorded[(name, "estimate")][item], recorded[(name, "error")][item])
                                   if item < sequence.count else final[name])
                column.state.estimate[:] = estimate
                column.state.set_error(error)
            boundaries.end_item()
        return boundaries.trials()

    def _recorded(self, column, field: str | None = None, times: bool = False) -> np.ndarray:
        """(steps recorded, neurons) of the monitor of ``column``'s state ``field`` (a
        :class:`ColumnState` field) — or of the monitor keyed ``column`` (a tuple) — or (steps
        recorded, 1) of its recording ``times``, read from the run's results (Brian2's own reader
        assumes every run records as many steps as the first)."""
        monitor = self._monitors[column if field is None else (column, field)]
        recorded = monitor.variables["t" if times else monitor.record_variables[0]]
        path = Path(self._device.results_dir) / self._device.get_array_filename(recorded)
        values = np.fromfile(path, dtype=recorded.dtype).reshape(-1, 1 if times else len(monitor.record))
        return values.astype(np.float64, copy=False)

    def reset(self):
        if self.built:
            for column in self.graph.columns.values():
                column.initial_state()
        self._time = 0.0


def _why_learning_not_compiled(projection) -> str | None:
    """Why continuous learning of ``projection``'s W cannot run compiled (the end of "plastic
    weights …"), or None: it runs compiled for a dense, one-layer projection onto signed
    errors in ordinary coordinates."""
    if projection.backend != "dense":
        return "of the 'synapses' backend"
    if len(projection.couplings()) != 2 or projection.lower.rectified:
        return "through dendritic compartments or onto rectified errors"
    if projection.lower.order > 1:
        return "between columns in generalized coordinates"
    return None


@contextmanager
def _building(project: Path):
    """Hold the program's lock (``<project>.lock``, an exclusive ``flock``) while it is generated
    and compiled: processes that build the same cached program at once (sweep workers, say)
    take turns; the later ones find the files unchanged and compile nothing."""
    project.parent.mkdir(parents=True, exist_ok=True)
    with open(project.with_name(project.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _program_kind(sequence) -> str:
    """Words for what a program was compiled for: runs, or sequences of (steps per item, reset)."""
    if sequence is None:
        return "run() (no items)"
    return f"run_sequence with items of {sequence[0]} steps and reset_between={sequence[1]!r}"


def _process_directories(project: Path) -> tuple[Path, Path]:
    """This process's results and run_args folders in a program's directory (removed when
    the process exits, so that a cached program does not collect them)."""
    folders = project / f"results-{os.getpid()}", project / f"arguments-{os.getpid()}"
    if not folders[1].exists():
        folders[1].mkdir(parents=True)
        atexit.register(lambda: [shutil.rmtree(folder, ignore_errors=True) for folder in folders])
    return folders


def _command_line(run_args: dict, folder: Path) -> list[str]:
    """``run_args`` ({VariableView or TimedArray: values}) in the command-line form of Brian2's
    ``device.run``, each array written into ``folder`` once per content (named by its hash;
    the file it replaces is removed). Brian2's own dict form also hashes, but locks and logs
    every file: ~0.3 ms each, most of a small circuit's run."""
    arguments = []
    for key, value in run_args.items():
        name = f"{key.name}.values" if isinstance(key, TimedArray) else f"{key.group_name}.{key.name}"
        dtype = key.values.dtype if isinstance(key, TimedArray) else key.variable.dtype
        values = np.ascontiguousarray(value, dtype=dtype)   # the program reads the array's bytes
        if values.size == 1:
            arguments.append(f"{name}={float(values.ravel()[0])!r}")
            continue
        path = folder / f"{name}-{hashlib.blake2b(values.data, digest_size=12).hexdigest()}"
        if not path.exists():
            for previous in folder.glob(f"{name}-*"):
                previous.unlink()
            values.tofile(path)
        arguments.append(f"{name}={path}")
    return arguments
