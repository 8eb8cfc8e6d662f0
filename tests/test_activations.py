"""Activations: the Brian2 strings, their NumPy twins and their derivatives."""
import numpy as np
import pytest

from populations import ACTIVATIONS, Activation, get_activation
from tests.conftest import NUMPY_ACTIVATIONS

POINTS = np.linspace(-3.1, 2.9, 25)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_builtin_matches_hand_written_numpy(name):
    f, fprime = NUMPY_ACTIVATIONS[name]
    activation = get_activation(name)
    np.testing.assert_allclose(activation.rate_numpy(POINTS), f(POINTS), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(activation.gain_numpy(POINTS), fprime(POINTS), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_builtin_gain_is_the_derivative(name):
    activation = get_activation(name)
    points = POINTS[np.abs(POINTS) > 1e-3]          # relu has a kink at 0
    h = 1e-6
    numeric = (activation.rate_numpy(points + h) - activation.rate_numpy(points - h)) / (2 * h)
    np.testing.assert_allclose(activation.gain_numpy(points), numeric, rtol=1e-6, atol=1e-8)


def test_expressions_substitute_the_variable():
    tanh = get_activation("tanh")
    assert tanh.rate("mu_pre") == "(tanh(mu_pre))"
    assert tanh.gain("mu") == "(1 - tanh(mu)**2)"
    # whole words only: exp(x) must not become emu_prep(mu_pre)
    assert get_activation("softplus").rate("mu_pre") == "(log(1 + exp(mu_pre)))"


def test_custom_pair_and_constants():
    square = get_activation(("x**2", "2*x"))
    np.testing.assert_allclose(square.rate_numpy(POINTS), POINTS ** 2)
    capped = Activation("clip(x, -pi, pi)", "1.0*int(abs(x) < pi)", "capped")
    np.testing.assert_allclose(capped.rate_numpy(np.array([-5.0, 0.5, 5.0])), [-np.pi, 0.5, np.pi])
    constant = get_activation("linear")
    assert constant.gain_numpy(POINTS).shape == POINTS.shape and constant.is_identity


def test_bad_expressions():
    with pytest.raises(TypeError, match="non-empty Brian2 expression"):
        Activation("", "1")
    with pytest.raises(ValueError, match=r"unknown name\(s\) \['v'\]"):
        Activation("v**2", "2*v")
