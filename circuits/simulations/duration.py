"""How long a canned simulation may run: one check for ``simulate()`` and ``pcsim run``.

A simulation module may define ``MINIMUM_DURATION`` (the shortest ``duration`` it can use) and
``DURATION_STEP`` (``duration`` must be a whole number of these: the integration step, or one
trial or item); both are Brian2 times. ``pcsim run`` checks ``--duration`` against them before
anything runs (:func:`check_module_duration`), and ``simulate()`` calls :func:`check_duration`.
"""
from __future__ import annotations

from brian2 import ms

__all__ = ["check_duration", "check_module_duration"]


def check_duration(duration, minimum, step, name: str, parameter: str = "duration") -> int:
    """The number of ``step`` in ``duration`` (0 when ``step`` is None); raises ``ValueError``
    naming ``parameter`` (in ms) if ``duration`` is not positive, shorter than ``minimum`` or
    not a whole number of ``step``."""
    value = float(duration / ms)
    if not value > 0:
        raise ValueError(f"{parameter} must be positive, got {value:g} ms")
    if minimum is not None and value < float(minimum / ms) * (1 - 1e-9):
        raise ValueError(f"{parameter} = {value:g} ms is too short for {name}: use at least "
                         f"{float(minimum / ms):g} ms")
    if step is None:
        return 0
    step = float(step / ms)
    count = round(value / step)
    if abs(count * step - value) > 1e-6 * step:
        below = max(int(value // step), 1) * step
        raise ValueError(f"{parameter} = {value:g} ms must be a multiple of {step:g} ms for {name}; "
                         f"use e.g. {below:g} or {below + step:g}")
    return int(count)


def check_module_duration(module, duration, parameter: str = "duration") -> int:
    """:func:`check_duration` with a simulation module's ``MINIMUM_DURATION``, ``DURATION_STEP``
    and ``NAME`` (each optional)."""
    return check_duration(duration, getattr(module, "MINIMUM_DURATION", None), getattr(module, "DURATION_STEP", None),
                          getattr(module, "NAME", "this simulation"), parameter)
