"""Deep projections: a batched deep decoder against the batched NumPy reference, same process.

    python benchmarks/bench_deep.py [--batches 1,15,60] [--steps 2000]

The digits-vae architecture without its encoder: a latent column z (8) predicts x (64) through a
deep projection [linear, tanh] with 64 compartments, Σ = I, batch B. The circuit
(``Circuit(batch_size=B)``, runtime engine, dense couplings: every layer is one (B, n) @ Mᵀ
product per step, the compartments' potentials and backpropagated δ evaluated with NumPy) and
``tests/reference.simulate_batch`` (the same Euler steps written out, a DeepEdge) run the same
number of steps on the same inputs; printed: µs per step, samples × steps per second, the ratio
circuit / NumPy and the largest difference of the final estimates. Fastest of three runs.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from brian2 import ms

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from circuits import Circuit  # noqa: E402
from tests.conftest import deep_edge  # noqa: E402
from tests.reference import Level, Model, simulate_batch  # noqa: E402

DT, TAU_ESTIMATE, TAU_ERROR = 0.1e-3, 30e-3, 0.5e-3


def model(seed=0) -> Model:
    rng = np.random.default_rng(seed)
    levels = {"x": Level(64, np.eye(64), sensory=True), "z": Level(8, np.eye(8), prior_mean=np.zeros(8))}
    return Model(levels, [deep_edge("z", "x", [rng.normal(size=(64, 8)) / np.sqrt(8),
                                               rng.normal(size=(64, 64)) * 0.3 / np.sqrt(64)],
                                    ["linear", "tanh"], [np.zeros(64), rng.normal(size=64)])])


def circuit_for(reference: Model, batch: int) -> Circuit:
    circuit = Circuit(dt=DT * 1e3 * ms, tau_estimate=TAU_ESTIMATE * 1e3 * ms, tau_error=TAU_ERROR * 1e3 * ms,
                      batch_size=batch)
    circuit.sensory("x", 64)
    circuit.column("z", 8)
    edge = reference.edges[0]
    circuit.connect("z", "x", edge.weights, edge.activation, edge.biases)
    return circuit


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", default="1,15,60")
    parser.add_argument("--steps", type=int, default=2000)
    args = parser.parse_args(argv)
    reference = model()
    print(f"z (8) → 64 compartments (tanh) → x (64), {args.steps} steps, dt = 0.1 ms")
    print(f"{'B':>4} {'circuit µs/step':>16} {'NumPy µs/step':>14} {'ratio':>6} {'samples·steps/s':>16} {'max |Δμ|':>9}")
    for batch in (int(b) for b in args.batches.split(",")):
        stimuli = np.random.default_rng(batch).normal(size=(batch, 64)) * 2
        circuit = circuit_for(reference, batch)
        circuit.run(DT * 1e3 * ms, stimulus=stimuli, record=False)          # build and compile
        circuit_times, numpy_times = [], []
        for _ in range(3):
            circuit.reset()
            start = time.perf_counter()
            circuit.run(args.steps * DT * 1e3 * ms, stimulus=stimuli, record=False)
            circuit_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            final = simulate_batch(reference, {"x": stimuli}, args.steps, DT, TAU_ESTIMATE, TAU_ERROR)
            numpy_times.append(time.perf_counter() - start)
        ours, theirs = min(circuit_times) / args.steps * 1e6, min(numpy_times) / args.steps * 1e6
        difference = np.abs(circuit.estimate("z").reshape(batch, 8) - final["z"]).max()
        print(f"{batch:>4} {ours:>16.1f} {theirs:>14.1f} {ours / theirs:>6.2f} {batch * 1e6 / ours:>16,.0f} {difference:>9.1e}")


if __name__ == "__main__":
    main()
