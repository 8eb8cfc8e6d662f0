"""Inference benchmark: Brian2 circuit vs the NumPy Euler reference, same equations, same process.

    python benchmarks/bench_inference.py [--duration MS] [--cold] [--backend dense|synapses]

A 3-level linear hierarchy x ← z1 ← z2 at sizes (64,16,4), (256,64,16), (1024,256,64), run
for 300 ms at dt = 0.1 ms with a constant stimulus, recording μ and ε of every column at
every step (what ``Circuit.run`` does by default; the reference records the same).

Printed per size: the one-off set-up (network build + code generation + compilation or cache
load, measured as a first 1 ms run), the Brian2 wall time of the 300 ms run, the reference's
wall time, and their ratio. ``--cold`` points Brian2's cython cache at an empty folder, so the
set-up column includes the full compilation.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from brian2 import ms, prefs

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from circuits import Circuit  # noqa: E402
from tests.reference import Edge, Level, Model, simulate  # noqa: E402

SIZES = [(64, 16, 4), (256, 64, 16), (1024, 256, 64)]


def hierarchy(sizes, seed=0) -> Model:
    rng = np.random.default_rng(seed)
    names = ("x", "z1", "z2")
    levels = {n: Level(s, np.eye(s), sensory=(n == "x"), prior_mean=np.zeros(s) if n == "z2" else None)
              for n, s in zip(names, sizes)}
    edges = [Edge(names[k + 1], names[k], rng.normal(size=(sizes[k], sizes[k + 1])) / np.sqrt(sizes[k]))
             for k in range(2)]
    return Model(levels, edges)


def circuit_for(model: Model, backend: str) -> Circuit:
    circuit = Circuit(dt=0.1 * ms, tau_estimate=10 * ms, tau_error=2 * ms, backend=backend)
    for name, level in model.levels.items():
        if level.sensory:
            circuit.sensory(name, level.size, covariance=level.covariance)
        else:
            circuit.column(name, level.size, covariance=level.covariance)
    for edge in model.edges:
        circuit.connect(edge.upper, edge.lower, weights=edge.weights)
    return circuit


def measure(sizes, duration, backend):
    model = hierarchy(sizes)
    x = np.random.default_rng(1).normal(size=sizes[0])
    start = time.perf_counter()
    circuit = circuit_for(model, backend)
    circuit.run(1 * ms, stimulus=x)
    setup = time.perf_counter() - start
    circuit.reset()
    start = time.perf_counter()
    rec = circuit.run(duration, stimulus=x)
    brian = time.perf_counter() - start
    steps = int(round(float(duration / (0.1 * ms))))
    start = time.perf_counter()
    mu, _, _ = simulate(model, {"x": np.broadcast_to(x, (steps, sizes[0]))}, steps, 1e-4, 0.010, 0.002)
    reference = time.perf_counter() - start
    difference = max(np.abs(rec.estimate[n] - mu[n]).max() for n in mu)
    return setup, brian, reference, difference


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=300.0, help="simulated ms (default 300)")
    parser.add_argument("--backend", default="dense", choices=("dense", "synapses"))
    parser.add_argument("--cold", action="store_true", help="compile into an empty cython cache")
    args = parser.parse_args(argv)
    if args.cold:
        prefs.codegen.runtime.cython.cache_dir = tempfile.mkdtemp(prefix="brian-cold-")
    print(f"backend={args.backend}  duration={args.duration:g} ms  dt=0.1 ms  "
          f"target={prefs.codegen.target}  cache={'cold' if args.cold else 'as found'}")
    print(f"{'sizes':>16} {'set-up s':>9} {'brian2 s':>9} {'numpy s':>9} {'ratio':>7} {'max |diff|':>11}")
    for sizes in SIZES:
        setup, brian, reference, difference = measure(sizes, args.duration * ms, args.backend)
        print(f"{str(sizes):>16} {setup:9.2f} {brian:9.3f} {reference:9.3f} {brian / reference:7.2f} "
              f"{difference:11.1e}")


if __name__ == "__main__":
    main()
