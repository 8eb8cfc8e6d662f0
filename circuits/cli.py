"""``pcsim``: run the canned simulations from the command line.

    pcsim list
    pcsim run NAME [--out DIR] [--duration MS] [--seed N] [--cache DIR]
    pcsim sweep NAME [--grid 'param=v1,v2 param2=…'] [--seeds N] [--scheduler ADDRESS | --workers N]
                [--out DIR] [--duration MS] [--cache DIR]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from brian2 import ms

from .compilation import set_cache_directory
from .simulations import SIMULATIONS, get_simulation


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pcsim", description="Run canned predictive-coding circuit simulations (Brian2).",
        epilog="Example: pcsim run bogacz-perception --out results/bogacz")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("list", help="list the canned simulations", description="List the canned simulations.")
    listing = "\n".join(f"  {name:<18} {module.DESCRIPTION}\n  {'':<18} (default duration "
                        f"{module.DEFAULT_DURATION})" for name, module in SIMULATIONS.items())
    run = commands.add_parser(
        "run", help="run one simulation and write summary.json and PNG figures",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run a canned simulation; write summary.json (parameters and final numbers) "
                    "and PNG figures into --out, and print a short table.",
        epilog=f"simulations:\n{listing}")
    run.add_argument("name", metavar="NAME", help="simulation name (see below, or pcsim list)")
    run.add_argument("--out", default=None, metavar="DIR",
                     help="output directory (default: pcsim-out/NAME)")
    run.add_argument("--duration", type=float, default=None, metavar="MS",
                     help="simulated time in ms (default: the simulation's own)")
    run.add_argument("--seed", type=int, default=0, metavar="N",
                     help="random seed for weights and data (default 0)")
    run.add_argument("--cache", default=None, metavar="DIR",
                     help="directory for Brian2's compiled code (default: $PREDICTIVE_CIRCUITS_CACHE "
                          "or ~/.cython/brian_extensions)")
    sweepable = "\n".join(f"  {name:<18} " + (", ".join(f"{p.name} ({p.units})" for p in module.PARAMETERS)
                                              if getattr(module, "PARAMETERS", ()) else "seeds only")
                          for name, module in SIMULATIONS.items() if getattr(module, "OUTPUTS", ()))
    sweep = commands.add_parser(
        "sweep", help="run a simulation over a parameter grid and seeds on Dask; results in one NetCDF file",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run a canned simulation at every point of a parameter grid × seeds on a Dask cluster "
                    "(a local one of --workers processes, or --scheduler ADDRESS) and gather the declared "
                    "outputs into one xarray Dataset, written to DIR/results.nc after every point. "
                    "Rerun with the same --out to compute only the missing points. Needs the sweep extra: "
                    "pip install 'predictive-circuits[sweep]'.",
        epilog="example: pcsim sweep attention --grid 'gain=0.25,0.5,1,2,4,8 noise=0.5' --seeds 64\n\n"
               f"sweepable parameters (grid values in these units):\n{sweepable}")
    sweep.add_argument("name", metavar="NAME", help="simulation name (pcsim list)")
    sweep.add_argument("--grid", default="", metavar="'P=V1,V2 …'",
                       help="parameters and their values, e.g. 'gain=0.5,1,2 noise=0.5' (default: none, "
                            "seeds only)")
    sweep.add_argument("--seeds", type=int, default=1, metavar="N", help="seeds 0 … N−1 at every grid point (default 1)")
    where = sweep.add_mutually_exclusive_group()
    where.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="a running Dask scheduler, e.g. tcp://10.0.0.5:8786 (default: a local cluster)")
    where.add_argument("--workers", type=int, default=None, metavar="N",
                       help="processes of the local cluster (default: one per core)")
    sweep.add_argument("--out", default=None, metavar="DIR",
                       help="output directory (default: pcsim-out/NAME-sweep); an existing results.nc is resumed")
    sweep.add_argument("--duration", type=float, default=None, metavar="MS",
                       help="simulated time of every point in ms (default: the simulation's own)")
    sweep.add_argument("--cache", default=None, metavar="DIR",
                       help="root of the workers' Brian2 caches, DIR/worker-NAME (default: inside each "
                            "worker's cache directory)")
    sweep.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "sweep":
        return _sweep(args, argv)
    if args.command == "list":
        width = max(map(len, SIMULATIONS))
        for name, module in SIMULATIONS.items():
            print(f"{name.ljust(width)}  {module.DESCRIPTION} (default {module.DEFAULT_DURATION})")
        return 0
    try:
        module = get_simulation(args.name)
    except ValueError as error:
        print(f"pcsim: {error}", file=sys.stderr)
        return 2
    if args.duration is not None and not args.duration > 0:
        print("pcsim: --duration must be a positive number of milliseconds", file=sys.stderr)
        return 2
    duration = module.DEFAULT_DURATION if args.duration is None else args.duration * ms
    if args.cache:
        set_cache_directory(args.cache)
    out = args.out or f"pcsim-out/{module.NAME}"
    start = time.perf_counter()
    try:
        outcome = module.simulate(duration=duration, seed=args.seed)
    except (ValueError, RuntimeError) as error:
        print(f"pcsim: {error}", file=sys.stderr)
        return 1
    paths = outcome.write(out)
    print(f"{module.NAME}: {duration} simulated in {time.perf_counter() - start:.1f} s (seed {args.seed})")
    print(outcome.format_table())
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def _sweep(args, argv) -> int:
    from .sweeps import RESULTS_FILE, sweep
    if args.duration is not None and not args.duration > 0:
        print("pcsim: --duration must be a positive number of milliseconds", file=sys.stderr)
        return 2
    if args.seeds < 1 or (args.workers is not None and args.workers < 1):
        print("pcsim: --seeds and --workers must be at least 1", file=sys.stderr)
        return 2
    try:
        module = get_simulation(args.name)
    except ValueError as error:
        print(f"pcsim: {error}", file=sys.stderr)
        return 2
    out = Path(args.out or f"pcsim-out/{module.NAME}-sweep")
    command = " ".join(["pcsim", *(sys.argv[1:] if argv is None else argv)])
    start = time.perf_counter()
    try:
        dataset = sweep(module.NAME, args.grid, seeds=args.seeds, client=args.scheduler, workers=args.workers,
                        out=out, duration=None if args.duration is None else args.duration * ms,
                        cache=args.cache, progress=not args.no_progress, command=command)
    except (ValueError, ImportError, OSError, TypeError) as error:
        print(f"pcsim: {' '.join(str(error).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"pcsim: interrupted; the points done are in {out / RESULTS_FILE} (rerun the same command "
              f"to compute the others)", file=sys.stderr)
        return 130
    done, total = int(dataset["done"].sum()), int(dataset["done"].size)
    print(f"{module.NAME}: {done} of {total} points done in {time.perf_counter() - start:.1f} s "
          f"(dimensions {dict(dataset['done'].sizes)})")
    failed = dataset["error"].values[dataset["error"].values != ""]
    for message in sorted(set(failed.tolist()))[:5]:
        print(f"  failed ({int((failed == message).sum())}): {message}")
    paths = [out / RESULTS_FILE]
    if hasattr(module, "sweep_figure") and done:
        path = out / f"{module.NAME.replace('-', '_')}_sweep.png"
        module.sweep_figure(dataset).savefig(path, dpi=150, bbox_inches="tight")
        paths.append(path)
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0 if done == total else 1


if __name__ == "__main__":
    sys.exit(main())
