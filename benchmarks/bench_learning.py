"""Learning benchmark: Hebbian learning of W over a sequence, Brian2 circuit vs the NumPy reference.

    python benchmarks/bench_learning.py [--items 2000] [--dt-ms 0.1]

2,000 stimuli of dimension 64 from a 16-latent linear-Gaussian model, 50 ms per stimulus
(100 s simulated), estimates reset between stimuli, ΔW = α ε f(μ)ᵀ at every stimulus's end,
both in one run. Prints wall time per simulated second and per stimulus for both, their
ratio, and the largest difference between the learned weights.
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--dt-ms", type=float, default=0.1)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    x, _ = datasets.linear_gaussian(args.items, rng.normal(size=(DIM, LATENT)) / 4, noise_covariance=1.0, seed=1)
    start_weights = rng.normal(size=(DIM, LATENT)) * 0.1
    dt = args.dt_ms * ms
    steps = int(round(ITEM_MS / args.dt_ms))

    circuit = Circuit(dt=dt, tau_estimate=10 * ms, tau_error=2 * ms)
    circuit.sensory("x", DIM, covariance=1.0)
    circuit.column("z", LATENT, covariance=1.0)
    circuit.connect("z", "x", weights=start_weights.copy(), plastic=True, learning_rate=RATE)
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
