"""Sparse priors on latent columns (Laplace, Cauchy) and clamping latent columns.

Priors are checked against their mathematics: the settled estimates are where the gradient
of F (written here in NumPy from the definitions, not from populations/priors.py) vanishes, or
satisfy the Laplace prior's subgradient condition; the recorded F adds α Σ φ(μ). Clamping is
checked against joint-Gaussian conditioning (tests/validation/gaussian.py) and a NumPy forward
pass.
"""
import numpy as np
import pytest
from brian2 import ms

from circuits import Circuit, exact_posterior
from tests.conftest import build_circuit, random_linear_hierarchy
from tests.validation.gaussian import posterior_mean

W = np.array([[1.0, 0.2], [0.3, -0.5], [0.1, 0.8]])
X = np.array([1.0, -0.4, 0.7])
SENSORY_VARIANCE, LATENT_VARIANCE, ALPHA = 0.5, 2.0, 0.3

#: φ and φ' of each sparse prior, from their definitions.
PENALTIES = {"cauchy": (lambda m: np.log1p(m ** 2), lambda m: 2 * m / (1 + m ** 2)),
             "laplace": (np.abs, np.sign)}


def _sparse_circuit(prior, x=X, alpha=ALPHA, **options):
    c = Circuit(**options)
    c.sensory("x", 3, covariance=SENSORY_VARIANCE)
    c.column("z", 2, covariance=LATENT_VARIANCE, prior=prior, sparsity=alpha)
    c.connect("z", "x", W)
    return c


def _energy(mu, prior, x=X, alpha=ALPHA):
    """F = ½ rᵀΣ⁻¹r + ½ log det 2πΣ per level, plus α Σ φ(μ)."""
    r = x - W @ mu
    gaussian = 0.5 * (r @ r / SENSORY_VARIANCE + 3 * np.log(2 * np.pi * SENSORY_VARIANCE)
                      + mu @ mu / LATENT_VARIANCE + 2 * np.log(2 * np.pi * LATENT_VARIANCE))
    return gaussian + alpha * np.sum(PENALTIES[prior][0](mu))


def _smooth_gradient(mu, x=X):
    """∂/∂μ of the Gaussian part of F."""
    return -W.T @ (x - W @ mu) / SENSORY_VARIANCE + mu / LATENT_VARIANCE


def test_cauchy_prior_settles_where_the_gradient_of_f_vanishes():
    """Rao & Ballard's kurtotic prior: the estimate neurons descend F + α Σ log(1 + μ²). After
    600 ms (60 τ_μ; the slowest mode of this 2-D problem decays as e^(−t λmin/τ_μ), λmin ≈ 0.8,
    to ~1e-21) the gradient vanishes to 1e-9 and the recorded F equals the NumPy F to 1e-9;
    the prior pulls the estimates towards 0 compared with the Gaussian posterior."""
    c = _sparse_circuit("cauchy")
    rec = c.run(600 * ms, stimulus=X)
    mu = c.estimate("z")
    gradient = _smooth_gradient(mu) + ALPHA * PENALTIES["cauchy"][1](mu)
    assert np.abs(gradient).max() < 1e-9
    assert abs(rec.free_energy[-1] - _energy(rec.estimate["z"][-1], "cauchy")) < 1e-9
    gaussian = _sparse_circuit("gaussian")
    gaussian.run(600 * ms, stimulus=X)
    assert np.all(np.abs(mu) < np.abs(gaussian.estimate("z")))


def test_laplace_prior_meets_the_subgradient_condition_and_zeroes_weak_causes():
    """With α = 1 the weak second cause of x = (1, −0.4, −0.3) is switched off (at μ = 0 its
    smooth gradient is 0.32 < α): at the fixed point a non-zero μ_i has ∂F_smooth/∂μ_i +
    α sign(μ_i) = 0, and μ_i = 0 needs |∂F_smooth/∂μ_i| ≤ α (the subgradient condition).
    Forward Euler makes the zeroed unit chatter by at most α dt/τ_μ = 0.01."""
    alpha, x = 1.0, np.array([1.0, -0.4, -0.3])
    c = _sparse_circuit("laplace", x=x, alpha=alpha)
    c.run(600 * ms, stimulus=x)
    mu = c.estimate("z")
    step = alpha * float(0.1 * ms / (10 * ms))
    zero = np.abs(mu) <= step
    assert list(zero) == [False, True], mu
    gradient = _smooth_gradient(mu, x)
    assert np.all(np.abs(gradient[zero]) <= alpha)
    assert np.abs(gradient[~zero] + alpha * np.sign(mu[~zero])).max() < 5 * step * np.abs(W).max()


def test_sparse_priors_refuse_gaussian_closed_forms():
    c = _sparse_circuit("cauchy")
    c.run(1 * ms, stimulus=X)
    with pytest.raises(ValueError, match="exact_posterior needs Gaussian priors.*'z'.*cauchy"):
        exact_posterior(c, {"x": X})
    for method in (c.posterior_precision, lambda: c.sample(3), lambda: c.elbo(10)):
        with pytest.raises(ValueError, match="Gaussian priors"):
            method()


def test_prior_options_are_checked():
    c = Circuit()
    with pytest.raises(ValueError, match="prior must be one of"):
        c.column("a", 2, prior="student")
    with pytest.raises(ValueError, match="sparsity must be"):
        c.column("b", 2, prior="laplace", sparsity=0.0)
    with pytest.raises(ValueError, match="order=1"):
        c.column("d", 2, prior="cauchy", order=2, smoothness=0.5)


def test_flat_prior_with_a_sparse_prior_is_the_sparse_prior_alone(tmp_path):
    """A top column with flat_prior=True and prior='cauchy' has F = Gaussian likelihood +
    α Σ log(1 + μ²) only; saving and loading keeps the prior (format 3)."""
    c = Circuit()
    c.sensory("x", 3, covariance=SENSORY_VARIANCE)
    c.column("z", 2, flat_prior=True, prior="cauchy", sparsity=ALPHA)
    c.connect("z", "x", W)
    c.run(600 * ms, stimulus=X)
    mu = c.estimate("z")
    gradient = -W.T @ (X - W @ mu) / SENSORY_VARIANCE + ALPHA * PENALTIES["cauchy"][1](mu)
    assert np.abs(gradient).max() < 1e-9
    c.save(tmp_path / "m.npz")
    loaded = Circuit.load(tmp_path / "m.npz")
    assert loaded.columns["z"].prior == "cauchy" and loaded.columns["z"].sparsity == ALPHA
    loaded.run(600 * ms, stimulus=X)
    np.testing.assert_allclose(loaded.estimate("z"), mu, rtol=1e-12)


def test_clamped_column_is_conditioned_on(rng):
    """Clamping the middle level of a 3-level linear Gaussian hierarchy (full Σ, biases, prior
    mean) conditions on it: the free levels settle on the joint-Gaussian conditional mean given
    x and the clamped values (1e-6 relative, as for the unclamped posterior), exact_posterior
    with the clamped column among the observations agrees, and the clamped μ never moves."""
    model = random_linear_hierarchy(rng, (4, 3, 2))
    c = build_circuit(model)
    x, held = rng.normal(size=4), rng.normal(size=3)
    c.clamp("z1", held)
    rec = c.run(1500 * ms, stimulus=x)
    assert np.array_equal(rec.estimate["z1"], np.tile(held, (len(rec.t), 1)))
    expected = posterior_mean(model, {"x": x, "z1": held})
    np.testing.assert_allclose(c.estimate("z2"), expected["z2"], rtol=1e-6)
    means, _ = exact_posterior(c, {"x": x, "z1": held})
    np.testing.assert_allclose(means["z2"], expected["z2"], rtol=1e-9)
    c.release("z1")
    c.run(1500 * ms)
    free = posterior_mean(model, {"x": x})
    np.testing.assert_allclose(c.estimate("z1"), free["z1"], rtol=1e-6)


def _network(batch_size=None):
    """input (clamped) → hidden → output, tanh: predictions flow as in a feed-forward net."""
    c = Circuit(batch_size=batch_size)
    c.column("inp", 2)
    c.column("hid", 3)
    c.column("out", 2)
    W1 = np.array([[0.5, -0.3], [0.2, 0.8], [-0.6, 0.1]])
    W2 = np.array([[0.7, -0.2, 0.4], [0.1, 0.5, -0.9]])
    c.connect("inp", "hid", W1, activation="tanh")
    c.connect("hid", "out", W2, activation="tanh")
    return c, W1, W2


def test_clamped_input_gives_the_forward_pass_with_batches_and_sequences():
    """Input clamped at the top, the rest free: every error vanishes and the estimates are the
    forward pass h = W1 tanh(x), y = W2 tanh(h) (1e-9 after 100 τ_μ). In a batched sequence the
    clamped columns take per-item values, keep them through item resets, and a clamped label
    column stays at its item's label."""
    c, W1, W2 = _network(batch_size=2)
    inputs = np.array([[1.0, 2.0], [0.5, -1.0]])
    c.clamp("inp", inputs)
    c.run(1000 * ms, record=False)
    hidden = np.tanh(inputs) @ W1.T
    np.testing.assert_allclose(c.estimate("hid"), hidden, atol=1e-9)
    np.testing.assert_allclose(c.estimate("out"), np.tanh(hidden) @ W2.T, atol=1e-9)
    items = np.random.default_rng(0).normal(size=(3, 2, 2))
    labels = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    c.clamp("out")
    rec = c.run_sequence({"inp": items, "out": labels}, 30 * ms)
    np.testing.assert_array_equal(rec.trial_end["inp"], items)
    np.testing.assert_array_equal(rec.trial_end["out"], np.repeat(labels[:, None, :], 2, axis=1))
    c.release("out")
    rec = c.run_sequence({"inp": items}, 800 * ms)
    np.testing.assert_allclose(rec.trial_end["out"], np.tanh(np.tanh(items) @ W1.T) @ W2.T, atol=1e-9)


def test_clamp_errors_name_the_fix():
    c, _, _ = _network()
    c.sensory("x", 2)
    c.connect("out", "x", np.eye(2))
    with pytest.raises(ValueError, match="sensory column, always clamped"):
        c.clamp("x")
    with pytest.raises(ValueError, match="release: 'x' is a sensory column"):
        c.release("x")
    with pytest.raises(ValueError, match=r"not sensory or clamped columns.*circuit.clamp"):
        c.run(1 * ms, stimulus={"x": [0, 0], "inp": [1, 1]})
    c.clamp("inp")
    with pytest.raises(ValueError, match="clamped latent column, which holds a constant"):
        c.run(1 * ms, stimulus={"x": [0, 0], "inp": np.zeros((10, 2))})
    with pytest.raises(ValueError, match=r"clamp values for 'hid'.*shape \(3,\)"):
        c.clamp("hid", [1.0, 2.0])
    c.run(1 * ms, stimulus={"x": [0, 0], "inp": [1, 1]})
    c.reset()
    np.testing.assert_array_equal(c.estimate("inp"), [1, 1])   # reset leaves a clamped column alone
