"""Activation functions f (firing-rate nonlinearities) and their derivatives f'.

Each activation is a pair of Brian2 expressions in the variable ``x``: the rate
``f(x)`` that an estimate neuron sends down the top-down generative synapses, and the
gain ``f'(x)`` that scales the bottom-up errors it receives (Bogacz 2017, eq. 14).
The same strings give the NumPy twin used by the dense projection backend, so every
activation has exactly one definition.

>>> tanh = get_activation("tanh")
>>> tanh.rate("mu_pre")
'tanh(mu_pre)'
>>> custom = get_activation(("x**2", "2*x"))     # Bogacz 2017, g(v) = v^2
>>> [f.name for f in get_activations(["linear", "tanh"], layers=2)]   # one per layer
['linear', 'tanh']
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from brian2.core.functions import DEFAULT_CONSTANTS, DEFAULT_FUNCTIONS
from brian2.utils.stringtools import get_identifiers, word_substitute

__all__ = ["Activation", "ACTIVATIONS", "get_activation", "get_activations", "numpy_function"]

#: Names a Brian2 expression may use besides ``x``, with their NumPy implementations: NumPy's
#: own ufunc where there is one (Brian2's Python versions check units first, ~50 µs a call on
#: every step of a dense coupling), Brian2's otherwise (clip, int, exprel).
_NUMPY_NAMESPACE = {name: getattr(np, name) if isinstance(getattr(np, name, None), np.ufunc) else fn.pyfunc
                    for name, fn in DEFAULT_FUNCTIONS.items()
                    if fn.pyfunc is not None and name not in ("rand", "randn", "poisson", "timestep")}
_NUMPY_NAMESPACE.update({name: const.value for name, const in DEFAULT_CONSTANTS.items()
                         if name.isidentifier()})


@dataclass(frozen=True)
class Activation:
    """A rate nonlinearity f with its derivative f'.

    Parameters
    ----------
    rate_expression : str
        Brian2 expression for f(x), in the variable ``x`` (dimensionless).
    gain_expression : str
        Brian2 expression for f'(x).
    name : str
        Label used in summaries and error messages.
    """

    rate_expression: str
    gain_expression: str
    name: str = "custom"
    _rate_numpy: object = field(init=False, repr=False, compare=False)
    _gain_numpy: object = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        for label, expression in (("f", self.rate_expression), ("f'", self.gain_expression)):
            if not isinstance(expression, str) or not expression.strip():
                raise TypeError(f"activation {self.name!r}: {label} must be a non-empty Brian2 "
                                f"expression string in the variable 'x', got {expression!r}")
            if callable(_NUMPY_NAMESPACE.get(expression.strip())):
                name = expression.strip()
                hint = (f"the activation {name!r} is used by name: activation={name!r}"
                        if name in ACTIVATIONS else f"write e.g. '{name}(x)'")
                raise ValueError(f"activation {self.name!r}: {label} = {expression!r} is a function, "
                                 f"not an expression in the variable 'x' ({hint}; a custom pair "
                                 f"is (f, f') such as ('tanh(x)', '1 - tanh(x)**2'); several layers take "
                                 f"one activation each: activation=[f_1, …, f_K])")
            unknown = get_identifiers(expression) - set(_NUMPY_NAMESPACE) - {"x"}
            if unknown:
                raise ValueError(f"activation {self.name!r}: {label} = {expression!r} uses unknown "
                                 f"name(s) {sorted(unknown)}; write it in the variable 'x' with "
                                 f"Brian2 functions such as exp, log, tanh, clip, int")
        object.__setattr__(self, "_rate_numpy", _compile_numpy(self.rate_expression))
        object.__setattr__(self, "_gain_numpy", _compile_numpy(self.gain_expression))

    @property
    def is_identity(self) -> bool:
        """True for f(x) = x, which the dense backend skips evaluating."""
        return self.rate_expression.replace(" ", "") == "x"

    def rate(self, variable: str) -> str:
        """The Brian2 expression f(variable)."""
        return "(" + word_substitute(self.rate_expression, {"x": variable}) + ")"

    def gain(self, variable: str) -> str:
        """The Brian2 expression f'(variable)."""
        return "(" + word_substitute(self.gain_expression, {"x": variable}) + ")"

    def rate_numpy(self, x: np.ndarray) -> np.ndarray:
        """f(x) evaluated with NumPy (same expression as the Brian2 one)."""
        return x if self.is_identity else np.broadcast_to(self._rate_numpy(x), np.shape(x))

    def gain_numpy(self, x: np.ndarray) -> np.ndarray:
        """f'(x) evaluated with NumPy (same expression as the Brian2 one)."""
        return np.broadcast_to(self._gain_numpy(x), np.shape(x))

    def check_derivative(self, points=np.linspace(-2.3, 2.1, 9), tolerance=1e-4):
        """Warn if f' is not the derivative of f at a few points (central differences)."""
        h = 1e-6
        numeric = (self.rate_numpy(points + h) - self.rate_numpy(points - h)) / (2 * h)
        analytic = self.gain_numpy(points)
        if not np.allclose(numeric, analytic, rtol=tolerance, atol=tolerance):
            warnings.warn(f"activation {self.name!r}: f' = {self.gain_expression!r} differs from the "
                          f"numerical derivative of f = {self.rate_expression!r}; the estimates will "
                          f"not follow the free-energy gradient", stacklevel=3)


def numpy_function(expression: str, arguments: list[str]):
    """The NumPy twin of a Brian2 expression: a function of ``arguments`` (in that order),
    with Brian2's functions and constants (exp, tanh, clip, int, pi, …) as NumPy ones.
    Any other name in the expression raises ``ValueError``."""
    unknown = get_identifiers(expression) - set(_NUMPY_NAMESPACE) - set(arguments)
    if unknown:
        raise ValueError(f"expression {expression!r} uses unknown name(s) {sorted(unknown)}")
    code = compile(f"lambda {', '.join(arguments)}: {expression}", f"<expression {expression}>", "eval")
    return eval(code, dict(_NUMPY_NAMESPACE))  # noqa: S307 - identifiers were checked above


def _compile_numpy(expression: str):
    return numpy_function(expression, ["x"])


#: Built-in activations by name.
ACTIVATIONS = {
    "linear": Activation("x", "1.0", "linear"),
    "tanh": Activation("tanh(x)", "1 - tanh(x)**2", "tanh"),
    "relu": Activation("clip(x, 0, inf)", "1.0*int(x > 0)", "relu"),
    "softplus": Activation("log(1 + exp(x))", "1/(1 + exp(-x))", "softplus"),
    "sigmoid": Activation("1/(1 + exp(-x))", "exp(-x)/(1 + exp(-x))**2", "sigmoid"),
}


def get_activation(activation, parameter: str = "activation") -> Activation:
    """Resolve ``activation``: a built-in name, an :class:`Activation`, or a pair of Brian2
    expressions ``(f, f')`` in the variable ``x``; ``parameter`` names it in error messages."""
    if isinstance(activation, Activation):
        return activation
    if isinstance(activation, str):
        try:
            return ACTIVATIONS[activation]
        except KeyError:
            raise ValueError(f"{parameter}: unknown name {activation!r}; choose one of "
                             f"{sorted(ACTIVATIONS)} or pass a pair of Brian2 expressions "
                             f"(f, f') such as ('x**2', '2*x')") from None
    if isinstance(activation, (tuple, list)) and len(activation) == 2:
        custom = Activation(activation[0], activation[1], name=f"f(x)={activation[0]}")
        custom.check_derivative()
        return custom
    raise TypeError(f"{parameter} must be a name ({sorted(ACTIVATIONS)}), an Activation or a "
                    f"pair of Brian2 expressions (f, f'), got {activation!r}")


def get_activations(activation, layers: int, parameter: str = "activation") -> list[Activation]:
    """One activation per layer of a pathway with ``layers`` weight matrices.

    One layer: ``activation`` is a name, an :class:`Activation` or a custom pair ``(f, f')``
    (a tuple or list of two expressions in ``x``), as for :func:`get_activation`. Several
    layers: a list (or tuple) with exactly one entry per layer, each a name, an Activation or
    a custom pair; ``["tanh", "tanh"]`` is two named layers, never a custom pair. Anything else
    raises an error naming the entry and the fix.
    """
    if layers == 1:
        if isinstance(activation, (list, tuple)) and len(activation) == 1:
            activation = activation[0]
        return [get_activation(activation, parameter)]
    if not isinstance(activation, (list, tuple)) or len(activation) != layers:
        given = (f"{len(activation)} entries" if isinstance(activation, (list, tuple))
                 else f"{activation!r}")
        raise ValueError(f"{parameter}: a pathway of {layers} layers takes a list of {layers} activations, "
                         f"one per layer (f_1 applied to the input, f_k to layer k − 1), e.g. "
                         f"{['linear'] + ['tanh'] * (layers - 1)}; got {given}")
    resolved = []
    for k, entry in enumerate(activation):
        label = f"{parameter}[{k}]"
        if isinstance(entry, (list, tuple)) and len(entry) != 2:
            raise ValueError(f"{label}: a custom activation is a pair (f, f') of expressions in x, got "
                             f"{len(entry)} entries {entry!r}")
        resolved.append(get_activation(entry, label))
    return resolved
