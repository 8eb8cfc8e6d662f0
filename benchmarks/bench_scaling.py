"""Scaling report: wall time vs number of neurons (to ~10⁴ neurons, 10⁷ weights) and vs
simulated time, for the circuit and the NumPy Euler reference, with peak memory.

    python benchmarks/bench_scaling.py [--figure figures/scaling.png] [--quick]
    python benchmarks/bench_scaling.py --replot     # redraw the figure from benchmarks/scaling.json

Each size runs in its own Python process (so its peak RSS is its own): build the 3-level
linear hierarchy (n, n/4, n/16), run 1 ms (set-up: build and compile or load), then the
timed run with recording every 10th step, then the NumPy reference of the same equations
and steps in the same process. Printed per size: neurons (estimate + error), weights, the
weights' memory, wall time per simulated ms for both and their ratio, and the process's
peak RSS. A second sweep runs the (256, 64, 16) circuit for 10 ms … 10 s of simulated time.
With ``--ngclearn-python PATH`` (or $NGCLEARN_PYTHON), an interpreter with ngc-learn installed
(it needs numpy ≥ 2.4, which Brian2 2.9 cannot import, so it has its own virtual environment),
``bench_ngclearn.py`` times the same hierarchy in ngc-learn (JAX on CPU) at every point;
otherwise the figure says it was not run. Writes the figure (PNG and PDF, in the style of
:mod:`circuits.simulations.style`) and ``benchmarks/scaling.json``; ``--replot`` redraws the
figure from that file without measuring anything.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.bench_ngclearn import measure_in  # noqa: E402

SIZES = [64, 256, 1024, 2048, 4096, 6144]
DURATIONS_MS = [10, 100, 1000, 10000]


def measure(top: int, duration_ms: float, reference: bool) -> dict:
    """One size, in this process."""
    from brian2 import ms

    from benchmarks.bench_inference import circuit_for, hierarchy
    from tests.reference import simulate

    sizes = (top, max(1, top // 4), max(1, top // 16))
    model = hierarchy(sizes)
    x = np.random.default_rng(1).normal(size=sizes[0])
    start = time.perf_counter()
    circuit = circuit_for(model, "dense")
    circuit.run(1 * ms, stimulus=x, record=False)
    setup = time.perf_counter() - start
    circuit.reset()
    start = time.perf_counter()
    circuit.run(duration_ms * ms, stimulus=x, record=10)
    brian = time.perf_counter() - start
    steps = int(round(duration_ms / 0.1))
    numpy_time = None
    if reference:
        start = time.perf_counter()
        simulate(model, {"x": np.broadcast_to(x, (steps, sizes[0]))}, steps, 1e-4, 0.010, 0.002)
        numpy_time = time.perf_counter() - start
    weights = sum(edge.weights.size for edge in model.edges)
    return {"sizes": sizes, "neurons": 2 * sum(sizes), "weights": weights,
            "weights_mb": weights * 8 / 2 ** 20, "duration_ms": duration_ms, "setup_s": setup,
            "brian2_s": brian, "numpy_s": numpy_time,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def in_subprocess(top, duration_ms, reference=True) -> dict:
    output = subprocess.run([sys.executable, __file__, "--one", str(top), "--duration", str(duration_ms)]
                            + ([] if reference else ["--no-reference"]),
                            cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def ngclearn_time(python, sizes, steps) -> float | None:
    """Wall time of ``steps`` steps of the hierarchy in ngc-learn (None without an interpreter)."""
    result = measure_in(python, sizes, steps)
    return None if result is None else result["ngclearn_s"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--figure", default=str(ROOT / "figures" / "scaling.png"))
    parser.add_argument("--quick", action="store_true", help="sizes up to 1024 and 1 s only")
    parser.add_argument("--ngclearn-python", default=os.environ.get("NGCLEARN_PYTHON"),
                        help="an interpreter with ngc-learn installed (default $NGCLEARN_PYTHON)")
    parser.add_argument("--replot", action="store_true",
                        help="redraw the figure from benchmarks/scaling.json (no measurement)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--duration", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--no-reference", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one, args.duration, not args.no_reference)))
        return
    if args.replot:
        report = json.loads((ROOT / "benchmarks" / "scaling.json").read_text())
        ran = all(r.get("ngclearn_s") is not None for r in report["by_size"] + report["by_duration"])
        _figure(report["by_size"], report["by_duration"], None if ran else report["ngclearn"], args.figure)
        print(f"wrote {args.figure} (and PDF) from benchmarks/scaling.json")
        return
    sizes = [s for s in SIZES if s <= 1024] if args.quick else SIZES
    durations = [d for d in DURATIONS_MS if d <= 1000] if args.quick else DURATIONS_MS
    by_size = []
    print(f"{'sizes':>18} {'neurons':>8} {'weights':>9} {'W MB':>7} {'brian2 ms/ms':>13} "
          f"{'numpy ms/ms':>12} {'ngc ms/ms':>10} {'ratio':>6} {'peak RSS MB':>12}")
    for top in sizes:
        duration = 100.0 if top <= 1024 else 20.0   # keep the big ones to a minute
        row = in_subprocess(top, duration)
        row["ngclearn_s"] = ngclearn_time(args.ngclearn_python, row["sizes"], int(round(duration / 0.1)))
        by_size.append(row)
        ngc = "-" if row["ngclearn_s"] is None else f"{1000 * row['ngclearn_s'] / duration:.2f}"
        print(f"{str(tuple(row['sizes'])):>18} {row['neurons']:8d} {row['weights']:9d} {row['weights_mb']:7.1f} "
              f"{1000 * row['brian2_s'] / duration:13.2f} {1000 * row['numpy_s'] / duration:12.2f} "
              f"{ngc:>10} {row['brian2_s'] / row['numpy_s']:6.2f} {row['peak_rss_mb']:12.0f}")
    by_duration = []
    print(f"\n(256, 64, 16): {'simulated ms':>12} {'brian2 s':>9} {'numpy s':>9} {'ngc s':>7} {'ratio':>6}")
    for duration in durations:
        row = in_subprocess(256, duration)
        row["ngclearn_s"] = ngclearn_time(args.ngclearn_python, row["sizes"], int(round(duration / 0.1)))
        by_duration.append(row)
        ngc = "-" if row["ngclearn_s"] is None else f"{row['ngclearn_s']:.3f}"
        print(f"{'':>15}{duration:12g} {row['brian2_s']:9.3f} {row['numpy_s']:9.3f} {ngc:>7} "
              f"{row['brian2_s'] / row['numpy_s']:6.2f}")
    note = None if args.ngclearn_python else "not run (pass --ngclearn-python, an interpreter with ngclearn)"
    (ROOT / "benchmarks" / "scaling.json").write_text(json.dumps(
        {"by_size": by_size, "by_duration": by_duration, "ngclearn": note or args.ngclearn_python}, indent=1) + "\n")
    _figure(by_size, by_duration, note, args.figure)
    print(f"wrote {args.figure} and benchmarks/scaling.json")


def _figure(by_size, by_duration, note, path):
    import matplotlib
    matplotlib.use("Agg")
    from circuits.simulations import style
    for target in (path, Path(path).with_suffix(".pdf")):   # drawn anew: a re-saved figure gives another PDF
        style.save(style.styled(_draw)(by_size, by_duration, note), target)


def _draw(by_size, by_duration, note):
    from circuits.simulations import style
    figure, axes = style.figure(1, 3, height=2.6)
    neurons = [r["neurons"] for r in by_size]
    per_ms = lambda rows, key: [1000 * r[key] / r["duration_ms"] for r in rows]   # noqa: E731
    lines = (("brian2_s", "o-", "circuit (Brian2, dense)"), ("numpy_s", "s--", "NumPy Euler reference"),
             *(() if note else (("ngclearn_s", "^:", "ngc-learn 3.2 (JAX CPU, float32)"),)))
    for key, marker, label in lines:
        axes[0].loglog(neurons, per_ms(by_size, key), marker, label=label)
    # the hierarchy (n, n/4, n/16) has weights = c · neurons²: a second axis gives them
    scale = by_size[0]["weights"] / by_size[0]["neurons"] ** 2
    weights = axes[0].secondary_xaxis("top", functions=(lambda n: scale * np.square(n),
                                                        lambda w: np.sqrt(np.maximum(w, 0) / scale)))
    weights.set_xlabel("weights")
    style.label(axes[0], x="neurons (estimate + error)", y=("wall time per simulated ms", "ms"),
                title="size (dt = 0.1 ms)")
    durations = [r["duration_ms"] for r in by_duration]
    for key, marker, label in lines:
        axes[1].loglog(durations, [r[key] for r in by_duration], marker)
    style.label(axes[1], x=("simulated time", "ms"), y=("wall time", "s"),
                title=f"simulated time, {tuple(by_duration[0]['sizes'])}")
    figure.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=3)
    megabytes = [r["weights_mb"] for r in by_size]
    axes[2].loglog(megabytes, [r["peak_rss_mb"] for r in by_size], "o-", label="peak RSS")
    axes[2].loglog(megabytes, megabytes, ":", color=style.GREY, label="the weights alone")
    style.label(axes[2], x=("weights", "MB"), y=("memory", "MB"), title="memory")
    axes[2].legend(loc="lower right")
    if note:
        figure.supxlabel("ngc-learn: " + note, fontsize=7)
    style.panel_letters(figure, axes)
    return figure


if __name__ == "__main__":
    main()
