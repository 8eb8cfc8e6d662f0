"""Sweeps on Dask: points per second with 1 and 2 workers, scaling efficiency, and the per-point
overhead of Dask (and of writing results.nc) against a plain loop in this process.

    python benchmarks/bench_sweep.py [--points 24] [--duration 1600]

Workload: the attention simulation (``pcsim sweep attention``: build the circuit, run it for
``--duration`` ms at dt = 0.1 ms, return its outputs), ``--points`` points (gains × seeds).
Every configuration is timed in this process, one after the other:

- plain loop: ``attention.simulate`` called point after point here (warm, BLAS on one thread);
- 1 and 2 workers: ``circuits.sweep`` on a LocalCluster already started and warmed up (each
  worker compiled its code in a warm-up sweep first; cluster start-up is reported apart);
- Dask's own cost per point: a sweep of no-op points on 1 worker (the scheduler round trip,
  serialisation and the driver's bookkeeping), with and without writing results.nc after
  every point.

Scaling efficiency = (points/s with 2 workers) / (2 × points/s with 1 worker). The machine has
2 cores shared with other work: read ``load`` (printed) before trusting a ratio. "Workers busy"
(the points' compute time / (workers × wall time)) separates Dask's idle gaps from CPU taken by
other processes: when it is near 100 % and the scaling is poor, the points themselves ran slower.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
from brian2 import ms
from distributed import Client, LocalCluster
from threadpoolctl import threadpool_limits

from circuits import sweep
from circuits.simulations import attention


def nothing(seed, x):
    return {"y": x}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=24)
    parser.add_argument("--duration", type=float, default=1600.0, help="ms per point")
    args = parser.parse_args()
    duration = args.duration * ms
    gains = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0]
    seeds = max(1, args.points // len(gains))
    grid = {"gain": gains, "noise": [0.5]}
    points = len(gains) * seeds
    print(f"load {os.getloadavg()[0]:.2f}; {points} points of attention, {args.duration:g} ms each")

    with threadpool_limits(1):
        attention.simulate(duration, 0, gain=1.0, noise=0.5)            # compile here once
        start = time.perf_counter()
        for gain in gains:
            for seed in range(seeds):
                attention.simulate(duration, seed, gain=gain, noise=0.5)
        loop = (time.perf_counter() - start) / points
    print(f"plain loop: {1 / loop:.2f} points/s ({loop * 1e3:.0f} ms per point)")

    rates = {}
    cache = tempfile.mkdtemp(prefix="bench-sweep-cache-")
    for workers in (1, 2):
        start = time.perf_counter()
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            started = time.perf_counter() - start
            sweep("attention", {"gain": [1.0], "noise": [0.5]}, seeds=2 * workers, client=client,
                  duration=duration, cache=cache)                       # every worker compiles or loads
            start = time.perf_counter()
            dataset = sweep("attention", grid, seeds=seeds, client=client, duration=duration, cache=cache)
            elapsed = time.perf_counter() - start
            assert bool(dataset["done"].all())
            rates[workers] = points / elapsed
            compute = float(dataset["wall_time"].mean())
            busy = float(dataset["wall_time"].sum()) / (workers * elapsed)
            print(f"{workers} worker{'s' if workers > 1 else ' '}: {rates[workers]:.2f} points/s "
                  f"({elapsed / points * 1e3:.0f} ms per point of wall time; a point computes in "
                  f"{compute * 1e3:.0f} ms on its worker; workers busy {busy:.0%} of the time; "
                  f"cluster start {started:.1f} s)")
            if workers == 1:
                per_point = elapsed / points
                trivial = {}
                for label, out in (("no file", None), ("results.nc after every point", tempfile.mkdtemp())):
                    sweep(nothing, {"x": [0.0, 1.0]}, client=client, out=out)
                    start = time.perf_counter()
                    sweep(nothing, {"x": list(np.arange(200.0))}, client=client,
                          out=None if out is None else os.path.join(out, "again"))
                    trivial[label] = (time.perf_counter() - start) / 200
    efficiency = rates[2] / (2 * rates[1])
    print(f"scaling efficiency 1 → 2 workers: {efficiency:.2f} ({rates[2] / rates[1]:.2f}× the points/s)")
    print(f"Dask overhead per point (1 worker vs the plain loop): {(per_point - loop) * 1e3:.0f} ms "
          f"({per_point / loop:.2f}× the loop)")
    for label, cost in trivial.items():
        print(f"no-op points on 1 worker, {label}: {cost * 1e3:.1f} ms per point")


if __name__ == "__main__":
    main()
