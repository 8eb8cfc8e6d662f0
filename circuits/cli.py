"""``pcsim``: run the canned simulations from the command line.

    pcsim list
    pcsim run NAME [--out DIR] [--duration MS] [--seed N] [--cache DIR]
"""
from __future__ import annotations

import argparse
import sys
import time

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
    return parser


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
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


if __name__ == "__main__":
    sys.exit(main())
