"""Small datasets made offline: nothing is downloaded at run time.

Every generator takes ``n`` and a ``seed`` (or a NumPy Generator) and returns arrays with one
item per row, ready for :meth:`circuits.Circuit.run_sequence`.

- :func:`linear_gaussian` — samples of x = W z + b + noise from a known linear-Gaussian model;
- :func:`correlated_gaussian` — samples from N(mean, Σ);
- :func:`bars` — the bars problem (Földiák 1990): random horizontal and vertical lines;
- :func:`oriented_edges` — blurred step edges at random orientations and positions;
- :func:`natural_image_patches` — patches of the natural images that scikit-image ships
  (``pip install predictive-circuits[images]``);
- :func:`digits` — scikit-learn's 8×8 handwritten digits (1,797 images, shipped with
  scikit-learn), split into training and test images.
"""
from __future__ import annotations

import numpy as np

from .validation import random_generator

__all__ = ["linear_gaussian", "correlated_gaussian", "bars", "oriented_edges", "grey_image",
           "natural_image_patches", "digits"]

#: scikit-image's bundled photographs of natural scenes (converted to grey).
NATURAL_IMAGES = ("camera", "astronaut", "coffee", "chelsea", "rocket", "grass", "gravel", "brick")


def linear_gaussian(n: int, weights, noise_covariance=0.1, bias=0.0, seed=None):
    """x = W z + b + e with z ~ N(0, I), e ~ N(0, Σ).

    Returns (x of shape (n, D), z of shape (n, K)) for W of shape (D, K).
    """
    rng = random_generator(seed)
    weights = np.asarray(weights, dtype=float)
    dim, latent = weights.shape
    noise = np.asarray(noise_covariance, dtype=float)
    noise = np.diag(np.broadcast_to(noise, (dim,))) if noise.ndim < 2 else noise
    z = rng.normal(size=(n, latent))
    x = z @ weights.T + bias + rng.multivariate_normal(np.zeros(dim), noise, size=n)
    return x, z


def correlated_gaussian(n: int, mean, covariance, seed=None) -> np.ndarray:
    """n samples of N(mean, covariance), shape (n, D)."""
    return random_generator(seed).multivariate_normal(np.asarray(mean, float), np.asarray(covariance, float), size=n)


def bars(n: int, size=8, probability=None, seed=None) -> np.ndarray:
    """Images of size × size with each of the 2·size horizontal and vertical bars on
    independently with ``probability`` (default 1/size); flattened to (n, size²), values 0/1."""
    rng = random_generator(seed)
    probability = 1 / size if probability is None else probability
    rows = rng.random((n, size)) < probability
    columns = rng.random((n, size)) < probability
    images = rows[:, :, None] | columns[:, None, :]
    return images.reshape(n, size * size).astype(float)


def oriented_edges(n: int, size=8, blur=0.7, seed=None) -> np.ndarray:
    """Step edges through random points at random orientations, smoothed by a logistic of
    width ``blur`` pixels, values in [-1, 1]; flattened to (n, size²)."""
    rng = random_generator(seed)
    coords = np.arange(size) - (size - 1) / 2
    yy, xx = np.meshgrid(coords, coords, indexing="ij")
    angle = rng.uniform(0, 2 * np.pi, n)[:, None, None]
    offset = rng.uniform(-size / 4, size / 4, n)[:, None, None]
    distance = np.cos(angle) * xx + np.sin(angle) * yy - offset
    return np.tanh(distance / (2 * blur)).reshape(n, size * size)


def grey_image(name="camera") -> np.ndarray:
    """One of scikit-image's bundled photographs in grey, values in [0, 1] (needs scikit-image)."""
    try:
        from skimage import color, data
    except ImportError:
        raise ImportError("natural images need scikit-image: pip install "
                          "'predictive-circuits[images]' (or pip install scikit-image)") from None
    image = getattr(data, name)().astype(float) / 255.0
    return color.rgb2gray(image) if image.ndim == 3 else image


def natural_image_patches(n: int, size=8, images=NATURAL_IMAGES, seed=None, remove_mean=True) -> np.ndarray:
    """n random size × size patches of scikit-image's natural photographs, in grey, each patch
    with its mean removed (unless ``remove_mean=False``: then the set's mean is removed) and the
    whole set scaled to unit variance; shape (n, size²).

    Needs scikit-image (``pip install predictive-circuits[images]``).
    """
    rng = random_generator(seed)
    greys = [grey_image(name) for name in images]
    patches = np.empty((n, size * size))
    choice = rng.integers(len(greys), size=n)
    for k, which in enumerate(choice):
        grey = greys[which]
        top = rng.integers(grey.shape[0] - size + 1)
        left = rng.integers(grey.shape[1] - size + 1)
        patches[k] = grey[top:top + size, left:left + size].ravel()
    patches -= patches.mean(axis=1, keepdims=True) if remove_mean else patches.mean()
    return patches / patches.std()


def digits(test: int = 360, seed=0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's 8×8 digits (``sklearn.datasets.load_digits``: 1,797 images of 64 pixels,
    intensities 0–16) scaled to [0, 1], split at random (``seed``) into training images and
    ``test`` test images.

    Returns (train (1797 − test, 64), test (test, 64), train labels, test labels).
    """
    from sklearn.datasets import load_digits
    loaded = load_digits()
    images, labels = loaded.data / 16.0, loaded.target
    if isinstance(test, bool) or not isinstance(test, (int, np.integer)) or not 0 < test < len(images):
        raise ValueError(f"test must be an integer between 1 and {len(images) - 1}, got {test!r}")
    order = random_generator(seed).permutation(len(images))
    cut = len(images) - test
    return images[order[:cut]], images[order[cut:]], labels[order[:cut]], labels[order[cut:]]
