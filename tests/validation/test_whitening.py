"""Lateral inhibition as an affine autoregressive (or symmetric) normalizing flow (issue 4, part 1):
settled rates, the change-of-variables log density, and a locally learned whitening."""
import numpy as np
import pytest
from brian2 import ms
from scipy.linalg import cholesky, sqrtm
from scipy.stats import multivariate_normal

from circuits import Circuit
from tests.conftest import random_covariance


@pytest.mark.parametrize("kind", ["autoregressive", "symmetric"])
def test_settles_on_the_flow_and_its_log_density(kind, rng):
    """u = B⁻¹(x − m) with B = chol(Σ) or Σ^½ (scipy, independently); log N(u; 0, I) − log|det B|
    equals scipy's Gaussian log density of x. Settling: the slowest mode decays as
    e^{−λ_min(B) t/τ_ε}; 100 ms with λ_min ≥ 0.5^½, τ_ε = 2 ms leaves e^{−35}."""
    covariance = random_covariance(rng, 4)
    mean = rng.normal(size=4)
    x = rng.multivariate_normal(mean, covariance)
    c = Circuit()
    c.sensory("x", 4, covariance=covariance, prior_mean=mean, lateral_inhibition=kind)
    c.run(100 * ms, stimulus=x, record=False)
    B = cholesky(covariance, lower=True) if kind == "autoregressive" else np.real(sqrtm(covariance))
    np.testing.assert_allclose(c.error("x"), np.linalg.solve(B, x - mean), rtol=0, atol=1e-9)
    expected = multivariate_normal(mean, covariance).logpdf(x)
    assert abs(c.log_density("x") - expected) < 1e-6 * abs(expected)
    if kind == "autoregressive":   # Σ log β_i: the flow's log-determinant is its diagonal's
        assert np.isclose(np.linalg.slogdet(c.columns["x"].flow_matrix)[1], np.log(np.diag(B)).sum())


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["autoregressive", "symmetric"])
def test_learned_lateral_inhibition_whitens(kind):
    """2-D inputs with Σ = [[2, 1.2], [1.2, 1]]; B learned from I on 8,000 training samples
    (rate 0.01, 0.003, 0.001, 0.0003 for 2,000 each); on 2,000 new samples the outputs' covariance is
    within 0.05 of I in every entry (seed 0; for exact whitening the sampling error of these
    entries alone has a standard deviation of 0.02–0.03), and B Bᵀ is within 0.1 of Σ."""
    rng = np.random.default_rng(0)
    true = np.array([[2.0, 1.2], [1.2, 1.0]])
    mean = np.array([0.5, -1.0])
    c = Circuit(dt=0.1 * ms, tau_estimate=10 * ms, tau_error=1 * ms)
    x = c.sensory("x", 2, prior_mean=mean, lateral_inhibition=kind, learn_inhibition=True,
                  inhibition_learning_rate=0.01)
    for rate in (0.01, 0.003, 0.001, 0.0003):
        x.flow_learning_rate = rate
        c.run_sequence(rng.multivariate_normal(mean, true, size=2000), item_duration=20 * ms)
    rec = c.run_sequence(rng.multivariate_normal(mean, true, size=2000), item_duration=20 * ms, learn=False)
    whitened = np.cov(rec.trial_error["x"].T)
    assert np.abs(whitened - np.eye(2)).max() < 0.05, whitened
    assert np.abs(c.covariance("x") - true).max() < 0.1
    B = x.flow_matrix
    if kind == "autoregressive":
        assert B[0, 1] == 0.0 and np.all(np.diag(B) > 0)
    else:
        assert np.allclose(B, B.T)


def test_whitening_column_errors():
    c = Circuit()
    with pytest.raises(ValueError, match="lateral_inhibition must be"):
        c.sensory("x", 2, lateral_inhibition="zca")
    with pytest.raises(ValueError, match="learn_inhibition=True needs"):
        c.sensory("x", 2, learn_inhibition=True)
    x = c.sensory("x", 2, lateral_inhibition="symmetric")
    z = c.column("z", 1)
    with pytest.raises(ValueError, match="whitening column"):
        c.connect(z, x, weights=np.ones((2, 1)))
    with pytest.raises(ValueError, match="whitening column"):
        c.attend(x, 2.0)
    with pytest.raises(ValueError, match="has no lateral_inhibition flow"):
        c.log_density(z)


def test_flow_columns_save_and_load(tmp_path, rng):
    c = Circuit()
    c.sensory("x", 3, covariance=random_covariance(rng, 3), lateral_inhibition="autoregressive",
              learn_inhibition=True, inhibition_learning_rate=0.05)
    c.sensory("s", 6, lateral_inhibition="surround", inhibition_radius=1.5, inhibition_grid=(2, 3),
              learn_inhibition=True, inhibition_learning_rate=0.05)
    c.run_sequence({"x": rng.normal(size=(20, 3)), "s": rng.normal(size=(20, 6))}, item_duration=5 * ms)
    c.save(tmp_path / "flows.npz")
    loaded = Circuit.load(tmp_path / "flows.npz")
    for name in ("x", "s"):
        np.testing.assert_array_equal(loaded.columns[name].flow_matrix, c.columns[name].flow_matrix)
    np.testing.assert_array_equal(loaded.columns["s"].surround_mask, c.columns["s"].surround_mask)
    stimulus = {"x": rng.normal(size=3), "s": rng.normal(size=6)}
    c.reset()
    a = c.run(10 * ms, stimulus=stimulus, learn=False)
    b = loaded.run(10 * ms, stimulus=stimulus, learn=False)
    np.testing.assert_array_equal(a.error["s"], b.error["s"])
    np.testing.assert_array_equal(a.error["x"], b.error["x"])
