"""Turning what users pass as a stimulus into what the sensory columns are clamped to.

A sensory column's estimate μ_0 is clamped to the stimulus in one of two ways:

- a constant vector is written once into μ_0 (the clamp stays idle: nothing to compute);
- a time-varying stimulus becomes a Brian2 TimedArray that the column's clamp
  (``mu = stimulus_<name>(t - run_start, i)``, scheduled at the start of every step) reads.

Sequences hold each item constant, so their items are written into μ_0 at each item's start.

A clamped latent column (:meth:`circuits.Circuit.clamp`) takes stimuli like a sensory one, but
constant ones only: a vector per run, or per item of a sequence.

With a batch of B copies (``Circuit(batch_size=B)``) a constant stimulus is (B, size) (or
(size,) for every copy), a time-varying one (T, B, size), a sequence (K, B, size) (or (K, size));
they are flattened batch-major to match the groups' neurons.
"""
from __future__ import annotations

import numpy as np
from brian2 import TimedArray

from .validation import as_array, as_timed_array, as_vector

__all__ = ["clamp_values", "run_stimuli", "sequence_stimuli"]


def _per_column(columns, stimulus) -> dict:
    if stimulus is None:
        return {}
    if isinstance(stimulus, dict):
        unknown = set(stimulus) - {c.name for c in columns}
        if unknown:
            raise ValueError(f"stimulus: {sorted(unknown)} are not sensory or clamped columns; those are "
                             f"{[c.name for c in columns]} (clamp a latent column with circuit.clamp(name) "
                             f"to give it stimuli)")
        return stimulus
    # an array goes to the only sensory column (or, with none, the only clamped one)
    targets = [c for c in columns if c.sensory] or columns
    if len(targets) != 1:
        raise ValueError(f"stimulus: the circuit has {len(targets)} sensory or clamped columns "
                         f"{[c.name for c in targets]}; pass a dict {{name: stimulus}}")
    return {targets[0].name: stimulus}


def run_stimuli(columns, stimulus, steps: int, dt, batch: int | None = None) -> dict:
    """For every sensory column, a constant vector (batch × size,), a TimedArray, or None
    (hold the current value).

    ``stimulus``: None, a vector, a (steps, size) array sampled at ``dt``, a TimedArray of
    shape (K, size), or a dict {name: one of those}; with a ``batch`` of B copies: (B, size) or
    (size,), (steps, B, size), a TimedArray (K, B × size).
    """
    given = _per_column(columns, stimulus)
    return {column.name: _run_stimulus(given[column.name], column, steps, dt, batch) if column.name in given
            else None for column in columns}


def clamp_values(values, column, batch: int | None = None) -> np.ndarray:
    """``values`` for :meth:`Column.clamp`: (size,) or, with a ``batch`` of B copies, (B, size)
    or (size,) for every copy; returned batch-major (B × size,)."""
    label = f"clamp values for {column.name!r}"
    array = as_array(values, label)
    if batch is not None and array.ndim == 2:
        if array.shape != (batch, column.size):
            raise ValueError(f"{label}: with batch_size = {batch} pass shape ({batch}, {column.size}) or "
                             f"({column.size},), got {array.shape}")
        return array.ravel().copy()
    return np.tile(as_vector(array, column.size, label), batch or 1)


def _run_stimulus(stimulus, column, steps, dt, batch):
    label = f"stimulus for {column.name!r}"
    copies = batch or 1
    if not column.sensory:
        if isinstance(stimulus, TimedArray) or np.ndim(stimulus) > (1 if batch is None else 2):
            raise ValueError(f"{label}: {column.name!r} is a clamped latent column, which holds a constant "
                             f"value per run (or per item of run_sequence); time-varying stimuli are for "
                             f"sensory columns")
        return clamp_values(stimulus, column, batch)
    if isinstance(stimulus, TimedArray):
        return as_timed_array(stimulus, column.size * copies, label)
    values = as_array(stimulus, label)
    if batch is None:
        if values.ndim <= 1:
            return as_vector(values, column.size, label)
        expected = (steps, column.size)
    else:
        if values.ndim <= 1:
            return np.tile(as_vector(values, column.size, label), batch)
        if values.ndim == 2:
            if values.shape != (batch, column.size):
                raise ValueError(f"{label}: with batch_size = {batch} a constant stimulus has shape "
                                 f"({batch}, {column.size}) (or ({column.size},) for every copy), "
                                 f"got {values.shape}; a time-varying one (T, {batch}, {column.size})")
            return values.ravel().copy()
        expected = (steps, batch, column.size)
    if values.shape != expected:
        shape = f"(T, {column.size})" if batch is None else f"(T, {batch}, {column.size})"
        raise ValueError(f"{label}: an array stimulus must have shape {shape} with "
                         f"T = {steps} (one row per step), got {values.shape}")
    values = values.reshape(steps, -1)
    # Pad to a power-of-two length (holding the last value): the TimedArray's length is part
    # of the generated code, so this bounds the number of distinct compilations.
    padded = 1 << (len(values) - 1).bit_length()
    values = np.concatenate([values, np.repeat(values[-1:], padded - len(values), axis=0)])
    return TimedArray(values, dt=dt, name=f"stimulus_{column.name}")


def sequence_stimuli(columns, stimuli, batch: int | None = None) -> tuple[dict, int]:
    """({name: (K, batch × size) array}, K) for a sequence, for the columns given (the others
    hold their current value). With a ``batch`` of B copies each item is (B, size) (or (size,)
    for all)."""
    given = _per_column(columns, stimuli)
    arrays = {name: as_array(values, f"stimuli for {name!r}") for name, values in given.items()}
    lengths = {len(a) for a in arrays.values() if a.ndim >= 2}
    allowed = (2,) if batch is None else (2, 3)
    if not arrays or len(lengths) != 1 or any(a.ndim not in allowed for a in arrays.values()) or 0 in lengths:
        shape = "(K, size)" if batch is None else f"(K, {batch}, size) or (K, size)"
        raise ValueError(f"stimuli must be a {shape} array with K ≥ 1, or a dict of such arrays "
                         f"with the same K, got shapes {[np.shape(a) for a in arrays.values()]}")
    items = lengths.pop()
    result = {}
    for column in columns:
        if column.name not in arrays:
            continue
        values = arrays[column.name]
        expected = (items, column.size) if values.ndim == 2 else (items, batch, column.size)
        if values.shape != expected:
            shape = f"(K, {column.size})" if batch is None else f"(K, {batch}, {column.size}) or (K, {column.size})"
            raise ValueError(f"stimuli for {column.name!r} must have shape {shape}, got {values.shape}")
        result[column.name] = (values.reshape(items, -1) if values.ndim == 3
                               else np.tile(values, (1, batch or 1)))
    return result, items
