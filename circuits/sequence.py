"""Sequences: K items presented one after another in one run, with item-end learning.

:meth:`circuits.Circuit.run_sequence` checks its arguments into a :class:`Sequence` and hands
it to the engine, which runs all K items in one Brian2 run. Engines that run Python between
steps call :meth:`ItemBoundaries.on_step` at the very start of every step (before the
couplings): at the first step of each item it reads the previous item's end state, applies
the item-end learning (to the settled state, or to a sample of q around it: variational EM),
resets the estimates if asked, and clamps the sensory columns to the new item; within an item
it runs the encoders' schedule (amortized inference).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .amortization import ItemSchedule
from .energy import current_estimates, current_free_energy
from .learning import apply_learning
from .validation import choice
from .variational import LEARN_AT, resample_state

__all__ = ["ItemBoundaries", "LEARN", "RESETS", "Sequence"]

#: When learning rules apply: at item ends, every step, or never.
LEARN = ("trial", "continuous", False)

#: What happens at each item's start: reset to the prior mean, nothing, or start at the prediction.
RESETS = (True, False, "prediction")


@dataclass
class Sequence:
    """A checked sequence of items.

    items : {sensory or clamped column name: (K, B × size)} batch-major values of each item
            (columns not named hold their current value)
    count : K
    steps_per_item : steps each item is held
    reset_between : reset estimates, errors and interneurons at each item's start (True), or
                    start the estimates at their prediction from above ("prediction")
    learn : "trial", "continuous" or False
    schedule : the encoders' per-item schedule (amortized or hybrid inference), or None
    learn_at : where item-end learning reads the state: "settled", or "mean-field" / "laplace"
               (a sample of that q around the settled estimates; see :mod:`circuits.variational`)
    rng : the generator of those samples
    """

    items: dict
    count: int
    steps_per_item: int
    reset_between: bool | str
    learn: str | bool
    schedule: ItemSchedule | None = None
    learn_at: str = "settled"
    rng: object = None

    def __post_init__(self):
        choice(self.reset_between, RESETS, "reset_between")
        choice(self.learn_at, LEARN_AT, "learn_at")
        if self.learn_at != "settled" and self.learn != "trial":
            raise ValueError(f"learn_at={self.learn_at!r} samples at each item's end: it needs learn='trial'")

    @property
    def steps(self) -> int:
        return self.count * self.steps_per_item

    def first(self) -> dict:
        """The stimulus of the first item, {name: (B × size,)}."""
        return {name: values[0] for name, values in self.items.items()}


class ItemBoundaries:
    """Per-step bookkeeping of a sequence in an engine that runs Python between steps, and the
    end-of-item records (``trial_*`` of the Recording)."""

    def __init__(self, graph, batch, sequence: Sequence):
        self.graph, self.batch, self.sequence = graph, batch, sequence
        self.clamps = [(graph.columns[name].state.estimate, values) for name, values in sequence.items.items()]
        self.order = graph.top_down()
        self.step = 0
        self.estimates, self.errors, self.energies = [], [], []
        self.proposals = {name: [] for name in graph.encoders}
        self.proposal_energies = []
        self.covariances = {c.name: [] for c in graph.columns.values() if c.learn_covariance}

    def on_step(self):
        per_item = self.sequence.steps_per_item
        if self.step % per_item == 0:
            if self.step:
                self.end_item()
            item = self.step // per_item
            for clamped, values in self.clamps:
                clamped[:] = values[item]
            if self.sequence.reset_between:   # top-down, so that predictions read the new item
                for column in self.order:
                    column.reset_state(predicted=self.sequence.reset_between == "prediction")
        elif self.sequence.schedule is not None:
            self.sequence.schedule.on_step(self.step % per_item)
        self.step += 1

    def end_item(self):
        graph, batch, schedule = self.graph, self.batch, self.sequence.schedule
        if schedule is not None:
            schedule.finish()
        self.estimates.append(current_estimates(graph, batch))
        self.errors.append({name: batch.split(c.state.error.copy()) for name, c in graph.columns.items()})
        self.energies.append(current_free_energy(graph, batch))
        if self.proposals:
            proposed = {name: batch.split(encoder.proposal()) for name, encoder in graph.encoders.items()}
            for name, proposal in proposed.items():
                self.proposals[name].append(proposal)
            self.proposal_energies.append(current_free_energy(graph, batch, proposed))
        for name, history in self.covariances.items():
            history.append(graph.columns[name].covariance.copy())
        if self.sequence.learn and schedule is not None:
            for name, encoder in graph.encoders.items():
                encoder.learn_updates(schedule.reads.get(name, []))
        if self.sequence.learn == "trial" and self.sequence.learn_at == "settled":
            apply_learning(graph, 1.0)
        elif self.sequence.learn == "trial":   # the model at a sample of q, encoders towards the settled μ
            restore = resample_state(graph, batch, self.sequence.rng, self.sequence.learn_at)
            apply_learning(graph, 1.0, "model")
            restore()
            apply_learning(graph, 1.0, "encoders")

    def trials(self) -> dict:
        names = list(self.graph.columns)
        return {"trial_end": {n: np.array([e[n] for e in self.estimates]) for n in names},
                "trial_error": {n: np.array([e[n] for e in self.errors]) for n in names},
                "trial_free_energy": np.array(self.energies),
                "trial_covariance": {n: np.array(h) for n, h in self.covariances.items()},
                "trial_proposal": {n: np.array(p) for n, p in self.proposals.items()},
                "trial_proposal_free_energy": np.array(self.proposal_energies)}
