"""Inference benchmark: Brian2 circuit vs the NumPy Euler reference, same equations, same process.

    python benchmarks/bench_inference.py [--duration MS] [--cold] [--backend dense|synapses] [--batch B]

A 3-level linear hierarchy x ← z1 ← z2 at sizes (64,16,4), (256,64,16), (1024,256,64), run
for 300 ms at dt = 0.1 ms with a constant stimulus, both ways: recording μ and ε of every
column at every step (``Circuit.run``'s default; the reference records the same) and without
recording (``record=False``; the reference keeps the final state only).

Printed per size: the one-off set-up (network build + code generation + compilation or cache
load, measured as a first 1 ms run), µs per simulated step of the circuit and of the reference,
and their ratio (≤ 1: the circuit is faster). Then batched trials: ``Circuit(batch_size=B)``
(default B = 32) against the batched NumPy loop (``tests/reference.simulate_batch``, (B, n)
arrays), in samples × steps per second.

BLAS runs on one thread (``OPENBLAS_NUM_THREADS`` etc. are set to 1 unless already set), as
the issue's targets are stated; ``--cold`` points Brian2's cython cache at an empty folder, so
the set-up column includes the full compilation.
"""
from __future__ import annotations

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from brian2 import ms, prefs  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from circuits import Circuit  # noqa: E402
from tests.reference import Edge, Level, Model, simulate, simulate_batch  # noqa: E402

SIZES = [(64, 16, 4), (256, 64, 16), (1024, 256, 64)]
DT, TAU_ESTIMATE, TAU_ERROR = 1e-4, 0.010, 0.002


def hierarchy(sizes, seed=0) -> Model:
    rng = np.random.default_rng(seed)
    names = ("x", "z1", "z2")
    levels = {n: Level(s, np.eye(s), sensory=(n == "x"), prior_mean=np.zeros(s) if n == "z2" else None)
              for n, s in zip(names, sizes)}
    edges = [Edge(names[k + 1], names[k], rng.normal(size=(sizes[k], sizes[k + 1])) / np.sqrt(sizes[k]))
             for k in range(2)]
    return Model(levels, edges)


def circuit_for(model: Model, backend: str = "dense", batch_size=None, device="runtime", **options) -> Circuit:
    circuit = Circuit(dt=DT * 1000 * ms, tau_estimate=TAU_ESTIMATE * 1000 * ms, tau_error=TAU_ERROR * 1000 * ms,
                      backend=backend, batch_size=batch_size, device=device, **options)
    for name, level in model.levels.items():
        if level.sensory:
            circuit.sensory(name, level.size, covariance=level.covariance)
        else:
            circuit.column(name, level.size, covariance=level.covariance)
    for edge in model.edges:
        circuit.connect(edge.upper, edge.lower, weights=edge.weights)
    return circuit


def best(function, repeats):
    """The fastest of ``repeats`` calls (seconds), and the last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def measure(sizes, duration, backend, repeats):
    """Set-up (s), and µs per step of circuit and reference with and without recording."""
    model = hierarchy(sizes)
    x = np.random.default_rng(1).normal(size=sizes[0])
    steps = int(round(float(duration / (DT * 1000 * ms))))
    start = time.perf_counter()
    circuit = circuit_for(model, backend)
    circuit.run(1 * ms, stimulus=x)
    setup = time.perf_counter() - start
    result = {"setup": setup}
    stimulus = {"x": np.broadcast_to(x, (steps, sizes[0]))}
    for record in (True, False):
        def run_circuit():
            circuit.reset()
            return circuit.run(duration, stimulus=x, record=record)
        brian, rec = best(run_circuit, repeats)
        reference, (mu, _, final) = best(
            lambda: simulate(model, stimulus, steps, DT, TAU_ESTIMATE, TAU_ERROR, record=record), repeats)
        if record:
            result["difference"] = max(np.abs(rec.estimate[n] - mu[n]).max() for n in mu)
        else:
            result["final_difference"] = max(np.abs(circuit.estimate(n) - final[n]).max() for n in final)
        result[record] = (brian / steps * 1e6, reference / steps * 1e6)
    return result


def measure_batch(sizes, batch, duration, repeats):
    """Samples × steps per second of the batched circuit and the batched NumPy loop."""
    model = hierarchy(sizes)
    inputs = np.random.default_rng(1).normal(size=(batch, sizes[0]))
    steps = int(round(float(duration / (DT * 1000 * ms))))
    circuit = circuit_for(model, batch_size=batch)
    circuit.run(1 * ms, stimulus=inputs, record=False)

    def run_circuit():
        circuit.reset()
        circuit.run(duration, stimulus=inputs, record=False)
    brian, _ = best(run_circuit, repeats)
    reference, final = best(lambda: simulate_batch(model, {"x": inputs}, steps, DT, TAU_ESTIMATE, TAU_ERROR), repeats)
    difference = max(np.abs(circuit.estimate(n) - final[n]).max() for n in final)
    return batch * steps / brian, batch * steps / reference, difference


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=300.0, help="simulated ms (default 300)")
    parser.add_argument("--backend", default="dense", choices=("dense", "synapses"))
    parser.add_argument("--batch", type=int, default=32, help="batch size of the batched comparison (0: skip)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per measurement (the fastest is kept)")
    parser.add_argument("--cold", action="store_true", help="compile into an empty cython cache")
    args = parser.parse_args(argv)
    if args.cold:
        prefs.codegen.runtime.cython.cache_dir = tempfile.mkdtemp(prefix="brian-cold-")
    duration = args.duration * ms
    print(f"backend={args.backend}  duration={args.duration:g} ms  dt=0.1 ms  target={prefs.codegen.target}  "
          f"cache={'cold' if args.cold else 'as found'}  BLAS threads={os.environ['OPENBLAS_NUM_THREADS']}")
    print(f"{'sizes':>16} {'set-up s':>9} | {'recording: circuit':>18} {'numpy':>7} {'ratio':>6} | "
          f"{'no recording: circuit':>21} {'numpy':>7} {'ratio':>6} | {'max |diff|':>10}  (µs per step)")
    for sizes in SIZES:
        r = measure(sizes, duration, args.backend, args.repeats)
        (b1, n1), (b0, n0) = r[True], r[False]
        print(f"{str(sizes):>16} {r['setup']:9.2f} | {b1:18.1f} {n1:7.1f} {b1 / n1:6.2f} | {b0:21.1f} {n0:7.1f} "
              f"{b0 / n0:6.2f} | {max(r['difference'], r['final_difference']):10.1e}")
    if args.batch:
        print(f"\nbatched trials, B = {args.batch}, no recording (samples × steps per second)")
        print(f"{'sizes':>16} {'circuit':>12} {'numpy':>12} {'circuit/numpy':>14} {'max |diff|':>11}")
        for sizes in SIZES:
            ours, theirs, difference = measure_batch(sizes, args.batch, duration, args.repeats)
            print(f"{str(sizes):>16} {ours:12.0f} {theirs:12.0f} {ours / theirs:14.2f} {difference:11.1e}")


if __name__ == "__main__":
    main()
