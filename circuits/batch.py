"""How many copies of a circuit run at once, and how their neurons are laid out.

``Circuit(batch_size=B)`` simulates B independent copies of every column through the same
weights (batched trials). Every population then holds B × n neurons, **batch-major**: neuron
b·n + i is neuron i of copy b. A :class:`Batch` is the one place that knows this layout;
engines, learning rules, stimuli and recordings ask it.

Learning with a batch averages every Hebbian term over the copies, ε fᵀ → (1/B) Σ_b ε_b f_bᵀ:
one update per batch, as in minibatch learning.

A *paired* population (rectified errors: ε+ and ε−, see :mod:`populations.error`) holds 2n
neurons per copy, the n positive ones first: neuron b·2n + i is ε+_i of copy b and
b·2n + n + i is ε−_i (:meth:`Batch.pairs`).
"""
from __future__ import annotations

import numpy as np

__all__ = ["Batch"]


class Batch:
    """B copies of a circuit, batch-major (``size=None``: one copy and no batch axis).

    Attributes
    ----------
    size : int or None
        B as given to ``Circuit(batch_size=...)``; None when there is no batch axis.
    copies : int
        B, or 1 without a batch.
    """

    def __init__(self, size: int | None = None):
        if size is not None and (isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1):
            raise ValueError(f"batch_size must be None or an integer ≥ 1, got {size!r}")
        self.size = None if size is None else int(size)
        self.copies = self.size or 1

    @property
    def batched(self) -> bool:
        """Whether arrays carry a batch axis (``batch_size`` was given)."""
        return self.size is not None

    def tile(self, values) -> np.ndarray:
        """Per-neuron ``values`` (n,) repeated for every copy: (B × n,)."""
        return np.tile(values, self.copies)

    def split(self, values: np.ndarray) -> np.ndarray:
        """Batch-major neuron values (…, B × n) as (…, B, n); unchanged without a batch."""
        if self.size is None:
            return values
        return values.reshape(*values.shape[:-1], self.size, values.shape[-1] // self.size)

    def rows(self, values: np.ndarray) -> np.ndarray:
        """Batch-major neuron values (B × n,) as (B, n), also for one copy (a view)."""
        return values.reshape(self.copies, -1)

    def pairs(self, values: np.ndarray) -> np.ndarray:
        """Batch-major values of a paired population (…, B × 2n) as a view (…, B, 2, n):
        ``[..., 0, :]`` the positive and ``[..., 1, :]`` the negative neurons of every copy."""
        return values.reshape(*values.shape[:-1], self.copies, 2, values.shape[-1] // (2 * self.copies))

    def difference(self, values: np.ndarray) -> np.ndarray:
        """The signed values (…, B × n) carried by a paired population (…, B × 2n): positive
        minus negative neurons (a new array)."""
        halves = self.pairs(values)
        return (halves[..., 0, :] - halves[..., 1, :]).reshape(*values.shape[:-1], values.shape[-1] // 2)

    def outer(self, post: np.ndarray, pre: np.ndarray) -> np.ndarray:
        """(1/B) Σ_b post_b pre_bᵀ of batch-major arrays (``np.outer`` for one copy)."""
        if self.copies == 1:
            return np.outer(post, pre)
        return self.rows(post).T @ self.rows(pre) / self.copies

    def mean(self, values: np.ndarray) -> np.ndarray:
        """(1/B) Σ_b values_b of a batch-major array."""
        return values if self.copies == 1 else self.rows(values).mean(axis=0)

    def __repr__(self):
        return f"Batch({self.size})"
