"""``pcsim``: run the canned simulations from the command line.

    pcsim list
    pcsim run NAME [--out DIR] [--duration MS] [--seed N] [--cache DIR]
    pcsim sweep NAME [--grid 'param=v1,v2 param2=…'] [--seeds N] [--scheduler ADDRESS | --workers N]
                [--out DIR] [--duration MS] [--cache DIR]
    pcsim --version

Every failure is ONE line on stderr, ``pcsim: …``, saying what to do; nothing else (no
traceback, no Brian2 banner). What can be checked before a simulation runs is checked first:
the name, ``--duration`` (a positive number of ms that the simulation can use), ``--out`` (a
directory that can be written), optional packages the simulation needs (named with the pip
command); for ``sweep`` also the grid (numbers, parameters the simulation declares), the
seeds, an ``--out`` that holds another sweep, the ``sweep`` extra and the ``--scheduler``
(connected to before any point runs). :func:`main` catches every exception in one place, for every subcommand (a new
subcommand only adds its parser with ``set_defaults(handler=...)``); a bug shows up as
"internal error", and ``--debug`` or ``PCSIM_DEBUG=1`` prints its traceback.

Exit status: 0 success, 1 the run failed (a sweep: some points failed; the others are
stored), 2 bad command line (found before anything ran), 130 interrupted (a sweep says where
its finished points are).
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import math
import os
import shlex
import sys
import time
import traceback
from pathlib import Path

from brian2 import ms

import populations

from . import sweeps
from .compilation import set_cache_directory
from .engines import SimulationDiverged
from .simulations import SIMULATIONS, check_module_duration, get_simulation
from .simulations.style import save
from .versions import versions

#: Environment variable that makes pcsim print the traceback of a failure (as ``--debug``).
DEBUG_VARIABLE = "PCSIM_DEBUG"

#: Where this package and its neuron models live (errors raised there are our checks).
PACKAGE_ROOTS = (Path(__file__).resolve().parent, Path(populations.__file__).resolve().parent)

#: Import names of optional packages → what to install (pip).
PIP_NAMES = {"skimage": "scikit-image", "sklearn": "scikit-learn"}
#: The smallest extra of setup.cfg that installs each optional import ("gallery" holds both).
EXTRAS = {"skimage": "images", "sklearn": "gallery"}


class UsageError(Exception):
    """A bad command line, found before anything ran (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``pcsim: <what is wrong> (see pcsim … --help)``."""

    def error(self, message):
        raise UsageError(f"{message} (see {self.prog} --help)")


def _milliseconds(text: str) -> float:
    """``--duration``: a positive, finite number of milliseconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of milliseconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive, finite number of milliseconds, got {text}")
    return value


def _default_duration(module) -> str:
    return f"{float(module.DEFAULT_DURATION / ms):g} ms"


def _parser() -> argparse.ArgumentParser:
    version = ", ".join(f"{name} {number}" for name, number in versions().items())
    parser = _Parser(prog="pcsim", description="Run canned predictive-coding circuit simulations (Brian2).",
                     epilog="Example: pcsim run bogacz-perception --out results/bogacz")
    parser.add_argument("--version", action="version", version=f"pcsim: {version}")
    parser.add_argument("--debug", action="store_true",
                        help=f"print the Python traceback of a failure (also: {DEBUG_VARIABLE}=1)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    listing = commands.add_parser("list", help="list the canned simulations", description="List the canned simulations.")
    listing.set_defaults(handler=list_simulations)
    table = "\n".join(f"  {name:<21} {module.DESCRIPTION}\n  {'':<21} (default --duration "
                      f"{_default_duration(module)})" for name, module in SIMULATIONS.items())
    run = commands.add_parser(
        "run", help="run one simulation and write summary.json and PNG figures",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run a canned simulation; write summary.json (parameters, final numbers, versions) "
                    "and PNG figures into --out, and print a short table.",
        epilog=f"simulations:\n{table}")
    run.add_argument("name", metavar="NAME", help="simulation name (see below, or pcsim list)")
    run.add_argument("--out", default=None, metavar="DIR",
                     help="output directory, created if missing (default: pcsim-out/NAME)")
    run.add_argument("--duration", type=_milliseconds, default=None, metavar="MS",
                     help="simulated time in ms (default: the simulation's own)")
    run.add_argument("--seed", type=int, default=0, metavar="N",
                     help="random seed for weights and data (default 0)")
    run.add_argument("--cache", default=None, metavar="DIR",
                     help="directory for Brian2's compiled code (default: $PREDICTIVE_CIRCUITS_CACHE "
                          "or ~/.cython/brian_extensions)")
    run.set_defaults(handler=run_simulation)
    sweepable = "\n".join(f"  {name:<21} " + (", ".join(f"{p.name} ({p.units})" for p in module.PARAMETERS)
                                              if getattr(module, "PARAMETERS", ()) else "seeds only")
                          for name, module in SIMULATIONS.items() if getattr(module, "OUTPUTS", ()))
    sweep = commands.add_parser(
        "sweep", help="run a simulation over a parameter grid and seeds on Dask; results in one NetCDF file",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run a canned simulation at every point of a parameter grid × seeds on a Dask cluster "
                    "(a local one of --workers processes, or --scheduler ADDRESS) and gather the declared "
                    "outputs into one xarray Dataset, written to DIR/results.nc after every point. "
                    f"Rerun with the same --out to compute only the missing points. Needs the sweep extra: "
                    f"{sweeps.EXTRA}.",
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
    sweep.add_argument("--duration", type=_milliseconds, default=None, metavar="MS",
                       help="simulated time of every point in ms (default: the simulation's own)")
    sweep.add_argument("--cache", default=None, metavar="DIR",
                       help="root of the workers' Brian2 caches, DIR/worker-NAME (default: inside each "
                            "worker's cache directory)")
    sweep.add_argument("--no-progress", action="store_true", help="no progress bar")
    sweep.set_defaults(handler=run_sweep)
    return parser


def main(argv=None) -> int:
    """The ``pcsim`` command; returns the exit status (see the module docstring)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv or os.environ.get(DEBUG_VARIABLE, "") not in ("", "0")
    try:
        args = _parser().parse_args(argv)
        args.command_line = shlex.join(["pcsim", *argv])   # recorded by a sweep
        return args.handler(args)
    except UsageError as error:
        return _fail(error, debug, 2)
    except KeyboardInterrupt as interrupt:   # a handler may say what was kept: KeyboardInterrupt("…")
        print(f"pcsim: {str(interrupt) or 'interrupted'}", file=sys.stderr)
        return 130
    except SystemExit as exit_:   # --help, --version
        return exit_.code if isinstance(exit_.code, int) else 0
    except Exception as error:  # noqa: BLE001 -- one line for every failure; --debug shows the rest
        return _fail(error, debug, 1)


def _fail(error: BaseException, debug: bool, status: int) -> int:
    if debug:
        traceback.print_exception(error)
    print(f"pcsim: {explain(error)}", file=sys.stderr)
    return status


def explain(error: BaseException) -> str:
    """One line saying what went wrong and what to do."""
    cause = error
    while getattr(cause, "__cause__", None) is not None and type(cause).__name__ == "BrianObjectException":
        cause = cause.__cause__   # Brian2 wraps errors raised while preparing its objects
    message = " ".join(str(cause).split())
    if isinstance(cause, (UsageError, SimulationDiverged)) or isinstance(cause, ValueError) and _raised_here(cause):
        return message   # ours: they name the parameter (or the column) and the fix
    if isinstance(cause, ImportError):
        name = (cause.name or "").split(".")[0]
        return f"{message}; install it with: pip install {PIP_NAMES.get(name, name or '<the package>')}"
    if isinstance(cause, OSError):
        where = f" {cause.filename}" if cause.filename else ""
        return f"cannot use{where}: {cause.strerror or message}; check the path (--out, --cache) and the free space"
    if isinstance(cause, MemoryError):
        return "out of memory; try a shorter --duration"
    return (f"internal error ({type(cause).__name__}: {message}); this is a bug: rerun with --debug "
            f"(or {DEBUG_VARIABLE}=1) for the traceback and report it")


def _raised_here(error: BaseException) -> bool:
    """Whether ``error`` was raised by this package's own checks (its innermost frame is in
    ``circuits`` or ``populations``), not deep inside NumPy or Brian2 (which would be a bug)."""
    frame = error.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    if frame is None:
        return False
    path = Path(frame.tb_frame.f_code.co_filename).resolve()
    return any(path.is_relative_to(root) for root in PACKAGE_ROOTS)


# -- subcommands --------------------------------------------------------------------------------
def list_simulations(args) -> int:
    width = max(map(len, SIMULATIONS))
    for name, module in SIMULATIONS.items():
        needs = "".join(f"; needs {PIP_NAMES.get(m, m)}" for m in getattr(module, "REQUIRES", ()))
        print(f"{name.ljust(width)}  {module.DESCRIPTION} (default --duration {_default_duration(module)}{needs})")
    return 0


def run_simulation(args) -> int:
    module, duration = simulation_and_duration(args)
    out = prepare_directory(args.out or f"pcsim-out/{module.NAME}", "--out")
    if args.cache:
        set_cache_directory(prepare_directory(args.cache, "--cache"))
    start = time.perf_counter()
    outcome = module.simulate(duration=duration, seed=args.seed)
    paths = outcome.write(out)
    print(f"{module.NAME}: {float(duration / ms):g} ms simulated in {time.perf_counter() - start:.1f} s "
          f"(seed {args.seed})")
    print(outcome.format_table())
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def run_sweep(args) -> int:
    module, duration = simulation_and_duration(args)
    if args.seeds < 1 or (args.workers is not None and args.workers < 1):
        raise UsageError(f"--seeds and --workers must be at least 1, got --seeds {args.seeds}"
                         + ("" if args.workers is None else f" --workers {args.workers}"))
    missing = [name for name in sweeps.REQUIRES if importlib.util.find_spec(name) is None]
    if missing:
        raise UsageError(f"pcsim sweep needs {', '.join(missing)}, which is not installed: {sweeps.EXTRA}")
    out = prepare_directory(args.out or f"pcsim-out/{module.NAME}-sweep", "--out")
    if args.cache and not args.scheduler:   # a remote cluster's workers create theirs
        prepare_directory(args.cache, "--cache")
    client = _scheduler(args.scheduler) if args.scheduler else None
    start = time.perf_counter()
    try:
        with contextlib.nullcontext() if client is None else client:
            dataset = sweeps.sweep(module.NAME, args.grid, seeds=args.seeds, client=client, workers=args.workers,
                                   out=out, duration=duration, cache=args.cache, progress=not args.no_progress,
                                   command=args.command_line)
    except ValueError as error:
        if not _raised_here(error):
            raise
        raise UsageError(str(error)) from None   # sweep() checks its arguments before any point runs
    except KeyboardInterrupt:
        raise KeyboardInterrupt(f"interrupted; the points done are in {out / sweeps.RESULTS_FILE} (rerun the same "
                                f"command to compute the others)") from None
    done, total = int(dataset["done"].sum()), int(dataset["done"].size)
    print(f"{module.NAME}: {done} of {total} points done in {time.perf_counter() - start:.1f} s "
          f"(dimensions {dict(dataset['done'].sizes)})")
    failed = dataset["error"].values[dataset["error"].values != ""]
    for message in sorted(set(failed.tolist()))[:5]:
        print(f"  failed ({int((failed == message).sum())}): {message}")
    paths = [out / sweeps.RESULTS_FILE]
    if hasattr(module, "sweep_figure") and done:
        paths.append(out / f"{module.NAME.replace('-', '_')}_sweep.png")
        save(module.sweep_figure(dataset), paths[-1])
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0 if done == total else 1


def _scheduler(address: str):
    """A ``distributed.Client`` of the running scheduler at ``address``, or :class:`UsageError`."""
    from distributed import Client
    try:
        return Client(address)
    except (OSError, ValueError, TypeError) as error:   # refused, timed out, not an address
        raise UsageError(f"--scheduler {address}: cannot connect ({' '.join(str(error).split())}); start the "
                         f"scheduler (dask scheduler) and its workers, or check the address") from None


def simulation_and_duration(args):
    """The simulation module ``args.name`` and the Brian2 duration of ``args.duration`` (ms; its
    default if None), with the module's optional packages installed; else :class:`UsageError`."""
    try:
        module = get_simulation(args.name)
    except ValueError as error:
        raise UsageError(str(error)) from None
    duration = module.DEFAULT_DURATION if args.duration is None else args.duration * ms
    try:
        check_module_duration(module, duration, "--duration")
    except ValueError as error:
        raise UsageError(str(error)) from None
    check_requirements(module)
    return module, duration


def check_requirements(module):
    """Raise :class:`UsageError` naming the pip command if an optional package the simulation
    needs (``module.REQUIRES``: import names) is missing."""
    missing = [name for name in getattr(module, "REQUIRES", ()) if importlib.util.find_spec(name) is None]
    if missing:
        packages = " ".join(PIP_NAMES.get(name, name) for name in missing)
        extras = {EXTRAS.get(name, "gallery") for name in missing}
        extra = extras.pop() if len(extras) == 1 else "gallery"
        raise UsageError(f"{module.NAME} needs {packages}, which is not installed: pip install {packages} "
                         f"(or pip install -e '.[{extra}]' in a clone)")


def prepare_directory(path: str, option: str) -> Path:
    """``path`` as a writable directory (created if missing), or :class:`UsageError`."""
    directory = Path(path)
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{option} {path} is an existing file; name a directory (it is created if missing)")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"{option} {path}: cannot create the directory ({error.strerror}); "
                         f"choose another {option}") from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path}: the directory is not writable; choose another {option}")
    return directory


if __name__ == "__main__":
    sys.exit(main())
