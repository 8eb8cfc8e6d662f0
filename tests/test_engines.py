"""The lean core (issue 10): Circuit is a facade over a graph and an engine; modules use public
views only; options that learn do learn; Brian2 internals the runtime engine relies on."""
import ast
from pathlib import Path

import numpy as np
import pytest
from brian2 import ms

from circuits import Circuit
from circuits.engines import DEVICES, Engine
from circuits.engines import runtime

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = [ROOT / "circuits", ROOT / "populations"]


def _private_accesses(path: Path):
    """(line, text) of every ``x._name`` where x is not ``self``/``cls``/``super()`` (an
    override calling the implementation it extends is the class's own; same-class access to
    another instance is written ``other._name`` and listed too, so keep it rare)."""
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                continue
            if isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "super":
                continue
            found.append((node.lineno, ast.unparse(node)))
    return found


def test_no_module_reaches_into_another_modules_private_state():
    """Columns, projections and encoders expose public views (``column.state``, Coupling
    matrices); engines, learning, storage and analysis use those. Allowed: the standalone
    engine handing its project over between two of its own instances."""
    allowed = {("circuits/engines/standalone.py", "previous._device")}
    offenders = []
    for package in PACKAGES:
        for path in sorted(package.rglob("*.py")):
            relative = str(path.relative_to(ROOT))
            offenders += [(relative, line, text) for line, text in _private_accesses(path)
                          if (relative, text) not in allowed and not text.startswith(("np._", "brian2._"))]
    assert offenders == [], offenders


def test_circuit_is_a_facade_without_device_branches():
    """circuit.py stays small and never compares the device: the engine decides."""
    source = (ROOT / "circuits" / "circuit.py").read_text()
    assert len(source.splitlines()) < 400
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            names = {n.attr if isinstance(n, ast.Attribute) else getattr(n, "id", None) for n in ast.walk(node)}
            assert "device" not in names, ast.unparse(node)
    assert "StandaloneEngine" not in source and "RuntimeEngine" not in source


def test_every_engine_implements_the_protocol():
    for device, engine in DEVICES.items():
        assert issubclass(engine, Engine) and engine.device == device
    assert not Engine.__abstractmethods__ - {"build", "run", "reset", "time"}


def test_state_updaters_keep_their_code_objects():
    """The runtime engine replaces each state updater's ``create_code_objects`` after the
    first run (Brian2 would regenerate the code at every run). Brian2's method must still have
    the signature the replacement assumes; a second run then reuses the same code objects."""
    assert runtime.KEEPS_CODE_OBJECTS, "Brian2's CodeRunner.create_code_objects changed: review runtime.py"
    c = Circuit()
    c.sensory("x", 2)
    c.column("z", 1)
    c.connect("z", "x", [[1.0], [0.5]])
    c.run(1 * ms, stimulus=[1.0, 0.0])
    first = c.columns["z"].estimate.state_updater.codeobj
    c.run(1 * ms)
    assert c.columns["z"].estimate.state_updater.codeobj is first


def _bias_circuit(**options):
    c = Circuit()
    c.sensory("x", 2, covariance=0.5)
    c.column("z", 1)
    c.connect("z", "x", [[1.0], [-0.5]], learning_rate=0.1, **options)
    return c


def test_learn_bias_without_plastic_weights_learns_the_bias():
    """Issue 10's bug: learn_bias=True without plastic=True learned nothing. Now b follows
    Δb = α ε_x at every item end (checked against the errors recorded at the item ends) and
    W stays fixed."""
    c = _bias_circuit(learn_bias=True)
    items = np.random.default_rng(0).normal(size=(20, 2)) + [1.0, 2.0]
    rec = c.run_sequence(items, 20 * ms)
    np.testing.assert_allclose(c.bias("z", "x"), 0.1 * rec.trial_error["x"].sum(axis=0), rtol=1e-12)
    assert np.abs(c.bias("z", "x")).max() > 0.5
    np.testing.assert_array_equal(c.weights("z", "x"), [[1.0], [-0.5]])


def test_kolen_pollack_needs_plastic_weights():
    """Kolen–Pollack learns B with W's transposed rule: without plastic=True it is refused
    instead of silently learning nothing."""
    with pytest.raises(ValueError, match="kolen-pollack.*plastic=True"):
        _bias_circuit(feedback="kolen-pollack")
