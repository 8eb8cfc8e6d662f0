"""Cold start: a new Python process runs ``pcsim run bogacz-perception``, with an empty
compilation cache (first run: compiles) and again with the cache it left (warm).

    python benchmarks/bench_cold_start.py [--repeats 3] [--simulation bogacz-perception]

The cache goes to a temporary directory through ``PREDICTIVE_CIRCUITS_CACHE`` (your own cache
is not touched). Printed: wall time of each process (import, build, compile or load, run,
figures) and of ``python -c "import circuits"`` alone. Target (issue 6): warm ≤ 5 s.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(command, environment) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=environment, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="warm runs (default 3)")
    parser.add_argument("--simulation", default="bogacz-perception")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pcsim-cache-") as cache, \
            tempfile.TemporaryDirectory(prefix="pcsim-out-") as out:
        environment = dict(os.environ, PREDICTIVE_CIRCUITS_CACHE=cache)
        command = [sys.executable, "-m", "circuits.cli", "run", args.simulation, "--out", out]
        importing = timed([sys.executable, "-c", "import circuits"], environment)
        cold = timed(command, environment)
        warm = [timed(command, environment) for _ in range(args.repeats)]
    print(f"simulation: {args.simulation}   (new process each, cache in a fresh temporary directory)")
    print(f"import circuits alone:      {importing:6.2f} s")
    print(f"first run (compiles):       {cold:6.2f} s")
    print(f"warm runs:                  " + "  ".join(f"{w:.2f}" for w in warm) + " s"
          f"   (best {min(warm):.2f} s; target ≤ 5 s)")


if __name__ == "__main__":
    main()
