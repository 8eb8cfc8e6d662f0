"""The same 3-level linear hierarchy in ngc-learn (JAX on CPU), timed: a helper of
``bench_scaling.py`` and ``bench_engines.py`` (they call :func:`measure_in`), run by an
interpreter that has ngc-learn (it needs numpy ≥ 2.4, which Brian2 2.9 cannot import, so it
lives in its own virtual environment):

    python3 -m venv /tmp/ngc && /tmp/ngc/bin/pip install ngclearn
    /tmp/ngc/bin/python benchmarks/bench_ngclearn.py --sizes 256,64,16 --steps 3000

ngc-learn's predictive-coding parts: RateCell z1, z2 (τ_m = 10 ms; z2 with a unit Gaussian
prior), GaussianErrorCell e0, e1 (fixed-point errors ε = (target − μ)/σ², unlike the circuit's
error neurons with τ_ε), DenseSynapse W0, W1 (generative) and E0, E1 (feedback, Wᵀ):

    τ dz1/dt = W0ᵀ e0 − e1,   τ dz2/dt = W1ᵀ e1 − z2,   e0 = x − W0 z1,   e1 = z1 − W1 z2

One step is ngc-learn's compiled process (all components' advance_state in order), jitted and
iterated with ``jax.lax.scan`` — its fastest idiom; float32, JAX's default; the best of three runs after
the compiling one. Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve()


def measure_in(python, sizes, steps, batch=None, environment=None, cpu=None) -> dict | None:
    """Run this script under ``python`` (an interpreter with ngc-learn; None or "": not run, None
    returned) for the hierarchy ``sizes``, ``steps`` steps and ``batch`` inputs (None: one), in
    ``environment`` (default: this process's), pinned to the core ``cpu`` if given (XLA's CPU
    runtime spreads a large batched product over threads whatever its flags say), and return
    the JSON line it prints."""
    if not python:
        return None
    command = [python, str(HERE), "--sizes", ",".join(map(str, sizes)), "--steps", str(steps)]
    if batch:
        command += ["--batch", str(batch)]
    pin = None if cpu is None else (lambda: os.sched_setaffinity(0, {cpu}))
    output = subprocess.run(command, cwd=HERE.parents[1], check=True, capture_output=True, text=True,
                            env=environment, preexec_fn=pin).stdout
    return json.loads(output.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256,64,16")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=1, help="B inputs at once (batch_size of every component)")
    args = parser.parse_args(argv)
    sizes = tuple(int(s) for s in args.sizes.split(","))

    import jax
    from jax import numpy as jnp
    from ngclearn import Context, MethodProcess
    from ngclearn.components import DenseSynapse, GaussianErrorCell, RateCell

    rng = np.random.default_rng(0)   # the weights of benchmarks/bench_inference.hierarchy
    W0 = rng.normal(size=(sizes[0], sizes[1])) / np.sqrt(sizes[0])
    W1 = rng.normal(size=(sizes[1], sizes[2])) / np.sqrt(sizes[1])
    B = args.batch
    x = np.random.default_rng(1).normal(size=(B, sizes[0]) if B > 1 else sizes[0])
    fixed = lambda matrix: (lambda shape, key: jnp.asarray(matrix, jnp.float32))   # noqa: E731

    start = time.perf_counter()
    with Context("hierarchy") as model:
        z1 = RateCell("z1", n_units=sizes[1], tau_m=10.0, prior=("gaussian", 0.0), integration_type="euler",
                      batch_size=B)
        z2 = RateCell("z2", n_units=sizes[2], tau_m=10.0, prior=("gaussian", 1.0), integration_type="euler",
                      batch_size=B)
        e0 = GaussianErrorCell("e0", n_units=sizes[0], batch_size=B)
        e1 = GaussianErrorCell("e1", n_units=sizes[1], batch_size=B)
        g0 = DenseSynapse("g0", shape=(sizes[1], sizes[0]), weight_init=fixed(W0.T), batch_size=B)
        g1 = DenseSynapse("g1", shape=(sizes[2], sizes[1]), weight_init=fixed(W1.T), batch_size=B)
        f0 = DenseSynapse("f0", shape=(sizes[0], sizes[1]), weight_init=fixed(W0), batch_size=B)
        f1 = DenseSynapse("f1", shape=(sizes[1], sizes[2]), weight_init=fixed(W1), batch_size=B)
        z1.zF >> g0.inputs
        g0.outputs >> e0.mu
        z2.zF >> g1.inputs
        g1.outputs >> e1.mu
        z1.z >> e1.target
        e0.dmu >> f0.inputs
        f0.outputs >> z1.j
        e1.dtarget >> z1.j_td
        e1.dmu >> f1.inputs
        f1.outputs >> z2.j
        advance = (MethodProcess("advance") >> g0.advance_state >> g1.advance_state >> e0.advance_state
                   >> e1.advance_state >> f0.advance_state >> f1.advance_state >> z1.advance_state
                   >> z2.advance_state)
        reset = (MethodProcess("reset") >> z1.reset >> z2.reset >> e0.reset >> e1.reset >> g0.reset
                 >> g1.reset >> f0.reset >> f1.reset)
    reset.run()
    e0.target.set(jnp.asarray(x.reshape(B, -1), jnp.float32))
    step = advance.run.compiled
    keywords = jnp.asarray([advance.pack_keywords(t=k * 0.1, dt=0.1) for k in range(args.steps)], jnp.float32)

    @jax.jit
    def simulate(state, rows):
        return jax.lax.scan(lambda s, row: (step(s, row)[0], None), state, rows)[0]

    from ngcsimlib._src.global_state.manager import global_state_manager
    state = global_state_manager.state
    jax.block_until_ready(simulate(state, keywords))   # trace and compile for this length
    setup = time.perf_counter() - start
    wall = float("inf")
    for _ in range(3):   # the best of 3, as for the other engines of bench_engines.py
        start = time.perf_counter()
        final = jax.block_until_ready(simulate(state, keywords))
        wall = min(wall, time.perf_counter() - start)
    z2_final = np.asarray(final[z2.z.target]).ravel()
    print(json.dumps({"sizes": sizes, "steps": args.steps, "batch": B, "setup_s": setup, "ngclearn_s": wall,
                      "z2": z2_final[:3].tolist(), "jax": jax.__version__,
                      "jax_device": jax.default_backend()}))


if __name__ == "__main__":
    main()
