"""Turning what users pass as a stimulus into the TimedArrays the sensory clamps read."""
from __future__ import annotations

import numpy as np
from brian2 import TimedArray

from .validation import as_array, as_vector, check_finite

__all__ = ["stimulus_namespace"]


def stimulus_namespace(columns, stimulus, rows: int, dt, row_label="step") -> dict:
    """``{"stimulus_<name>": TimedArray}`` for every sensory column.

    Parameters
    ----------
    columns : list of Column
        The sensory columns.
    stimulus : None, array, TimedArray or dict {name: one of those}
        None (or a missing name) holds the column's current value.
    rows : int
        Required number of rows of a 2-D array: the number of steps of a run, or of items of a
        sequence.
    dt : time
        The TimedArray's step (the circuit's dt, or the item duration of a sequence).
    row_label : str
        What a row is ("step" or "item"), for error messages.
    """
    if stimulus is None:
        given = {}
    elif isinstance(stimulus, dict):
        unknown = set(stimulus) - {c.name for c in columns}
        if unknown:
            raise ValueError(f"stimulus: {sorted(unknown)} are not sensory columns; sensory "
                             f"columns are {[c.name for c in columns]}")
        given = stimulus
    else:
        if len(columns) != 1:
            raise ValueError(f"stimulus: the circuit has {len(columns)} sensory columns "
                             f"{[c.name for c in columns]}; pass a dict {{name: stimulus}}")
        given = {columns[0].name: stimulus}
    return {f"stimulus_{column.name}": _timed_array(given.get(column.name, column._estimate.mu[:]),
                                                    column, rows, dt, row_label)
            for column in columns}


def _timed_array(stimulus, column, rows, dt, row_label) -> TimedArray:
    label = f"stimulus for {column.name!r}"
    if isinstance(stimulus, TimedArray):
        values = np.asarray(stimulus.values)
        if not stimulus.dim.is_dimensionless or values.ndim != 2 or values.shape[1] != column.size:
            raise ValueError(f"{label}: a TimedArray must be dimensionless with values of "
                             f"shape (K, {column.size}), got {values.shape}")
        check_finite(values, label)
        return stimulus
    values = as_array(stimulus, label)
    if values.ndim <= 1:
        values = as_vector(values, column.size, label)[None, :]
    elif values.shape != (rows, column.size):
        raise ValueError(f"{label}: an array stimulus must have shape (T, {column.size}) with "
                         f"T = {rows} (one row per {row_label}), got {values.shape}")
    # Pad to a power-of-two length (holding the last value): the TimedArray's length is part
    # of the generated code, so this bounds the number of distinct compilations.
    padded = 1 << (len(values) - 1).bit_length()
    values = np.concatenate([values, np.repeat(values[-1:], padded - len(values), axis=0)])
    return TimedArray(values, dt=dt, name=f"stimulus_{column.name}")
