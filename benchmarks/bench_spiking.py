"""Spiking columns: wall time per simulated second of the `spiking-column` hierarchy
(x 4 ← z1 2 ← z2 1, rectified errors: 7 estimate and 14 error units) with N Poisson neurons per
unit, in the runtime engine and in the C++ standalone engine, against the rate circuit in the
same process.

    python benchmarks/bench_spiking.py [--sizes 64,256,1024] [--duration 1000] [--trials 1]

Runtime: one short warm-up run compiles the Cython code, then a timed run. Standalone: the
first run builds and compiles the program (timed apart), the second reruns the binary with new
state (the run time proper, including writing and reading the run_args). dt = 0.2 ms as in
`pcsim run spiking-column`; the default seed. Printed: neurons, spikes per simulated second,
seconds of wall time per simulated second for each engine, and their ratio.
"""
from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
from brian2 import ms

from circuits.simulations import spiking_column
from circuits.spiking import Spiking


def timed_runs(circuit, stimulus, duration, record) -> tuple[float, float, object]:
    """(first run's wall time, second run's wall time, second recording)."""
    start = time.perf_counter()
    circuit.run(duration, stimulus=stimulus, record=record)
    first = time.perf_counter() - start
    circuit.reset()
    start = time.perf_counter()
    rec = circuit.run(duration, stimulus=stimulus, record=record)
    return first, time.perf_counter() - start, rec


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="64,256,1024", help="N per unit, comma-separated")
    parser.add_argument("--duration", type=float, default=1000.0, help="simulated ms per timed run")
    parser.add_argument("--trials", type=int, default=1, help="batch of independent trials")
    args = parser.parse_args(argv)
    parts = spiking_column.model(0)
    x, duration = parts["observation"], args.duration * ms
    seconds = args.duration / 1000
    trials = args.trials if args.trials > 1 else None
    rate = spiking_column.build(parts, trials=trials)
    _, rate_wall, _ = timed_runs(rate, x, duration, 10)
    print(f"rate circuit (runtime, rectified errors): {rate_wall / seconds:.3f} s per simulated s")
    print(f"{'N':>6} {'neurons':>8} {'spikes/s':>10} {'runtime':>9} {'standalone':>10} {'compile':>8} {'ratio':>6}")
    for size in (int(n) for n in args.sizes.split(",")):
        spiking = Spiking(population_size=size)
        runtime = spiking_column.build(parts, spiking, seed=0, trials=trials)
        runtime.run(2 * ms, stimulus=x)                         # compiles the Cython code objects
        runtime.reset()
        start = time.perf_counter()
        rec = runtime.run(duration, stimulus=x, record=10)
        runtime_wall = time.perf_counter() - start
        neurons = sum(c.spikes(p).N for c in runtime.columns.values() for p in ("estimate", "error"))
        mean_rate = np.mean([r[np.asarray(rec.t) >= 0.2].mean() for n in rec.firing_rate
                             for r in rec.firing_rate[n].values()])
        with tempfile.TemporaryDirectory(prefix="pcsim-spiking-") as directory:
            standalone = spiking_column.build(parts, spiking, seed=0, trials=trials, device="cpp_standalone",
                                              standalone_directory=directory)
            compile_wall, standalone_wall, _ = timed_runs(standalone, x, duration, 10)
        print(f"{size:>6} {neurons:>8} {neurons * mean_rate:>10.3g} {runtime_wall / seconds:>9.3f} "
              f"{standalone_wall / seconds:>10.3f} {compile_wall - standalone_wall:>8.1f} "
              f"{runtime_wall / standalone_wall:>6.2f}")


if __name__ == "__main__":
    main()
