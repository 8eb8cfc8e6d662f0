"""Learning benchmark: Hebbian learning of W over a sequence, Brian2 circuit vs the NumPy reference.

    python benchmarks/bench_learning.py [--items 2000] [--dt-ms 0.1] [--engines]

2,000 stimuli of dimension 64 from a 16-latent linear-Gaussian model, 50 ms per stimulus
(100 s simulated), estimates reset between stimuli, ΔW = α ε f(μ)ᵀ at every stimulus's end,
both in one run. Prints wall time per simulated second and per stimulus for both, their
ratio, and the largest difference between the learned weights.

``--engines`` compares the engines instead: the same sequence (``run_sequence``, resets, ΔW at
every stimulus's end), runtime against ``device="cpp_standalone"``, which compiles the items,
resets and item-end learning (its compilation and a first run excluded, reported as set-up),
with one BLAS thread: stimuli per second and the difference between the learned weights.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from brian2 import ms

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from circuits import Circuit, datasets  # noqa: E402
from tests.reference import Edge, Level, Model, simulate_sequence  # noqa: E402

DIM, LATENT, ITEM_MS, RATE = 64, 16, 50.0, 0.002


def circuit_for(start_weights, dt, device="runtime") -> Circuit:
    """x (DIM) ← z (LATENT), Σ = I, W plastic (α = RATE) from a copy of ``start_weights``."""
    circuit = Circuit(dt=dt, tau_estimate=10 * ms, tau_error=2 * ms, device=device)
    circuit.sensory("x", DIM, covariance=1.0)
    circuit.column("z", LATENT, covariance=1.0)
    circuit.connect("z", "x", weights=start_weights.copy(), plastic=True, learning_rate=RATE)
    return circuit


def engines(x, start_weights, dt, repeats=3):
    """The sequence with item-end learning: (set-up s, best wall s, W) per engine, each on one
    BLAS thread: threadpoolctl limits this process's BLAS (already loaded with NumPy, so the
    environment variables come too late for it) and the variables reach the C++ program, which
    loads its BLAS when it starts. The C++ set-up runs the whole sequence once (a compiled
    program takes items up to its first sequence's count)."""
    import os
    from threadpoolctl import threadpool_limits
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(variable, "1")
    threadpool_limits(limits=1)
    results = {}
    for device, first in (("runtime", x[:2]), ("cpp_standalone", x)):
        circuit = circuit_for(start_weights, dt, device)
        start = time.perf_counter()
        circuit.run_sequence(first, item_duration=ITEM_MS * ms, learn=False)
        setup = time.perf_counter() - start
        walls = []
        for _ in range(repeats):
            circuit.reset()
            circuit.set_weights("z", "x", start_weights)
            start = time.perf_counter()
            circuit.run_sequence(x, item_duration=ITEM_MS * ms)
            walls.append(time.perf_counter() - start)
        results[device] = (setup, min(walls), circuit.weights("z", "x"))
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--dt-ms", type=float, default=0.1)
    parser.add_argument("--engines", action="store_true", help="runtime vs C++ standalone, the same sequence")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    x, _ = datasets.linear_gaussian(args.items, rng.normal(size=(DIM, LATENT)) / 4, noise_covariance=1.0, seed=1)
    start_weights = rng.normal(size=(DIM, LATENT)) * 0.1
    dt = args.dt_ms * ms
    steps = int(round(ITEM_MS / args.dt_ms))
    if args.engines:
        results = engines(x, start_weights, dt)
        print(f"{args.items} stimuli × {ITEM_MS:g} ms, run_sequence with item-end learning, dt = {args.dt_ms} ms")
        print(f"{'engine':>16} {'set-up s':>9} {'wall s':>8} {'stimuli/s':>10}")
        for device, (setup, wall, _) in results.items():
            print(f"{device:>16} {setup:9.1f} {wall:8.2f} {args.items / wall:10.0f}")
        (_, runtime, w_runtime), (_, compiled, w_compiled) = results["runtime"], results["cpp_standalone"]
        print(f"C++ / runtime throughput {runtime / compiled:.1f}×; max |W_C++ − W_runtime| = "
              f"{np.abs(w_compiled - w_runtime).max():.1e}")
        return

    circuit = circuit_for(start_weights, dt)
    start = time.perf_counter()
    circuit.run_sequence(x[:2], item_duration=ITEM_MS * ms, learn=False)
    setup = time.perf_counter() - start
    circuit.reset()
    start = time.perf_counter()
    circuit.run_sequence(x, item_duration=ITEM_MS * ms)
    brian = time.perf_counter() - start

    model = Model({"x": Level(DIM, np.eye(DIM), sensory=True), "z": Level(LATENT, np.eye(LATENT))},
                  [Edge("z", "x", start_weights.copy(), learning_rate=RATE)])
    start = time.perf_counter()
    simulate_sequence(model, {"x": x}, steps, float(dt), 0.010, 0.002)
    reference = time.perf_counter() - start

    simulated = args.items * ITEM_MS / 1000
    print(f"{args.items} stimuli × {ITEM_MS:g} ms = {simulated:g} s simulated at dt = {args.dt_ms} ms "
          f"({DIM} inputs, {LATENT} latents); set-up (build + compile or cache load) {setup:.2f} s")
    print(f"{'':>10} {'wall s':>8} {'s per sim s':>12} {'ms per stimulus':>16}")
    for label, wall in (("brian2", brian), ("numpy", reference)):
        print(f"{label:>10} {wall:8.2f} {wall / simulated:12.3f} {1000 * wall / args.items:16.2f}")
    print(f"ratio brian2/numpy {brian / reference:.2f}; max |W_brian2 − W_numpy| = "
          f"{np.abs(circuit.weights('z', 'x') - model.edges[0].weights).max():.1e}")


if __name__ == "__main__":
    main()
