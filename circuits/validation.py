"""Checks of user input at the API boundary; each message names the argument and the fix."""
from __future__ import annotations

import os
import reprlib

import numpy as np
from brian2 import Hz, Quantity, second
from brian2.units.fundamentalunits import DimensionMismatchError, fail_for_dimension_mismatch

__all__ = ["as_array", "as_timed_array", "as_covariance", "as_vector", "as_matrix", "as_rate", "as_time",
           "check_name", "check_finite", "check_memory", "choice", "is_diagonal", "largest_eigenvalue",
           "positive_number", "random_generator", "shown"]


def _as_quantity(value, unit, kind: str, example: str, parameter: str, allow_zero: bool) -> Quantity:
    """A single finite Quantity of ``unit``'s dimensions, > 0 (≥ 0 with ``allow_zero``)."""
    if not isinstance(value, Quantity):
        raise TypeError(f"{parameter} must be a Brian2 {kind} such as {example}, got {value!r}")
    try:
        fail_for_dimension_mismatch(value, unit)
    except DimensionMismatchError:
        raise TypeError(f"{parameter} must have units of {kind} (e.g. {example}), got {value!r}") from None
    if value.size != 1 or not np.isfinite(float(value)) or float(value) < 0 or (float(value) == 0 and not allow_zero):
        raise ValueError(f"{parameter} must be a single {'non-negative' if allow_zero else 'positive'}, finite "
                         f"{kind}, got {value!r}")
    return value


def as_time(value, parameter: str) -> Quantity:
    """A positive time Quantity (e.g. ``10*ms``)."""
    return _as_quantity(value, second, "time", "10*ms", parameter, allow_zero=False)


def as_rate(value, parameter: str, allow_zero: bool = False) -> Quantity:
    """A positive (or, ``allow_zero``, non-negative) rate Quantity (e.g. ``20*Hz``)."""
    return _as_quantity(value, Hz, "rate", "20*Hz", parameter, allow_zero)


def shown(value) -> str:
    """A short repr of a user's value for an error message (arrays and long lists elided)."""
    return reprlib.repr(value)


def choice(value, choices: tuple, parameter: str):
    """``value`` if it is one of ``choices`` (strings, None, False), else ``ValueError`` listing
    them (arrays and other unhashable values are refused here, not by a failing ``in``)."""
    if (value is None or isinstance(value, (str, bool))) and value in choices:
        return value
    raise ValueError(f"{parameter} must be one of {', '.join(map(repr, choices))}; got {shown(value)}")


def random_generator(seed, parameter: str = "seed") -> np.random.Generator:
    """NumPy's generator for ``seed``: None (fresh entropy), an integer ≥ 0, or a Generator."""
    if seed is None or isinstance(seed, np.random.Generator) or (
            isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0):
        return np.random.default_rng(seed)
    raise TypeError(f"{parameter} must be None, an integer ≥ 0 or a numpy.random.Generator, got {shown(seed)}")


def check_memory(needed: int, what: str):
    """Refuse, before allocating, what cannot fit in this machine's memory (``needed`` bytes)."""
    try:
        available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):   # no sysconf (Windows): leave it to NumPy
        return
    if needed > available:
        raise ValueError(f"{what} needs {needed / 2 ** 30:.3g} GiB, more than this machine's memory "
                         f"({available / 2 ** 30:.3g} GiB); use smaller columns")


def positive_number(value, parameter: str, allow_zero: bool = False) -> float:
    """A finite number > 0 (≥ 0 with ``allow_zero``), as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
            or not np.isfinite(float(value)) or value < 0 or (value == 0 and not allow_zero):
        bound = "≥ 0" if allow_zero else "> 0"
        raise ValueError(f"{parameter} must be a finite number {bound}, got {value!r}")
    return float(value)


def check_name(name, taken) -> str:
    """A column name usable inside Brian2 variable names."""
    if not isinstance(name, str) or not name.isidentifier() or name.startswith("_") or "__" in name:
        raise ValueError(f"name must be a Python identifier without leading underscore or '__' "
                         f"(it becomes part of Brian2 variable names), got {name!r}")
    if name in taken:
        raise ValueError(f"name {name!r} is already used by another column; choose a unique name")
    return name


def check_finite(array: np.ndarray, parameter: str) -> np.ndarray:
    if not np.all(np.isfinite(array)):
        bad = np.argwhere(~np.isfinite(array))[0]
        raise ValueError(f"{parameter} contains NaN or infinite values (first at index "
                         f"{tuple(int(i) for i in bad)}); pass finite numbers only")
    return array


def as_array(value, parameter: str) -> np.ndarray:
    """A finite float array from numbers, sequences or dimensionless quantities."""
    if isinstance(value, Quantity) and not value.is_dimensionless:
        raise TypeError(f"{parameter} must be dimensionless (rates here carry no units), got {value!r}")
    try:
        array = np.array(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{parameter} must be numeric (a number, list or NumPy array), "
                        f"got {type(value).__name__}") from None
    return check_finite(array, parameter)


def as_vector(value, size: int, parameter: str) -> np.ndarray:
    """A length-``size`` vector from a scalar (broadcast) or a sequence of that length."""
    array = as_array(value, parameter)
    if array.ndim == 0:
        return np.full(size, float(array))
    if array.shape != (size,):
        raise ValueError(f"{parameter} must be a scalar or have shape ({size},), got shape {array.shape}")
    return array


def as_matrix(value, shape: tuple[int, int], parameter: str) -> np.ndarray:
    """A matrix of exactly ``shape``."""
    array = as_array(value, parameter)
    if array.shape != shape:
        raise ValueError(f"{parameter} must have shape {shape} (lower size × upper size), "
                         f"got shape {array.shape}")
    return np.ascontiguousarray(array)


def as_covariance(value, size: int, parameter: str = "covariance") -> np.ndarray:
    """A symmetric positive-definite (size, size) matrix from a scalar, a vector (the diagonal)
    or a full matrix."""
    array = as_array(value, parameter)
    if array.ndim <= 1:
        diagonal = as_vector(array, size, parameter)
        if np.any(diagonal <= 0):
            raise ValueError(f"{parameter} must be positive (variances), got {diagonal}")
        return np.diag(diagonal)
    if array.shape != (size, size):
        raise ValueError(f"{parameter} must be a scalar, a vector of {size} variances or a "
                         f"({size}, {size}) matrix, got shape {array.shape}")
    if is_diagonal(array):   # symmetric; positive definite iff its diagonal is positive
        if np.any(np.diagonal(array) <= 0):
            raise ValueError(f"{parameter} must be positive definite; its diagonal has "
                             f"{np.count_nonzero(np.diagonal(array) <= 0)} non-positive entries")
        return np.array(array)
    if not np.allclose(array, array.T, rtol=1e-12, atol=1e-12 * np.abs(array).max()):
        raise ValueError(f"{parameter} must be symmetric; got a matrix whose largest asymmetry "
                         f"|Σ - Σᵀ| is {np.abs(array - array.T).max():.3g}; pass (S + S.T)/2")
    try:
        np.linalg.cholesky(array)
    except np.linalg.LinAlgError:
        smallest = np.linalg.eigvalsh(array).min()
        raise ValueError(f"{parameter} must be positive definite; its smallest eigenvalue is "
                         f"{smallest:.3g}; add a multiple of the identity or use a valid covariance") from None
    return np.array(array)


def is_diagonal(matrix: np.ndarray) -> bool:
    """Whether a square matrix has no non-zero entry off its diagonal (two scans, no temporary
    of the matrix's size: this runs on covariances of 10⁴ × 10⁴ too)."""
    return np.count_nonzero(matrix) == np.count_nonzero(np.diagonal(matrix))


def largest_eigenvalue(matrix: np.ndarray) -> float:
    """λmax of a symmetric matrix (its largest diagonal entry when it is diagonal: no O(n³)
    eigendecomposition for the big diagonal covariances of large columns)."""
    return float(np.diagonal(matrix).max() if is_diagonal(matrix) else np.linalg.eigvalsh(matrix).max())


def as_timed_array(timed, size: int, parameter: str):
    """A dimensionless Brian2 TimedArray with finite values of shape (K, size)."""
    values = np.asarray(timed.values)
    if not timed.dim.is_dimensionless or values.ndim != 2 or values.shape[1] != size:
        raise ValueError(f"{parameter}: a TimedArray must be dimensionless with values of "
                         f"shape (K, {size}), got {values.shape}")
    check_finite(values, parameter)
    return timed
