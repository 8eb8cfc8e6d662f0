"""Issue 5, part 1: amortized inference, iterative amortization and the Monte-Carlo ELBO."""
import numpy as np
import pytest
from brian2 import ms
from scipy.stats import multivariate_normal

from circuits import Circuit, exact_posterior
from circuits.simulations import amortization

#: One test process runs this whole file (pytest-xdist's loadgroup): its module fixtures are built once.
pytestmark = pytest.mark.xdist_group("amortization")


@pytest.fixture(scope="module")
def outcome():
    """The canned simulation (400 training items; ~15 s)."""
    return amortization.simulate(seed=0).summary


def test_trained_encoder_proposes_the_exact_posterior_mean(outcome):
    """Held-out inputs: ‖μ_q − E[z|x]‖/‖E[z|x]‖ < 1e-3 (observed 6e-5 after 400 items). For a
    linear Gaussian model the posterior mean is affine in x, so V x + c can represent it and
    the delta rule converges to it (the settled estimates are exact to ~1e-9)."""
    assert outcome["proposal_relative_error"] < 1e-3


def test_amortization_gap_shrinks_with_training(outcome):
    """F(μ_q) − F(μ settled) ≥ 0 per item, falling from ~1 to ~1e-8 over the training."""
    assert outcome["amortization_gap_first_tenth"] > 0.1
    assert outcome["amortization_gap_last_tenth"] < 1e-6
    assert outcome["trained_amortization_gap_held_out"] < 1e-6


def test_hybrid_reaches_the_optimum_sooner_than_iterative(outcome):
    """Time after which F stays within 1e-3 of F*: iterative 28 ms; hybrid 16 ms with an
    encoder trained on 20 items and 13 ms fully trained (every held-out item gets there)."""
    for stage in ("early", "trained"):
        times = outcome[f"{stage}_time_to_optimum_ms"]
        assert outcome[f"{stage}_reached_optimum"]["hybrid"] == amortization.TEST_ITEMS
        assert times["hybrid"] < 0.75 * times["iterative"]
    assert outcome["early_amortization_gap_held_out"] > 1e-2   # a real gap that the dynamics close


def test_one_learned_update_lands_on_the_posterior_mean(outcome):
    """Iterative amortization from the prior mean: after one update μ + u (u = Σ U_k ε_k
    learned from the errors) the estimate is within 1% of the exact posterior mean (observed
    3.5e-4; without the update the relative error is ~1)."""
    assert outcome["iterative_amortization_relative_error"] < 1e-2


def test_monte_carlo_elbo_agrees_with_the_closed_form(outcome):
    """Within 3 standard errors (20,000 samples), for the mean-field and the Laplace q; the
    closed-form Laplace ELBO at the posterior mean equals log p(x) (to 1e-9)."""
    for q in ("mean-field", "laplace"):
        value, error = outcome["elbo_monte_carlo"][q]
        assert abs(value - outcome["elbo_closed_form"][q]) < 3 * error
    assert abs(outcome["elbo_closed_form"]["laplace"] - outcome["log_evidence"]) < 1e-9
    assert outcome["elbo_closed_form"]["mean-field"] < outcome["elbo_closed_form"]["laplace"]
    assert -outcome["free_energy_settled"] < outcome["elbo_closed_form"]["laplace"]


def settled_circuit():
    rng = np.random.default_rng(3)
    weights = rng.normal(size=(4, 2)) / 2
    circuit = Circuit()
    circuit.sensory("x", 4, covariance=0.5)
    circuit.column("z", 2, covariance=1.0, prior_mean=[0.5, -0.5])
    circuit.connect("z", "x", weights)
    x = rng.normal(size=4)
    circuit.run(300 * ms, stimulus=x, record=False)
    return circuit, weights, x


def test_laplace_elbo_is_the_log_evidence():
    """Independent of the circuit's code: log N(x; W m, W Wᵀ + Σ_x) by scipy."""
    circuit, weights, x = settled_circuit()
    evidence = multivariate_normal(weights @ [0.5, -0.5], weights @ weights.T + 0.5 * np.eye(4)).logpdf(x)
    assert abs(circuit.elbo(covariance="laplace", method="closed-form")[0] - evidence) < 1e-8
    H = circuit.posterior_precision()
    np.testing.assert_allclose(np.linalg.inv(H), exact_posterior(circuit, {"x": x})[1], atol=1e-12)


def test_monte_carlo_standard_error_is_calibrated():
    """Over 400 independent Monte-Carlo ELBOs of 500 samples, the fraction within one reported
    standard error of the closed form is that of a normal estimate, 0.683 (± 0.07, 3 binomial
    standard deviations), and the samples have the mean and covariance of q (5 s.e.)."""
    circuit, _, _ = settled_circuit()
    closed = circuit.elbo(method="closed-form")[0]
    within = [abs(value - closed) < error for value, error in
              (circuit.elbo(samples=500, seed=seed) for seed in range(400))]
    assert abs(np.mean(within) - 0.683) < 0.07
    draws = circuit.sample(40_000, seed=1)["z"]
    sigma = 1 / np.sqrt(np.diag(circuit.posterior_precision()))
    np.testing.assert_allclose(draws.mean(0), circuit.estimate("z"), atol=5 * sigma.max() / 200)
    np.testing.assert_allclose(draws.std(0), sigma, rtol=5 / np.sqrt(2 * 40_000))


def encoded_circuit(**options):
    circuit = Circuit()
    circuit.sensory("x", 3, covariance=0.5)
    circuit.column("z", 2, covariance=1.0)
    circuit.connect("z", "x", [[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    return circuit, circuit.encoder("z", **options)


def test_amortized_mode_holds_the_proposal():
    """Encoder only: the estimate is the proposal V x + c (exactly), one step into the item."""
    weights = np.array([[0.3, -0.2, 0.1], [0.0, 0.4, 0.2]])
    circuit, encoder = encoded_circuit(weights=weights, bias=[0.1, -0.1], plastic=False)
    stimuli = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0]])
    rec = circuit.run_sequence(stimuli, 20 * ms, inference="amortized")
    np.testing.assert_allclose(rec.trial_end["z"], stimuli @ weights.T + [0.1, -0.1], atol=1e-12)
    np.testing.assert_allclose(rec.trial_proposal["z"], rec.trial_end["z"], atol=1e-12)
    assert np.all(rec.amortization_gap == pytest.approx(0, abs=1e-12))


def test_encoder_learns_in_continuous_time_too():
    """learn="continuous": ΔV = α (μ(t) − μ_q) xᵀ every step; the gap falls as with trials."""
    circuit, _ = encoded_circuit(learning_rate=0.5)
    stimuli = np.random.default_rng(0).normal(size=(150, 3))
    rec = circuit.run_sequence(stimuli, 40 * ms, inference="hybrid", learn="continuous")
    assert rec.amortization_gap[-10:].mean() < 1e-2 * rec.amortization_gap[:10].mean()


def test_amortization_errors():
    circuit, _ = encoded_circuit(iterations=1)
    with pytest.raises(ValueError, match="inference must be"):
        circuit.run_sequence(np.zeros((1, 3)), 50 * ms, inference="direct")
    with pytest.raises(ValueError, match="too short"):
        circuit.run_sequence(np.zeros((1, 3)), 5 * ms, inference="hybrid")
    plain = Circuit()
    plain.sensory("x", 2)
    plain.column("z", 1)
    plain.connect("z", "x", [[1.0], [1.0]])
    with pytest.raises(ValueError, match="needs an encoder"):
        plain.run_sequence(np.zeros((1, 2)), 10 * ms, inference="hybrid")
    with pytest.raises(ValueError, match="sensory"):
        plain.encoder("x")
    with pytest.raises(ValueError, match="iterations"):
        plain.encoder("z", iterations=-1)
    with pytest.raises(ValueError, match="weights"):
        plain.encoder("z", weights=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="covariance must be"):
        circuit.elbo(covariance="full")
    with pytest.raises(ValueError, match="samples"):
        circuit.sample(1)


def test_encoder_learns_alongside_the_generative_weights():
    """One run_sequence: W learns (Hebbian) while the encoder learns from the settled estimates
    of the changing model; both change, and the gap still shrinks (the encoder tracks W)."""
    circuit = Circuit()
    circuit.sensory("x", 3, covariance=0.5)
    circuit.column("z", 2, covariance=1.0)
    circuit.connect("z", "x", [[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]], plastic=True, learning_rate=0.002)
    encoder = circuit.encoder("z", learning_rate=0.2)
    before = circuit.weights("z", "x")
    rec = circuit.run_sequence(np.random.default_rng(0).normal(size=(200, 3)), 40 * ms, inference="hybrid")
    assert np.abs(circuit.weights("z", "x") - before).max() > 1e-3
    assert np.abs(encoder.weights).max() > 0.1
    assert rec.amortization_gap[-20:].mean() < 0.05 * rec.amortization_gap[:20].mean()


def test_update_neurons_need_the_projections_first():
    """An encoder's update neurons read the errors of the columns its target predicts, fixed
    when it is added: connecting the target afterwards is refused rather than left unread."""
    circuit = Circuit()
    circuit.sensory("x", 2)
    circuit.column("z", 1)
    circuit.encoder("z", source="x", iterations=1)
    with pytest.raises(ValueError, match="connect the columns first"):
        circuit.connect("z", "x", [[1.0], [1.0]])
