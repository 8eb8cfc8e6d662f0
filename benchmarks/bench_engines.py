"""Engines side by side: runtime, C++ standalone, the NumPy loop and ngc-learn, per simulated step.

    python benchmarks/bench_engines.py [--steps 10000] [--batch 32] [--batch-steps 1000]
                                       [--ngclearn-python /tmp/ngc/bin/python] [--sizes 64,256,1024]

The 3-level linear hierarchy of ``bench_inference.py`` (n, n/4, n/16) at dt = 0.1 ms with a
constant stimulus and no recording, every engine in its own process pinned to one core (one
BLAS thread each: ``OPENBLAS_NUM_THREADS=1``; ngc-learn's XLA spreads a batched product over
threads whatever its flags say, so the pinning is what keeps it to one). Printed per size, µs
per simulated step of a ``--steps`` run (10,000: 1 s simulated):

- runtime: ``Circuit()`` (Brian2 runtime, Cython state updaters, NumPy products), the best of 3;
- C++: ``Circuit(device="cpp_standalone")``, wall time of ``run()`` (launching the binary,
  writing the run_args and reading the results included; best of 3), the cost per step
  without that fixed cost (the slope between a 1-step run and a run 10× as long), the fixed
  cost (a 1-step run, "launch") and the first-compile time in an empty cache;
- C++ float32 ("cpp32"): the same with ``precision="single"`` (ngc-learn's precision), per step;
- NumPy: the independent reference loop (``tests/reference.simulate``), best of 3;
- ngc-learn: ``bench_ngclearn.py`` in its own interpreter (float32, jitted ``lax.scan``), best of 3.

Then batched trials (B = ``--batch``): samples × steps per second of each, ``--batch-steps``
steps (for the C++ engines also from the cost per step, the launch left out, as above). Prints
the tables, writes every measurement to ``benchmarks/engines.json`` (``--json``) and draws
``figures/performance.png`` (``--figure``; ``--replot`` redraws it from the JSON), with a third
panel from ``benchmarks/gpu.json`` (``bench_gpu.py``, the CUDA engine on a GPU) where it exists.
"""
from __future__ import annotations

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.bench_ngclearn import measure_in  # noqa: E402

ENGINES = ("runtime", "cpp", "cpp32", "numpy")
COMPILED = {"cpp": "double", "cpp32": "single"}   # the C++ engines and their precision
REPEATS = 3   # every time is the fastest of this many runs


def measure(engine: str, top: int, steps: int, batch: int | None) -> dict:
    """One engine at one size, in this process: seconds for ``steps`` steps (and set-up)."""
    from brian2 import ms

    from benchmarks.bench_inference import DT, TAU_ERROR, TAU_ESTIMATE, best, circuit_for, hierarchy
    from tests.reference import simulate, simulate_batch

    sizes = (top, top // 4, top // 16)
    model = hierarchy(sizes)
    shape = (batch, sizes[0]) if batch else (sizes[0],)
    x = np.random.default_rng(1).normal(size=shape)
    result = {"engine": engine, "sizes": sizes, "steps": steps, "batch": batch}
    if engine == "numpy":
        if batch:
            result["wall_s"], _ = best(lambda: simulate_batch(model, {"x": x}, steps, DT, TAU_ESTIMATE, TAU_ERROR),
                                       REPEATS)
        else:
            stimulus = {"x": np.broadcast_to(x, (steps, sizes[0]))}
            result["wall_s"], _ = best(
                lambda: simulate(model, stimulus, steps, DT, TAU_ESTIMATE, TAU_ERROR, record=False), REPEATS)
        return result
    options = {}
    if engine in COMPILED:
        from circuits import compilation
        compilation.set_cache_directory(tempfile.mkdtemp(prefix="bench-engines-"))   # a cold cache
        options = {"device": "cpp_standalone", "precision": COMPILED[engine]}
    circuit = circuit_for(model, batch_size=batch, **options)
    start = time.perf_counter()
    circuit.run(0.1 * ms, stimulus=x, record=False)   # build, compile (or load)
    result["setup_s"] = time.perf_counter() - start

    def run(count):
        circuit.reset()
        circuit.run(count * DT * 1000 * ms, stimulus=x, record=False)
    result["wall_s"], _ = best(lambda: run(steps), REPEATS)
    if engine in COMPILED:   # the cost of a step without the run's fixed cost
        result["one_step_s"], _ = best(lambda: run(1), REPEATS)
        result["long_s"], _ = best(lambda: run(10 * steps), REPEATS)
    result["z2"] = circuit.estimate("z2").ravel()[:3].tolist()
    return result


#: The core every measured process runs on (the last one this process may use).
CPU = max(os.sched_getaffinity(0))


def in_subprocess(engine, top, steps, batch) -> dict:
    command = [sys.executable, __file__, "--one", engine, "--sizes", str(top), "--steps", str(steps),
               "--batch", str(batch or 0)]
    output = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True,
                            preexec_fn=lambda: os.sched_setaffinity(0, {CPU})).stdout
    return json.loads(output.strip().splitlines()[-1])


def per_step(compiled: dict) -> float:
    """µs per step of a compiled engine without its run's fixed cost: the slope between a
    1-step run and a run 10× as long as ``steps``."""
    return 1e6 * (compiled["long_s"] - compiled["one_step_s"]) / (10 * compiled["steps"] - 1)


def ngclearn(python, top, steps, batch) -> dict | None:
    environment = dict(os.environ, XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
    return measure_in(python, (top, top // 4, top // 16), steps, batch, environment, cpu=CPU)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=32, help="batch size of the batched comparison (0: skip)")
    parser.add_argument("--batch-steps", type=int, default=1000)
    parser.add_argument("--sizes", default="64,256,1024", help="top sizes n of (n, n/4, n/16)")
    parser.add_argument("--ngclearn-python", default=os.environ.get("NGCLEARN_PYTHON"),
                        help="an interpreter with ngc-learn (default $NGCLEARN_PYTHON; skipped without)")
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "engines.json"), help="measurements written here")
    parser.add_argument("--figure", default=str(ROOT / "figures" / "performance.png"))
    parser.add_argument("--replot", action="store_true", help="only redraw the figure from --json")
    parser.add_argument("--one", choices=ENGINES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    tops = [int(s) for s in args.sizes.split(",")]
    if args.one:
        print(json.dumps(measure(args.one, tops[0], args.steps, args.batch or None)))
        return
    if args.replot:
        figure(json.loads(Path(args.json).read_text()), args.figure)
        return
    rows = []
    print(f"µs per simulated step, {args.steps} steps, dt = 0.1 ms, no recording, one thread per process")
    print(f"{'sizes':>16} {'runtime':>9} {'C++ wall':>9} {'C++/step':>9} {'f32/step':>9} {'numpy':>8} "
          f"{'ngc-learn':>10} {'wall/ngc':>8} {'step/ngc':>8} {'f32/ngc':>8} {'C++ compile s':>14} {'launch ms':>10}")
    for top in tops:
        row = {engine: in_subprocess(engine, top, args.steps, None) for engine in ENGINES}
        row["ngclearn"] = ngclearn(args.ngclearn_python, top, args.steps, None)
        rows.append(row)
        per = {k: 1e6 * row[k]["wall_s"] / args.steps for k in ENGINES}
        cpp, slope, slope32 = row["cpp"], per_step(row["cpp"]), per_step(row["cpp32"])
        ngc = 1e6 * row["ngclearn"]["ngclearn_s"] / args.steps if row["ngclearn"] else float("nan")
        print(f"{str(tuple(cpp['sizes'])):>16} {per['runtime']:9.1f} {per['cpp']:9.1f} {slope:9.1f} {slope32:9.1f} "
              f"{per['numpy']:8.1f} {ngc:10.1f} {per['cpp'] / ngc:8.2f} {slope / ngc:8.2f} {slope32 / ngc:8.2f} "
              f"{cpp['setup_s']:14.1f} {1e3 * cpp['one_step_s']:10.1f}", flush=True)
    if args.batch:
        print(f"\nbatched, B = {args.batch}, {args.batch_steps} steps: samples × steps per second (k)")
        print(f"{'sizes':>16} {'runtime':>9} {'C++ run':>9} {'C++ step':>9} {'f32 step':>9} {'numpy':>9} "
              f"{'ngc-learn':>10} {'step/ngc':>8} {'f32/ngc':>8}")
        for top in tops:
            row = {engine: in_subprocess(engine, top, args.batch_steps, args.batch) for engine in ENGINES}
            row["ngclearn"] = ngclearn(args.ngclearn_python, top, args.batch_steps, args.batch)
            rows.append(row)
            rate = {k: args.batch * args.batch_steps / row[k]["wall_s"] / 1e3 for k in ENGINES}
            step = {k: 1e3 * args.batch / per_step(row[k]) for k in COMPILED}
            ngc = (args.batch * args.batch_steps / row["ngclearn"]["ngclearn_s"] / 1e3 if row["ngclearn"]
                   else float("nan"))
            print(f"{str(tuple(row['cpp']['sizes'])):>16} {rate['runtime']:9.0f} {rate['cpp']:9.0f} "
                  f"{step['cpp']:9.0f} {step['cpp32']:9.0f} {rate['numpy']:9.0f} {ngc:10.0f} "
                  f"{step['cpp'] / ngc:8.2f} {step['cpp32'] / ngc:8.2f}", flush=True)
    Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    figure(rows, args.figure)
    print(f"wrote {args.json} and {args.figure}")


#: The GPU measurements (benchmarks/bench_gpu.py, on a GPU machine): CUDA with cuBLAS couplings,
#: and the same run before, with brian2cuda Synapses couplings.
GPU_RUNS = (ROOT / "benchmarks" / "gpu.json", ROOT / "benchmarks" / "gpu_synapses.json")


def figure(rows, path):
    """µs per step by size (single circuit) and samples × steps per second (batched) of the
    engines, NumPy and ngc-learn, and, where ``GPU_RUNS`` exist, the CUDA engine against
    ngc-learn on the GPU, in the style of :mod:`circuits.simulations.style` (PNG and PDF)."""
    from circuits.simulations import style
    gpu = [json.loads(run.read_text()) for run in GPU_RUNS if run.exists()]
    for target in (path, Path(path).with_suffix(".pdf")):   # drawn anew: a re-saved figure gives another PDF
        style.save(style.styled(_draw)(rows, gpu), target)


def _draw(rows, gpu=()):
    from circuits.simulations import style
    single = [r for r in rows if not r["cpp"]["batch"]]
    batched = [r for r in rows if r["cpp"]["batch"]]
    times = {
        "runtime (Brian2)": [1e6 * r["runtime"]["wall_s"] / r["runtime"]["steps"] for r in single],
        "C++ standalone, whole run()": [1e6 * r["cpp"]["wall_s"] / r["cpp"]["steps"] for r in single],
        "C++ standalone, per step": [per_step(r["cpp"]) for r in single],
    }
    if all("cpp32" in r for r in single):   # measured since precision="single" exists
        times["C++ standalone float32, per step"] = [per_step(r["cpp32"]) for r in single]
    times["NumPy loop (float64)"] = [1e6 * r["numpy"]["wall_s"] / r["numpy"]["steps"] for r in single]
    if all(r["ngclearn"] for r in single):
        times["ngc-learn, JAX CPU (float32)"] = [1e6 * r["ngclearn"]["ngclearn_s"] / r["ngclearn"]["steps"]
                                                 for r in single]
    plot, axes = style.figure(2, 2, height=5.6) if gpu else style.figure(1, 2, height=2.8)
    left, right = axes[0] if gpu else axes
    _bars(left, [str(tuple(r["cpp"]["sizes"])) for r in single], times)
    style.label(left, x="sizes of the 3-level hierarchy", y=("time per simulated step", "µs"),
                title=f"one circuit, {single[0]['cpp']['steps']} steps, one thread")
    if batched:
        per = ", per step" if "long_s" in batched[0]["cpp"] else ""   # measured so since precision="single"
        engines = {"runtime": "runtime (Brian2)", "cpp": f"C++ standalone{per}",
                   "cpp32": "C++ standalone float32, per step", "numpy": "NumPy loop (float64)"}
        rates = {label: [_rate(r[key]) for r in batched] for key, label in engines.items()
                 if all(key in r for r in batched)}
        if all(r["ngclearn"] for r in batched):
            rates["ngc-learn (float32)"] = [r["ngclearn"]["batch"] * r["ngclearn"]["steps"]
                                            / r["ngclearn"]["ngclearn_s"] for r in batched]
        _bars(right, [str(tuple(r["cpp"]["sizes"])) for r in batched], rates)
        style.label(right, x="sizes of the 3-level hierarchy", y="samples × steps per second",
                    title=f"batch of {batched[0]['cpp']['batch']}, {batched[0]['cpp']['steps']} steps, one thread")
    if gpu:
        _draw_gpu(axes[1][0], *gpu)
        axes[1][1].remove()
    style.panel_letters(plot)
    return plot


def _rate(measured: dict) -> float:
    """Samples × steps per second of a batched measurement: from the cost per step where it was
    measured (the C++ engines, launch left out), else from the whole run."""
    if "long_s" in measured:
        return measured["batch"] * 1e6 / per_step(measured)
    return measured["batch"] * measured["steps"] / measured["wall_s"]


def _draw_gpu(ax, cublas, synapses=None):
    """µs per step of the CUDA engine (cuBLAS couplings; before, Synapses couplings) and of
    ngc-learn on the same GPU, from bench_gpu.py's JSON."""
    from circuits.simulations import style
    rows = [r for r in cublas["rows"] if r.get("precision", "double") == "double"]
    single = {tuple(r["sizes"]): r for r in cublas["rows"] if r.get("precision") == "single"}
    times = {"CUDA standalone, cuBLAS couplings": [1e6 * r["per_step_s"] for r in rows]}
    if single:   # bench_gpu.py --precision double,single
        times["CUDA standalone float32, cuBLAS couplings"] = [1e6 * single[tuple(r["sizes"])]["per_step_s"]
                                                              if tuple(r["sizes"]) in single else np.nan for r in rows]
    if synapses is not None:
        times["CUDA standalone, Synapses couplings (before)"] = [1e6 * r["stepping_s"] / r["steps"]
                                                                 for r in synapses["rows"]]
    times["ngc-learn, JAX GPU (float32)"] = [1e6 * r["ngclearn"]["ngclearn_s"] / r["steps"] for r in rows]
    _bars(ax, [str(tuple(r["sizes"])) for r in rows], times)
    style.label(ax, x="sizes of the 3-level hierarchy", y=("time per simulated step", "µs"),
                title=f"{cublas['gpu'].split(',')[0]}, {rows[0]['steps']} steps")


def _bars(ax, labels, series):
    from circuits.simulations.style import PALETTE
    colors = {"runtime": PALETTE[0], "C++ standalone float32": PALETTE[6], "C++ standalone, per": PALETTE[2],
              "C++": PALETTE[1], "NumPy": PALETTE[3],
              "ngc-learn": PALETTE[4], "CUDA standalone, cuBLAS": PALETTE[5], "CUDA standalone float32": PALETTE[6],
              "CUDA": PALETTE[7]}
    width = 0.8 / len(series)
    for k, (label, values) in enumerate(series.items()):
        color = next(c for prefix, c in colors.items() if label.startswith(prefix))
        ax.bar(np.arange(len(labels)) + (k - (len(series) - 1) / 2) * width, values, width, label=label, color=color)
    ax.set_yscale("log")
    bottom, top = ax.get_ylim()
    ax.set_ylim(bottom, top * 30)   # room for the legend above the bars
    ax.set_xticks(np.arange(len(labels)), labels)
    ax.legend(loc="upper left")


if __name__ == "__main__":
    main()
