"""The error a run raises when it blows up (its own module: learning rules raise it too)."""
from __future__ import annotations

__all__ = ["SimulationDiverged"]


class SimulationDiverged(RuntimeError):
    """A run produced non-finite or runaway rates, or a learning rule made the circuit unstable;
    the message names the column and the fix."""
