"""The offline datasets: shapes, statistics, reproducibility."""
import numpy as np

from circuits import datasets


def test_linear_gaussian_has_the_model_covariance():
    weights = np.array([[1.0, 0.0], [0.5, 1.0], [0.0, 2.0]])
    x, z = datasets.linear_gaussian(200_000, weights, noise_covariance=0.2, bias=1.0, seed=0)
    assert x.shape == (200_000, 3) and z.shape == (200_000, 2)
    # Cov x = W Wᵀ + 0.2 I; sampling error of a covariance entry ≈ 0.01 here
    np.testing.assert_allclose(np.cov(x.T), weights @ weights.T + 0.2 * np.eye(3), atol=0.04)
    np.testing.assert_allclose(x.mean(0), 1.0, atol=0.02)


def test_correlated_gaussian_is_reproducible():
    a = datasets.correlated_gaussian(5, [0, 0], [[2, 1], [1, 1]], seed=3)
    b = datasets.correlated_gaussian(5, [0, 0], [[2, 1], [1, 1]], seed=3)
    np.testing.assert_array_equal(a, b)


def test_bars_are_lines():
    images = datasets.bars(500, size=6, seed=1).reshape(-1, 6, 6)
    assert set(np.unique(images)) <= {0.0, 1.0}
    for image in images:
        full_rows = image.all(axis=1)
        full_columns = image.all(axis=0)
        # every lit pixel lies on a fully lit row or column
        assert np.all(image <= (full_rows[:, None] | full_columns[None, :]))


def test_oriented_edges_are_edges():
    edges = datasets.oriented_edges(50, size=8, seed=2)
    assert edges.shape == (50, 64) and np.abs(edges).max() <= 1
    assert np.mean([(e > 0).any() and (e < 0).any() for e in edges]) > 0.9


def test_natural_image_patches():
    patches = datasets.natural_image_patches(2000, size=8, seed=0)
    assert patches.shape == (2000, 64)
    np.testing.assert_allclose(patches.mean(axis=1), 0, atol=1e-12)
    assert abs(patches.std() - 1) < 1e-12
    # natural images: neighbouring pixels are strongly correlated
    images = patches.reshape(-1, 8, 8)
    assert np.corrcoef(images[:, :, :-1].ravel(), images[:, :, 1:].ravel())[0, 1] > 0.5
