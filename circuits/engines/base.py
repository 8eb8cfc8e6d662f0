"""The protocol every engine implements, and what engines share.

An engine turns a :class:`~circuits.graph.CircuitGraph` into Brian2 objects and runs them:

``build()``
    create the groups and couplings (with the builders of :mod:`circuits.column`,
    :mod:`circuits.projection`, :mod:`circuits.coupling`) and bind every column's and
    encoder's live state (:class:`~circuits.column.ColumnState`);
``run(plan)``
    simulate ``plan.steps`` steps from the current state with the plan's stimuli, recording
    and learning (and, for a sequence, its items), and return a
    :class:`~circuits.recording.Trace` (or None when nothing is recorded) and the sequence's
    end-of-item records;
``reset()``
    time 0 and the initial state;
``time``, ``network``
    the simulated time (seconds) and the Brian2 Network.

State is read and written through the columns' public views (``column.state``), so the
facade, learning, sequences and analysis never know which engine runs.
"""
from __future__ import annotations

import contextlib
import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from ..errors import SimulationDiverged
from ..sequence import Sequence

__all__ = ["Engine", "RunPlan", "SimulationDiverged", "describe_divergence", "find_divergence", "own_objects",
           "quiet_invalid_values"]


@dataclass
class RunPlan:
    """One call of :meth:`Engine.run`.

    steps : how many steps of dt
    stimuli : {sensory or clamped column name: constant batch-major vector, a TimedArray read at
              the time since the start of the run (sensory columns), or None (hold)}; a sequence
              clamps its items itself
    record_every : record every k-th step (k ≥ 1), or 0 for the final state only
    learn : apply the learning rules every step (continuous learning)
    sequence : the items of :meth:`Circuit.run_sequence`, or None
    report : Brian2's ``report`` argument (progress of long runs)
    """

    steps: int
    stimuli: dict
    record_every: int = 1
    learn: bool = False
    sequence: Sequence | None = None
    report: object = None


class Engine(ABC):
    """Builds and runs one circuit graph (see the module docstring).

    ``graph``, ``batch`` and ``divergence_threshold`` (|μ| or |ε| beyond it, or non-finite,
    stops a run with :class:`SimulationDiverged`) are shared by every engine.
    """

    #: The ``device`` name that selects this engine in ``Circuit(device=...)``.
    device = ""

    #: The ``Circuit(precision=...)`` values it computes in ("double": float64).
    precisions = ("double",)

    def __init__(self, graph, batch, divergence_threshold: float):
        self.graph, self.batch, self.divergence_threshold = graph, batch, divergence_threshold
        self.built = False
        self._network = None   # the Brian2 Network, once built

    @abstractmethod
    def build(self):
        """Create the Brian2 objects and bind the live states (once)."""

    @abstractmethod
    def run(self, plan: RunPlan):
        """Simulate ``plan``; returns (Trace or None, end-of-item records or None)."""

    @abstractmethod
    def reset(self):
        """Time 0, estimates at the prior mean (sensory ones at 0), errors and interneurons 0."""

    @property
    @abstractmethod
    def time(self) -> float:
        """Simulated time since the last reset, in seconds."""

    @property
    def network(self):
        """The Brian2 Network (built if needed)."""
        self.build()
        return self._network

    def check_divergence(self, when: str):
        """Raise :class:`SimulationDiverged` if any rate is non-finite or beyond the threshold."""
        found = find_divergence(self.graph, self.divergence_threshold)
        if found is not None:
            raise SimulationDiverged(describe_divergence(found, self.divergence_threshold, self.graph.timing.dt, when))


def find_divergence(graph, threshold: float):
    """The first (column, population, symbol, largest |value|) whose μ, ε or interneuron
    activity a is non-finite or beyond ``threshold``, or None (no strings are made unless
    something diverged)."""
    for column in graph.columns.values():
        state = column.state
        for population, values, symbol in (("estimate", state.estimate, "μ"), ("error", state.error, "ε"),
                                           ("interneuron", state.activity, "a")):
            if values is None or not len(values):
                continue
            largest = max(values.max(), -values.min())   # no temporary; NaN stays NaN
            if not largest <= threshold:   # also true for NaN
                return column.name, population, symbol, largest
    return None


# -- Brian2's warnings about the engines' own objects -----------------------------------------
#: Brian2 warns about values beyond this (or NaN) after every run (``invalid_values``).
BRIAN2_INVALID = 1e50

#: Names of the Brian2 objects engines create, and of the groups whose μ, ε and a the
#: divergence check reads.
_OWN, _CHECKED = set(), set()


def own_objects(objects, checked_groups):
    """Register the Brian2 objects an engine created (``checked_groups``: those whose values
    :func:`find_divergence` reads).

    Brian2 warns when an object that never ran is garbage-collected ("… is getting deleted, but
    was never included in a network"), meant for objects a user forgot to add. An engine puts
    every object it creates into its Network, so the warning only appears when a circuit is
    dropped before its first run got going (built only to read its state, or its first run
    failed): then it is noise after the real error, and it is not shown for these objects.
    """
    _OWN.update(obj.name for obj in objects)
    _CHECKED.update(group.name for group in checked_groups)


class _EngineObjects(logging.Filter):
    """Drops Brian2's "never included in a network" warning for objects of :data:`_OWN`."""

    def filter(self, record) -> bool:
        message = record.getMessage()
        return not (message.startswith("The object '") and message.split("'", 2)[1] in _OWN)


class _CheckedGroups(logging.Filter):
    """Drops Brian2's ``invalid_values`` warning for groups the divergence check reads."""

    def filter(self, record) -> bool:
        return record.getMessage().split("'s variable '", 1)[0] not in _CHECKED


logging.getLogger("brian2.core.base.unused_brian_object").addFilter(_EngineObjects())


@contextlib.contextmanager
def quiet_invalid_values(threshold: float):
    """During a run, what the engine's divergence check reports as one
    :class:`SimulationDiverged` (naming the column and the fix) is not warned about as well:
    NumPy's floating-point overflow and invalid-value warnings (a diverging run overflows before
    it is stopped; Brian2's own test |value| > 1e50 casts 1e50 to float32 in a
    ``precision="single"`` program, which NumPy ≥ 2 warns about), and Brian2's "NaN or very large
    values" warning for the circuit's groups when the check covers it (``threshold`` ≤ 1e50)."""
    with np.errstate(over="ignore", invalid="ignore"):
        if threshold > BRIAN2_INVALID:
            yield
            return
        logger, quiet = logging.getLogger("brian2.groups.group.invalid_values"), _CheckedGroups()
        logger.addFilter(quiet)
        try:
            yield
        finally:
            logger.removeFilter(quiet)


def describe_divergence(found, threshold: float, dt, when: str) -> str:
    """The message for what :func:`find_divergence` found; ``when`` says where in the run."""
    name, population, symbol, largest = found
    return (f"simulation diverged {when}: column {name!r} ({population} neurons, {symbol}) reached "
            f"|{symbol}| = {largest:.3g} (threshold {threshold:.3g}). Use a smaller dt (e.g. "
            f"Circuit(dt={dt / 4})), larger time constants, a smaller learning rate, or check the "
            f"weights and covariances; call reset() before running again.")
