"""What a run returns: trajectories of estimates, errors and free energy."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from brian2 import Quantity

__all__ = ["Recording"]


@dataclass(frozen=True)
class Recording:
    """Trajectories recorded by :meth:`circuits.Circuit.run`, one row per time step.

    Row n holds the state at the start of step n, i.e. at time ``t[n]`` (the sensory
    estimates are the stimulus x(t[n])). The state after the last step is what
    :meth:`Circuit.estimate` and :meth:`Circuit.error` return. With ``Circuit(batch_size=B)``
    every per-column array gains a batch axis after the time or item axis — (T, B, size),
    (K, B, size) — and free energies are (T, B) and (K, B).

    Attributes
    ----------
    t : brian2 Quantity, shape (T,)
        Network time of each row (continues across runs; :meth:`Circuit.reset` sets it to 0).
    estimate : dict of str to ndarray (T, size)
        μ of each column.
    error : dict of str to ndarray (T, size)
        ε of each column.
    free_energy_by_level : dict of str to ndarray (T,)
        F_ℓ of each column (see :mod:`circuits.energy`).
    trial_end, trial_error : dict of str to ndarray (K, size)
        μ and ε of each column at the end of each item of :meth:`Circuit.run_sequence`
        (empty for :meth:`Circuit.run`).
    trial_free_energy : ndarray (K,)
        Total F at the end of each item, with the parameters of that moment.
    trial_covariance : dict of str to ndarray (K, size, size)
        Σ of each covariance-learning column at the end of each item (before its update).
    trial_proposal : dict of str to ndarray (K, size)
        The encoder's proposal μ_q of each encoded column for each item (before learning).
    trial_proposal_free_energy : ndarray (K,)
        F with the encoded columns at their proposals and the others at their settled values.
    """

    t: Quantity
    estimate: dict
    error: dict
    free_energy_by_level: dict
    trial_end: dict = field(default_factory=dict)
    trial_error: dict = field(default_factory=dict)
    trial_free_energy: np.ndarray = field(default_factory=lambda: np.zeros(0))
    trial_covariance: dict = field(default_factory=dict)
    trial_proposal: dict = field(default_factory=dict)
    trial_proposal_free_energy: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def free_energy(self) -> np.ndarray:
        """Total free energy F = Σ_ℓ F_ℓ, shape (T,)."""
        return np.sum(list(self.free_energy_by_level.values()), axis=0)

    @property
    def amortization_gap(self) -> np.ndarray:
        """F at the encoders' proposals minus F at the settled estimates, per item, shape (K,)."""
        return self.trial_proposal_free_energy - self.trial_free_energy

    def __repr__(self):
        return (f"Recording({len(self.t)} steps from {self.t[0] if len(self.t) else 0} , "
                f"columns {list(self.estimate)})")
