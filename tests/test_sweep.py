"""Sweeps on Dask (issue 16): a 2-process LocalCluster gives bit-for-bit the numbers of a plain
loop; a worker killed mid-sweep loses nothing and duplicates nothing; a resumed sweep computes
only the missing points; a point that raises is recorded and the sweep goes on; each worker
compiles once into its own cache and pins BLAS to one thread; ``pcsim sweep``.

Small and short on purpose (2 workers, the attention circuit for 200 ms, ~0.3 s a point): the
whole file takes about a minute on 2 cores once the workers' caches are warm.
"""
import functools
import inspect
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from brian2 import ms
from distributed import Client, LocalCluster
from threadpoolctl import threadpool_info, threadpool_limits

from circuits import SimulationDiverged, sweep
from circuits.cli import main
from circuits.simulations import SIMULATIONS, attention
from circuits.sweeps import RESULTS_FILE, Output, load, parse_grid

#: One test process runs this whole file (pytest-xdist's loadgroup): its module fixtures, a Dask
#: cluster and the workers' cold caches, are built once.
pytestmark = pytest.mark.xdist_group("sweep")

DURATION = 200 * ms     # 100 ms per half: every point compiles the same code


@pytest.fixture(scope="module")
def cache_root(tmp_path_factory):
    """The workers' Brian2 caches for this file: cold at first, so the first sweep compiles."""
    return tmp_path_factory.mktemp("worker-caches")


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as connected:
        yield connected


def test_two_workers_give_the_serial_numbers_bit_for_bit_and_compile_once_each(client, cache_root):
    """Every output of every point equals ``attention.simulate`` called in this process (BLAS on
    one thread here too), exactly. Both workers ran points; each compiled into its own, cold
    cache at its first point and never again (``compiled`` counts new modules)."""
    grid = {"gain": [0.5, 2.0, 8.0], "noise": [0.5]}
    dataset = sweep("attention", grid, seeds=2, client=client, duration=DURATION, cache=cache_root)
    assert dict(dataset["done"].sizes) == {"gain": 3, "noise": 1, "seed": 2} and bool(dataset["done"].all())
    assert dataset.attrs["simulation"] == "attention" and dataset.attrs["duration_ms"] == 200.0
    assert dataset["readings"].dims == ("gain", "noise", "seed", "channel")
    with threadpool_limits(1):
        for gain in grid["gain"]:
            for seed in (0, 1):
                summary = attention.simulate(DURATION, seed, gain=gain, noise=0.5).summary
                point = dataset.sel(gain=gain, noise=0.5, seed=seed)
                for output in attention.OUTPUTS:
                    assert np.array_equal(point[output.name].values, np.asarray(summary[output.name])), output.name
    workers = dataset["worker"].values.ravel()
    compiled = dataset["compiled"].values.ravel()
    assert set(workers) == {"0", "1"}
    for worker in ("0", "1"):
        mine = compiled[workers == worker]
        assert (mine > 0).sum() == 1 and (mine == 0).sum() == len(mine) - 1, (worker, mine)
    assert {p.name for p in cache_root.iterdir()} == {"worker-0", "worker-1"}


def blas_threads(seed):
    return {"threads": max((pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"),
                           default=1)}


def test_workers_pin_blas_to_one_thread(client):
    dataset = sweep(blas_threads, {}, seeds=4, client=client)
    assert dataset["threads"].values.tolist() == [1.0] * 4


def recorded(log: Path):
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def logged_square(seed, x, *, log, fail=()):
    """x² + seed, logging each start and finish; raises SimulationDiverged for x in ``fail``."""
    with open(log, "a") as file:
        file.write(json.dumps({"x": x, "seed": seed, "event": "start", "pid": os.getpid()}) + "\n")
    if x in fail:
        raise SimulationDiverged(f"x = {x}: rates above 1e6 (a test of the sweep)")
    with open(log, "a") as file:
        file.write(json.dumps({"x": x, "seed": seed, "event": "finish"}) + "\n")
    return {"square": x * x + seed, "pair": np.array([x, -x])}


def test_a_point_that_raises_is_recorded_and_a_resume_computes_only_missing_points(client, tmp_path):
    """First sweep: x = 1, 2, 3 × 2 seeds, x = 3 diverges: recorded as not done with its
    message, the others stored. Second sweep, same out, grid extended by x = 4, nothing failing:
    only x = 3 and x = 4 run (4 points), the 4 stored ones are not recomputed."""
    log, out = tmp_path / "log.jsonl", tmp_path / "sweep"
    outputs = [Output("square", (), "1"), Output("pair", ("sign",), "1")]
    first = sweep(functools.partial(logged_square, log=log, fail=(3.0,)), {"x": [1, 2, 3]}, seeds=2,
                  client=client, out=out, outputs=outputs)
    assert first["done"].sum() == 4
    failed = first.sel(x=3.0)
    assert not failed["done"].any() and np.isnan(failed["square"]).all()
    assert all(e == "SimulationDiverged: x = 3.0: rates above 1e6 (a test of the sweep)"
               for e in failed["error"].values.ravel())
    np.testing.assert_array_equal(first["square"].sel(x=2.0), [4.0, 5.0])
    assert len([r for r in recorded(log) if r["event"] == "start"]) == 6

    stored = xr.open_dataset(out / RESULTS_FILE, engine="scipy").load()
    assert stored["done"].sum() == 4 and stored.attrs["simulation"] == "logged_square"
    os.remove(log)
    second = sweep(functools.partial(logged_square, log=log), {"x": [1, 2, 3, 4]}, seeds=2, client=client,
                   out=out, outputs=outputs)
    runs = sorted((r["x"], r["seed"]) for r in recorded(log) if r["event"] == "start")
    assert runs == [(3.0, 0), (3.0, 1), (4.0, 0), (4.0, 1)]
    assert bool(second["done"].all()) and (second["error"] == "").all()
    np.testing.assert_array_equal(second["square"].values, [[1, 2], [4, 5], [9, 10], [16, 17]])
    np.testing.assert_array_equal(second["pair"].sel(x=4.0, seed=1), [4.0, -4.0])
    # the untouched points keep the records of the first sweep
    assert np.array_equal(second["wall_time"].sel(x=[1.0, 2.0]), first["wall_time"].sel(x=[1.0, 2.0]))


def suicidal_square(seed, x, *, log):
    """The first attempt at x = 2, seed 1 kills its worker process (SIGKILL) halfway through."""
    with open(log, "a") as file:
        file.write(json.dumps({"x": x, "seed": seed, "event": "start", "pid": os.getpid()}) + "\n")
    time.sleep(0.3)
    if (x, seed) == (2.0, 1) and len([r for r in recorded(Path(log)) if r["event"] == "start"
                                      and (r["x"], r["seed"]) == (2.0, 1)]) == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    with open(log, "a") as file:
        file.write(json.dumps({"x": x, "seed": seed, "event": "finish", "pid": os.getpid()}) + "\n")
    return {"square": x * x + seed}


def test_a_worker_killed_mid_sweep_loses_nothing_and_duplicates_nothing(client, tmp_path):
    """12 points of 0.3 s on 2 workers; one worker process dies in the middle of a point. The
    point is retried on a live worker; every point is stored exactly once. A point is computed
    twice only if its first result was still held by the killed worker (finished there, not yet
    fetched by the client: Dask recomputes results lost with a worker — a window that a loaded
    machine widens)."""
    log = tmp_path / "log.jsonl"
    dataset = sweep(functools.partial(suicidal_square, log=str(log)), {"x": [1, 2, 3]}, seeds=4,
                    client=client, out=tmp_path / "out")
    events = recorded(log)
    starts = [(r["x"], r["seed"]) for r in events if r["event"] == "start"]
    finishes = sorted((r["x"], r["seed"]) for r in events if r["event"] == "finish")
    assert starts.count((2.0, 1)) == 2                           # killed once, retried once
    killed, retry = [r["pid"] for r in events if r["event"] == "start" and (r["x"], r["seed"]) == (2.0, 1)]
    assert retry != killed                                       # on another worker process
    assert sorted(set(finishes)) == sorted((x, s) for x in (1.0, 2.0, 3.0) for s in range(4))
    repeated = {point for point in finishes if finishes.count(point) > 1}
    first_finish = {}
    for r in events:
        if r["event"] == "finish":
            first_finish.setdefault((r["x"], r["seed"]), r["pid"])
    assert all(first_finish[point] == killed and finishes.count(point) == 2 for point in repeated)
    assert bool(dataset["done"].all())
    np.testing.assert_array_equal(dataset["square"].values, [[1, 2, 3, 4], [4, 5, 6, 7], [9, 10, 11, 12]])
    stored = xr.open_dataset(tmp_path / "out" / RESULTS_FILE, engine="scipy").load()
    assert bool(stored["done"].all())


def test_grid_parsing_and_bad_input():
    assert parse_grid("gain=0.25,0.5,1 noise=0.5") == {"gain": [0.25, 0.5, 1.0], "noise": [0.5]}
    assert parse_grid("") == {}
    for text, message in (("gain", "name=v1,v2"), ("gain=a,b", "must be numbers"),
                          ("gain=1 gain=2", "given twice")):
        with pytest.raises(ValueError, match=message):
            parse_grid(text)
    with pytest.raises(ValueError, match=r"no sweepable parameter 'tau'; choose from \['gain', 'noise', 'tau_error'\]"):
        sweep("attention", {"tau": [1]}, client="serial")
    with pytest.raises(ValueError, match="does not take the keyword x"):
        sweep(lambda seed: {}, {"x": [1]}, client="serial")
    with pytest.raises(ValueError, match="'seed' is a dimension of its own"):
        sweep("attention", {"seed": [1]}, client="serial")


def test_without_the_sweep_extra_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "xarray", None)
    with pytest.raises(ImportError, match=r"pip install 'predictive-circuits\[sweep\]'"):
        sweep("attention", {"gain": [1]}, client="serial")


def test_serial_client_and_inferred_outputs(tmp_path):
    """client="serial" runs a plain loop here; undeclared outputs are every numeric entry."""
    dataset = sweep(lambda seed, x: {"y": x + seed, "v": np.arange(3) * x, "label": "text"},
                    {"x": [1, 2]}, seeds=2, client="serial", out=tmp_path)
    assert set(dataset.data_vars) >= {"y", "v"} and "label" not in dataset
    assert dataset["v"].dims == ("x", "seed", "v_0")
    np.testing.assert_array_equal(dataset["y"].values, [[1, 2], [2, 3]])
    assert dataset["worker"].values[0, 0] == f"pid {os.getpid()}"


def test_pcsim_sweep_writes_results_and_the_study_figure(tmp_path, cache_root, capsys):
    out = tmp_path / "study"
    code = main(["sweep", "attention", "--grid", "gain=0.5,2 noise=0.5", "--seeds", "2", "--duration", "200",
                 "--workers", "2", "--out", str(out), "--cache", str(cache_root), "--no-progress"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "4 of 4 points done" in printed
    dataset = xr.open_dataset(out / RESULTS_FILE, engine="scipy").load()
    assert dataset.attrs["command"].startswith("pcsim sweep attention --grid")
    assert dataset.attrs["brian2_version"] and dataset.attrs["predictive_circuits_version"]
    assert dataset["gain"].attrs["units"] == "1" and "precision gain" in dataset["gain"].attrs["description"]
    assert (out / "attention_sweep.png").stat().st_size > 10_000


def test_pcsim_sweep_failures_are_one_line(tmp_path, capsys):
    for argv, message in (
            (["sweep", "attention", "--grid", "gain=x"], "pcsim: --grid: the values of 'gain' must be numbers"),
            (["sweep", "attention", "--grid", "tau=1"], "pcsim: 'attention' has no sweepable parameter 'tau'"),
            (["sweep", "nope", "--grid", "gain=1"], "pcsim: unknown simulation 'nope'"),
            (["sweep", "attention", "--grid", "gain=1", "--seeds", "0"], "pcsim: --seeds and --workers")):
        assert main([*argv, "--out", str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(message) and err.count("\n") == 1, err


def test_every_canned_simulation_declares_its_sweep():
    """Outputs are named, with dims and units; every parameter is a keyword-only argument of
    ``simulate`` whose default is the declared one (``simulate(duration, seed)`` unchanged)."""
    for name, module in SIMULATIONS.items():
        assert module.OUTPUTS and all(o.units for o in module.OUTPUTS), name
        keywords = inspect.signature(module.simulate).parameters
        assert list(keywords)[:2] == ["duration", "seed"], name
        for parameter in module.PARAMETERS:
            keyword = keywords[parameter.name]
            assert keyword.kind is keyword.KEYWORD_ONLY, (name, parameter.name)
            assert keyword.default == parameter.value(parameter.default), (name, parameter.name)


def test_sweeping_bogacz_precision_weighting_reaches_the_most_likely_size():
    """Bogacz exercise 3 as a sweep: for each u and Σ_u the circuit settles on φ* = argmax p(φ | u),
    the real root of Σ_u(v_p − φ) + 2Σ_p φ(u − φ²) = 0 of highest density (1e-5, as the exercise
    test; 60 τ). φ* for u = 2, Σ_u = 1 is Bogacz's 1.567468."""
    dataset = sweep("bogacz-perception", {"observation": [2.0, 4.0], "sensory_variance": [0.1, 1.0]},
                    client="serial")
    assert bool(dataset["done"].all())
    np.testing.assert_allclose(dataset["phi"], dataset["phi_star"], rtol=0, atol=1e-5)
    assert abs(float(dataset["phi_star"].sel(observation=2.0, sensory_variance=1.0, seed=0)) - 1.567468) < 5e-7
    # precision weighting: the more precise the observation, the closer g(φ*) = φ*² comes to u
    star = dataset["phi_star"].isel(seed=0)
    mismatch = np.abs(star ** 2 - star["observation"])
    assert bool((mismatch.sel(sensory_variance=0.1) < mismatch.sel(sensory_variance=1.0)).all())


DRIVER = """
import json, sys, time
import circuits.sweeps
from circuits import sweep

write = circuits.sweeps.Results.save
def slow_write(self, path):             # writing results.nc now costs more than 1/10 of a point:
    write(self, path)                   # it is rewritten every ~3 s, the points in between are
    time.sleep(0.3)                     # only in the journal
circuits.sweeps.Results.save = slow_write

def slow_square(seed, x):
    with open(sys.argv[2], "a") as file:
        file.write(json.dumps({"x": x, "seed": seed}) + "\\n")
    time.sleep(0.25)
    return {"square": x * x + seed}

sweep(slow_square, {"x": [1, 2, 3, 4, 5, 6, 7, 8]}, seeds=2, client="serial", out=sys.argv[1])
"""


def slow_square(seed, x, *, log):
    with open(log, "a") as file:
        file.write(json.dumps({"x": x, "seed": seed}) + "\n")
    return {"square": x * x + seed}


def test_a_killed_sweep_keeps_every_finished_point_and_resumes_the_rest(tmp_path):
    """The driver process is killed (SIGKILL) mid-sweep, while writing results.nc is slow enough
    to be throttled: the file and its journal hold every point finished before the kill (lost: at
    most the one in flight); the resumed sweep computes exactly the points not stored."""
    out, log = tmp_path / "out", tmp_path / "log.jsonl"
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, str(out), str(log)])
    deadline = time.monotonic() + 120
    while len(recorded(log)) < 7 and time.monotonic() < deadline and driver.poll() is None:
        time.sleep(0.05)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    started = [(r["x"], r["seed"]) for r in recorded(log)]
    on_disk = xr.open_dataset(out / RESULTS_FILE, engine="scipy").load()
    assert (out / (RESULTS_FILE + ".journal")).exists() and int(on_disk["done"].sum()) < len(started) - 1
    stored = load(out)                  # the file and its journal
    done = {(float(x), int(seed)) for x in stored.x.values for seed in stored.seed.values
            if stored["done"].sel(x=x, seed=seed)}
    assert len(set(started) - done) <= 1 and done <= set(started), (started, done)
    for x, seed in done:
        assert float(stored["square"].sel(x=x, seed=seed)) == x * x + seed
    os.remove(log)
    resumed = sweep(functools.partial(slow_square, log=log), {"x": [1, 2, 3, 4, 5, 6, 7, 8]}, seeds=2,
                    client="serial", out=out)
    assert sorted((r["x"], r["seed"]) for r in recorded(log)) == sorted(
        (float(x), s) for x in range(1, 9) for s in (0, 1) if (float(x), s) not in done)
    assert bool(resumed["done"].all())


def test_a_sweep_records_the_versions_of_circuits_versions_and_dask_and_xarray():
    """One home for versions: the dataset's attributes are circuits.versions() (as
    ``<package>_version``) plus Dask's and xarray's."""
    import dask
    from circuits import versions
    from circuits.sweeps import versions as sweep_versions
    recorded = sweep_versions()
    assert {key: recorded[f"{key.replace('-', '_')}_version"] for key in versions()} == versions()
    assert recorded["dask_version"] == dask.__version__ and recorded["xarray_version"] == xr.__version__


def test_a_duration_the_simulation_cannot_use_is_refused_before_any_point_runs(tmp_path):
    """The check of ``pcsim run`` (circuits.simulations.duration), once, not as a failure of every point."""
    with pytest.raises(ValueError, match="duration = 200 ms is too short for bogacz-variance"):
        sweep("bogacz-variance", {"learning_rate": [0.01, 0.02]}, client="serial", duration=200 * ms, out=tmp_path)
    assert not (tmp_path / RESULTS_FILE).exists()


@pytest.mark.parametrize("seeds, error", [(1.5, TypeError), ("a", TypeError), ([0.5], TypeError), (np.nan, TypeError),
                                          (0, ValueError), (-1, ValueError), ([1, 1], ValueError), ([], ValueError)])
def test_bad_seeds_are_refused_naming_seeds(seeds, error):
    """(circuits.sweep's grid is in tests/test_properties.py's random invalid inputs.)"""
    with pytest.raises(error, match="seeds"):
        sweep(lambda seed, x: {"y": x}, {"x": [1.0]}, seeds=seeds, client="serial")
