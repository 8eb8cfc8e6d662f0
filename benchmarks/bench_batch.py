"""Batched trials: stimuli per second at batch sizes B = 1 … 64, same process, same circuit.

    python benchmarks/bench_batch.py [--sizes 256,64,16] [--items 16] [--item-ms 50]

A 3-level linear hierarchy infers a sequence of stimuli (``run_sequence``, items of 50 ms at
dt = 0.1 ms, estimates reset between items, only the items' end states kept). With
``Circuit(batch_size=B)`` each item holds B stimuli at once. Printed: wall time, stimuli per
second, and the throughput relative to B = 1 (the issue's target: ≥ 20× at B = 32). The first
run of each B (compilation or cache load) is excluded; both are reported.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from brian2 import ms

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from circuits import Circuit  # noqa: E402


def circuit_for(sizes, batch, seed=0) -> Circuit:
    rng = np.random.default_rng(seed)
    circuit = Circuit(batch_size=batch)
    names = ("x", "z1", "z2")
    circuit.sensory("x", sizes[0])
    circuit.column("z1", sizes[1])
    circuit.column("z2", sizes[2])
    for k in range(2):
        circuit.connect(names[k + 1], names[k], rng.normal(size=(sizes[k], sizes[k + 1])) / np.sqrt(sizes[k]))
    return circuit


def throughput(sizes, batch, items, item_ms):
    stimuli = np.random.default_rng(1).normal(size=(items, batch, sizes[0]))
    circuit = circuit_for(sizes, batch)
    start = time.perf_counter()
    circuit.run_sequence(stimuli[:1], item_ms * ms)          # set-up: build, compile or load
    setup = time.perf_counter() - start
    start = time.perf_counter()
    rec = circuit.run_sequence(stimuli, item_ms * ms)
    wall = time.perf_counter() - start
    assert rec.trial_end["z2"].shape == (items, batch, sizes[2])
    return setup, wall, items * batch / wall


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256,64,16")
    parser.add_argument("--items", type=int, default=16, help="items per run (each holds B stimuli)")
    parser.add_argument("--item-ms", type=float, default=50.0)
    parser.add_argument("--batches", default="1,8,32,64")
    args = parser.parse_args(argv)
    sizes = tuple(int(s) for s in args.sizes.split(","))
    print(f"sizes={sizes}  items={args.items} × {args.item_ms:g} ms  dt=0.1 ms")
    print(f"{'B':>4} {'set-up s':>9} {'run s':>8} {'stimuli/s':>10} {'vs B=1':>8}")
    base = None
    for batch in (int(b) for b in args.batches.split(",")):
        setup, wall, rate = throughput(sizes, batch, args.items, args.item_ms)
        base = base or rate
        print(f"{batch:>4} {setup:9.2f} {wall:8.2f} {rate:10.1f} {rate / base:8.1f}")


if __name__ == "__main__":
    main()
