"""Issue 11: one clear error and nothing else — binding time constants, attention and learned Σ
checked against the Euler bound, and no Brian2 or NumPy noise around a failure."""
from __future__ import annotations

import gc
import logging
import re
import warnings

import numpy as np
import pytest
from brian2 import ms, us

from circuits import Circuit, SimulationDiverged


@pytest.fixture
def brian2_records():
    """Every record Brian2 logs at WARNING or above while the test runs (Brian2's loggers do not
    propagate to the root logger, so caplog would not see them)."""
    records = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Collect(logging.WARNING)
    logging.getLogger("brian2").addHandler(handler)
    yield records
    logging.getLogger("brian2").removeHandler(handler)


def _noise(records) -> list[str]:
    return [f"{r.name}: {r.getMessage()[:120]}" for r in records]


def test_too_large_dt_names_the_binding_time_constant_and_its_suggestion_works():
    """Circuit(dt=5 ms, tau_error=2 ms): τ_ε is the faster neuron, so it binds; the message names
    it (and only it as the binding one), and the dt it suggests builds and runs a circuit whose
    estimate settles on Bogacz's φ* = 1.567468 (within 1e-5 after 600 ms)."""
    with pytest.raises(ValueError) as info:
        Circuit(dt=5 * ms, tau_error=2 * ms)
    message = str(info.value)
    assert "here tau_error = 2. ms" in message and message.count("the faster neurons") == 1, message
    suggested = re.search(r"use dt ≤ ([\d.]+) us", message)
    assert suggested, message
    c = Circuit(dt=float(suggested.group(1)) * us, tau_error=2 * ms)
    c.sensory("u", 1)
    c.column("phi", 1, prior_mean=3.0)
    c.connect("phi", "u", [[1.0]], activation=("x**2", "2*x"))
    c.run(600 * ms, stimulus=[2.0], record=False)
    assert abs(c.estimate("phi")[0] - 1.567468) < 1e-5


def test_attention_beyond_the_euler_bound_names_attention():
    """attend("a", 0.02) makes Σ' = Σ/γ = 50: dt·50/τ_ε = 2.5 > 1. The error says so at attend
    time, naming attention and the gain, not later as a divergence."""
    c = Circuit()
    c.sensory("a", 1, covariance=1.0)
    c.column("z", 1)
    c.connect("z", "a", [[1.0]])
    with pytest.raises(ValueError) as info:
        c.attend("a", 0.02)
    message = str(info.value)
    for words in ("attend", "gain", "column 'a'", "Σ' = Σ/γ", "larger gains"):
        assert words in message, message
    c.attend("a", 0.2)   # Σ' = 5: dt·5/τ_ε = 0.25, allowed


def _growing_variance(rate=0.05):
    """x ~ prior N(0, Σ) with Σ learned from the input d = 3: ΔΣ = α (d²/Σ − 1) drives Σ towards
    d² = 9, past the Euler bound τ_ε/dt = 4 of the error neurons (dt = 0.5 ms, τ_ε = 2 ms).
    (Near the bound the ε–interneuron loop settles slowly, |1 + dt μ/τ_ε|² = 1 − h + h²Σ with
    h = dt/τ_ε; with h = 0.25 items of 40 ms still settle, so Σ really reaches the bound.)"""
    c = Circuit(dt=0.5 * ms, tau_error=2 * ms)
    c.sensory("x", 1, covariance=1.0, learn_covariance=True, covariance_learning_rate=rate)
    return c


@pytest.mark.parametrize("schedule", ["trial", "continuous"])
def test_learned_covariance_beyond_the_euler_bound_stops_the_run(schedule, brian2_records):
    """The learned Σ must respect dt·λmax(Σ)/τ_ε < 1, like a given one: the update that would
    break it raises SimulationDiverged naming the column, the learned Σ and the fix, and the
    last stable Σ (below the bound 4, finite) stays. Nothing else is printed or warned."""
    c = _growing_variance()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(SimulationDiverged) as info:
            if schedule == "trial":
                c.run_sequence(np.full((200, 1), 3.0), 40 * ms)
            else:
                c.run(2000 * ms, stimulus=[3.0], learn="continuous")
    message = str(info.value)
    for words in ("covariance learning of column 'x'", "learned Σ = [[", "covariance_learning_rate (now 0.05)",
                  "last stable Σ is kept", "dt·λmax(Σ)/τ_ε < 1", "reset()"):
        assert words in message, message
    kept = c.covariance("x")[0, 0]
    assert np.isfinite(kept) and 2.0 < kept < 4.0
    assert _noise(brian2_records) == []


def test_diverging_run_gives_one_error_and_no_warnings(brian2_records, recwarn, capfd):
    """A run that blows up (W = 1e4: Euler at dt = 0.1 ms multiplies the errors by ~100 per
    step; checked only every 30 ms they overflow to inf and NaN) raises SimulationDiverged;
    Brian2's invalid_values warnings (values beyond 1e50 or NaN) and NumPy's overflow warnings,
    which would repeat it less clearly, are not emitted."""
    for target in ("cython", "numpy"):
        c = Circuit(target=target, check_interval=30 * ms)
        c.sensory("x", 2)
        c.column("z", 1)
        c.connect("z", "x", [[1e4], [1e4]])
        with pytest.raises(SimulationDiverged, match="column 'x'"):
            c.run(30 * ms, stimulus=[1.0, 1.0])
    assert _noise(brian2_records) == []
    assert [str(w.message) for w in recwarn if issubclass(w.category, RuntimeWarning)] == []
    assert capfd.readouterr().err == ""


def test_circuits_dropped_before_their_first_run_leave_no_brian2_warnings(brian2_records, capfd):
    """Brian2 warns about objects garbage-collected without ever being part of a run; a circuit
    built only to read its state, or whose first run failed before starting, must not print
    one warning per neuron group after the user's real error."""
    def built_only():
        c = Circuit()
        c.sensory("x", 2)
        c.column("z", 1)
        c.connect("z", "x", [[1.0], [0.5]])
        c.estimate("z")

    def first_run_refused():
        c = Circuit()
        c.sensory("x", 2, learn_covariance=True)
        c.column("z", 1)
        c.connect("z", "x", [[1.0], [0.5]])
        c.run(1 * ms, report="not a report")

    built_only()
    with pytest.raises(ValueError, match="report"):
        first_run_refused()
    gc.collect()
    assert _noise(brian2_records) == []
    assert "never included in a network" not in capfd.readouterr().err
