"""Rectified error populations (issue 15): ε+/ε− pairs of non-negative rates whose difference
is the signed circuit's ε.

The pair's membranes obey τ_ε dv±/dt = −v± ± (e + μ − g − Σ'e) with ε± = [v±]+; since
v− = −v+, e = ε+ − ε− follows the signed equation step for step (forward Euler included, where
negation is exact), so the tolerances below are set by floating-point rounding of the same
products in a different order (≈1e-15); the issue's bounds (1e-6 for the exact posterior,
1e-5 for nonlinear fixed points) are checked as stated and the trajectories far tighter.
"""
import numpy as np
import pytest
from brian2 import TimedArray, ms

from circuits import Circuit
from tests.conftest import DT, build_circuit, random_covariance, random_linear_hierarchy
from tests.reference import simulate_rectified
from tests.test_reference_agreement import nonlinear_model
from tests.validation.gaussian import posterior_mean
from tests.validation.test_linear_gaussian import settling_duration

TRAJECTORY = 1e-12   # rectified vs signed, every recorded step (rounding only)


def assert_same_run(signed, rectified, tolerance=TRAJECTORY):
    for name in signed.estimate:
        np.testing.assert_allclose(rectified.estimate[name], signed.estimate[name], rtol=0, atol=tolerance)
        np.testing.assert_allclose(rectified.error[name], signed.error[name], rtol=0, atol=tolerance)


def assert_rates_are_rectified(rec):
    """Every recorded ε+ and ε− is ≥ 0, one of each pair is silent, and ε+ − ε− is the error."""
    assert rec.error_positive and set(rec.error_positive) == set(rec.error)
    for name in rec.error_positive:
        positive, negative = rec.error_positive[name], rec.error_negative[name]
        assert positive.min() >= 0.0 and negative.min() >= 0.0
        assert np.all((positive == 0) | (negative == 0))
        np.testing.assert_array_equal(positive - negative, rec.error[name])


@pytest.mark.parametrize("sizes", [(4, 2), (5, 3, 2), (6, 4, 3, 2)], ids=["2-level", "3-level", "4-level"])
def test_rectified_linear_hierarchy_settles_on_the_exact_posterior(sizes, rng):
    """Random W, full Σ (lateral synapses among the pairs), biases: the rectified circuit's
    estimates reach the posterior mean from joint-Gaussian conditioning (relative error ≤ 1e-6,
    after the slowest mode of the signed dynamics decayed 1e-10), and its whole trajectory is
    the signed circuit's."""
    model = random_linear_hierarchy(rng, sizes)
    x = rng.normal(size=sizes[0])
    duration = settling_duration(model)
    signed, rectified = build_circuit(model), build_circuit(model, errors="rectified")
    rec_signed, rec = signed.run(duration, stimulus=x, record=10), rectified.run(duration, stimulus=x, record=10)
    for name, expected in posterior_mean(model, {"x": x}).items():
        assert np.linalg.norm(rectified.estimate(name) - expected) / np.linalg.norm(expected) <= 1e-6
    assert_same_run(rec_signed, rec)
    assert_rates_are_rectified(rec)


@pytest.mark.parametrize("backend", ["dense", "synapses"])
def test_rectified_nonlinear_circuit_equals_the_signed_one(backend, rng):
    """tanh, sigmoid, softplus and relu projections, two sensory columns sharing an upper
    column, full Σ and biases, a stimulus that changes sign: trajectories equal to 1e-12 at
    every step and the settled estimates (the fixed point, reached to ~1e-8) to 1e-5."""
    model = nonlinear_model(rng)
    steps = 4000
    t = np.arange(steps) * float(DT)
    wave = (t < 0.2)[:, None]
    stimulus = {"a": np.where(wave, 1.0, -1.0) * rng.normal(size=4), "b": np.where(wave, -0.5, 0.8) * np.ones(3)}
    signed = build_circuit(model, backend=backend)
    rectified = build_circuit(model, backend=backend, errors="rectified")
    rec_signed, rec = signed.run(steps * DT, stimulus=stimulus), rectified.run(steps * DT, stimulus=stimulus)
    assert_same_run(rec_signed, rec)
    for name in ("z1", "z2"):
        settled = signed.estimate(name)
        assert np.abs(rec_signed.estimate[name][-100] - settled).max() < 1e-6   # settled
        assert np.linalg.norm(rectified.estimate(name) - settled) / np.linalg.norm(settled) <= 1e-5
    assert_rates_are_rectified(rec)


def test_pairs_follow_the_numpy_reference(rng):
    """ε+ and ε− themselves, every step, against an independent NumPy implementation of the
    pair equations (tests/reference.simulate_rectified, written from README): 1e-9."""
    model = nonlinear_model(rng)
    for e in model.edges:   # the rectified reference has no interneurons/attention; keep f as is
        e.bias = np.asarray(e.bias, float)
    steps = 600
    stimulus = {"a": np.tile(rng.normal(size=4), (steps, 1)), "b": np.tile(rng.normal(size=3), (steps, 1))}
    rec = build_circuit(model, errors="rectified").run(steps * DT, stimulus=stimulus)
    mu, positive, negative = simulate_rectified(model, stimulus, steps, float(DT), 0.010, 0.002)
    for name in model.levels:
        np.testing.assert_allclose(rec.estimate[name], mu[name], rtol=0, atol=1e-9)
        np.testing.assert_allclose(rec.error_positive[name], positive[name], rtol=0, atol=1e-9)
        np.testing.assert_allclose(rec.error_negative[name], negative[name], rtol=0, atol=1e-9)
    for rates in (positive, negative):   # both kinds of population fire somewhere
        assert max(values.max() for values in rates.values()) > 0.1


def test_membranes_mirror_and_rates_never_go_negative():
    """The ε− membranes are the negated ε+ ones at every step (v− = −v+), so one neuron of each
    pair is silent; a perturbation of the common mode decays with τ_ε."""
    c = Circuit()
    c.sensory("x", 3, covariance=np.eye(3) * 0.5 + 0.2, errors="rectified")
    c.column("z", 2, errors="rectified")
    c.connect("z", "x", [[1.0, 0.0], [0.5, -0.5], [0.0, 1.0]])
    c.run(20 * ms, stimulus=[1.0, -2.0, 0.5])
    membranes = c.columns["x"].state.error_neurons.reshape(2, 3)
    np.testing.assert_array_equal(membranes[1], -membranes[0])
    c.columns["x"].state.error_neurons[:] += 0.3     # both membranes up: a common-mode kick
    rec = c.run(20 * ms)
    membranes = c.columns["x"].state.error_neurons.reshape(2, 3)
    np.testing.assert_allclose(membranes[0] + membranes[1], 0.6 * (1 - 0.05) ** 200, rtol=1e-9)
    assert min(rec.error_positive["x"].min(), rec.error_negative["x"].min()) >= 0.0


@pytest.mark.parametrize("schedule", ["trial", "continuous"])
def test_learning_with_rectified_errors_equals_signed(schedule):
    """W, b (learn_bias) and Σ through rectified interneuron pairs a± = [w±]+ learn exactly as
    with signed neurons (Hebbian terms read e = ε+ − ε− and a = a+ − a−): weights, biases and
    covariances to 1e-12 after 30 items."""
    def learner(errors):
        c = Circuit()
        c.sensory("x", 3, covariance=1.0, learn_covariance=True, covariance_learning_rate=0.02, errors=errors)
        c.column("z", 2, errors=errors)
        c.connect("z", "x", np.random.default_rng(2).normal(size=(3, 2)), plastic=True, learning_rate=0.02,
                  learn_bias=True)
        items = np.random.default_rng(3).normal(size=(30, 3)) + [1.0, -1.0, 0.0]
        return c, c.run_sequence(items, 20 * ms, record="all", learn=schedule)
    (signed, rec_signed), (rectified, rec) = learner("signed"), learner("rectified")
    assert_same_run(rec_signed, rec)
    for read in (lambda c: c.weights("z", "x"), lambda c: c.bias("z", "x"), lambda c: c.covariance("x")):
        np.testing.assert_allclose(read(rectified), read(signed), rtol=0, atol=1e-12)
    assert np.abs(rectified.covariance("x") - np.eye(3)).max() > 0.05   # Σ did learn
    interneurons = rectified.columns["x"].interneuron
    assert interneurons.N == 6 and np.all(interneurons.activity[:] >= 0)
    np.testing.assert_allclose(rec.trial_end["z"], rec_signed.trial_end["z"], rtol=0, atol=1e-12)


@pytest.mark.parametrize("batch_size", [None, 3])
def test_learning_at_a_sample_of_q_with_rectified_errors_equals_signed(batch_size):
    """learn_at='laplace' (variational EM) holds every column at a sample z ~ q and its error
    neurons at Π(z − g) before the Hebbian step: rectified pairs are set to v± = ±ε there, so W
    and b learn exactly as with signed neurons (same seed, same samples), and differ from learning
    at the settled state (the sample matters)."""
    def learner(errors, learn_at):
        c = Circuit(seed=4, batch_size=batch_size)
        c.sensory("x", 3, covariance=0.5, errors=errors)
        c.column("z", 2, errors=errors)
        c.connect("z", "x", np.random.default_rng(2).normal(size=(3, 2)), plastic=True, learning_rate=0.05,
                  learn_bias=True, activation="tanh")
        items = np.random.default_rng(3).normal(size=(12, 3)) + [1.0, -1.0, 0.0]
        c.run_sequence(items, 20 * ms, learn="trial", learn_at=learn_at)
        return c.weights("z", "x"), c.bias("z", "x")
    signed, rectified = learner("signed", "laplace"), learner("rectified", "laplace")
    for a, b in zip(signed, rectified):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-12)
    assert np.abs(learner("rectified", "settled")[0] - rectified[0]).max() > 1e-3


def test_attention_with_rectified_errors_equals_signed(rng):
    """Constant gains on a column with full Σ (the lateral synapses carry Σ' − diag Σ') and
    gains switched by a TimedArray, in a batch of 3 with a tanh projection: equal to 1e-12,
    free energy included."""
    covariance = random_covariance(rng, 2)

    def attended(errors):
        c = Circuit(batch_size=3)
        c.sensory("a", 2, covariance=[0.5, 1.0], errors=errors)
        c.column("z", 2, covariance=covariance, prior_mean=[0.2, -0.1], errors=errors)
        c.column("top", 1, errors=errors)
        c.connect("z", "a", [[1.0, 0.3], [0.2, -0.7]], activation="tanh")
        c.connect("top", "z", [[0.5], [-1.0]])
        c.attend("a", TimedArray(np.array([[1.0, 2.0], [3.0, 0.5]]), dt=25 * ms))
        c.attend("z", [2.0, 0.5])
        return c.run(50 * ms, stimulus=np.random.default_rng(5).normal(size=(3, 2)))
    signed, rectified = attended("signed"), attended("rectified")
    assert_same_run(signed, rectified)
    np.testing.assert_allclose(rectified.free_energy, signed.free_energy, rtol=1e-12)
    assert_rates_are_rectified(rectified)


@pytest.mark.parametrize("flow", ["autoregressive", "symmetric", "surround"])
def test_whitening_flows_with_rectified_errors(flow):
    """Lateral inhibition as a flow, learned, with rectified pairs: equal to the signed flow."""
    covariance = np.array([[2.0, 0.5, 0.1], [0.5, 1.0, 0.2], [0.1, 0.2, 1.5]])

    def whiten(errors):
        c = Circuit()
        c.sensory("x", 3, covariance=covariance, lateral_inhibition=flow, learn_inhibition=True,
                  inhibition_learning_rate=0.01, errors=errors)
        return c, c.run_sequence(np.random.default_rng(3).normal(size=(20, 3)), 20 * ms, record="all")
    (signed, rec_signed), (rectified, rec) = whiten("signed"), whiten("rectified")
    assert_same_run(rec_signed, rec)
    np.testing.assert_allclose(rectified.columns["x"].flow_matrix, signed.columns["x"].flow_matrix, atol=1e-12)


def test_rectified_standalone_and_storage(tmp_path):
    """The C++ standalone program runs rectified pairs (paired synapses with ±w) like the
    runtime signed circuit; save → load keeps errors='rectified' and reproduces the run."""
    def build(errors, **options):
        c = Circuit(**options)
        c.sensory("x", 3, covariance=0.5, errors=errors)
        c.column("z", 2, covariance=np.eye(2) + 0.3, errors=errors)
        c.connect("z", "x", [[1, 0], [0.5, 0.5], [0, 1]])
        c.attend("z", 2.0)
        return c
    x = [1.0, -1.0, 0.5]
    signed = build("signed").run(20 * ms, stimulus=x)
    standalone = build("rectified", device="cpp_standalone", standalone_directory=str(tmp_path / "sa"))
    assert_same_run(signed, standalone.run(20 * ms, stimulus=x))
    runtime = build("rectified")
    first = runtime.run(20 * ms, stimulus=x)
    runtime.save(tmp_path / "model.npz")
    loaded = Circuit.load(tmp_path / "model.npz")
    assert loaded.columns["z"].errors == "rectified" and loaded.columns["z"].error.N == 4
    assert_same_run(first, loaded.run(20 * ms, stimulus=x), tolerance=0)


def test_bad_errors_option():
    c = Circuit()
    with pytest.raises(ValueError, match="errors must be one of"):
        c.column("z", 2, errors="positive")


def test_encoders_read_rectified_errors():
    """An encoder with a learned update reads the errors of rectified columns (e = ε+ − ε−):
    hybrid inference over 20 items equals the signed circuit's (settled estimates and
    amortization gaps to 1e-12); the sequence records only item ends (an empty trace)."""
    def encoded(errors):
        c = Circuit()
        c.sensory("x", 3, covariance=0.5, errors=errors)
        c.column("z", 2, errors=errors)
        c.connect("z", "x", [[1.0, 0.2], [0.3, -0.5], [0.0, 1.0]])
        c.encoder("z", learning_rate=0.05, iterations=1)
        return c.run_sequence(np.random.default_rng(0).normal(size=(20, 3)), 60 * ms, inference="hybrid")
    signed, rectified = encoded("signed"), encoded("rectified")
    np.testing.assert_allclose(rectified.trial_end["z"], signed.trial_end["z"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(rectified.amortization_gap, signed.amortization_gap, rtol=0, atol=1e-12)
    assert rectified.error_positive["x"].shape == (0, 3)
