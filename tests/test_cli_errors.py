"""Issue 11: every pcsim failure is one line, ``pcsim: …``, saying what to do — checked before
the run where possible, never a traceback or Brian2's "unexpected error" banner; real bugs stay
visible as "internal error" and ``--debug`` / ``PCSIM_DEBUG=1`` show their traceback."""
from __future__ import annotations

import configparser
import importlib.metadata
import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from brian2 import ms

import circuits
from circuits import Circuit
from circuits.cli import main
from circuits.simulations import SIMULATIONS

ROOT = Path(__file__).resolve().parents[1]


def _one_line(capfd) -> str:
    """stderr of the command, which must be exactly one line starting with 'pcsim: '."""
    err = capfd.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("pcsim: "), err
    assert "Traceback" not in err and "Brian 2 encountered" not in err
    return lines[0]


@pytest.fixture
def never_run(monkeypatch):
    """Make every simulation fail the test if it is started: these errors come before the run."""
    for module in SIMULATIONS.values():
        monkeypatch.setattr(module, "simulate", lambda **kwargs: pytest.fail("the simulation was started"))


@pytest.mark.parametrize("argv, words", [
    (["run", "no-such-sim"], ["unknown simulation", "choose one of", "pcsim list"]),
    (["run", "bogacz-perception", "--duration", "-3"], ["--duration", "positive"]),
    (["run", "bogacz-perception", "--duration", "nan"], ["--duration", "finite"]),
    (["run", "bogacz-perception", "--duration", "inf"], ["--duration", "finite"]),
    (["run", "bogacz-perception", "--duration", "1e9x"], ["--duration", "not a number of milliseconds"]),
    (["run", "bogacz-perception", "--duration", "0.05"], ["--duration = 0.05 ms", "at least 0.1 ms"]),
    (["run", "bogacz-perception", "--duration", "100.05"], ["multiple of 0.1 ms", "100 or 100.1"]),
    (["run", "bogacz-variance", "--duration", "4100"], ["multiple of 200 ms", "4000 or 4200"]),
    (["run", "bogacz-variance", "--duration", "200"], ["too short", "at least 400 ms"]),
    (["run", "amortization", "--duration", "300"], ["at least 500 ms"]),
    (["run", "generalized-tracking", "--duration", "5000"], ["at least 6000 ms"]),
    (["run", "bogacz-perception", "--seed", "x"], ["--seed", "invalid int value"]),
    (["run"], ["NAME"]),
    (["run", "bogacz-perception", "--frobnicate"], ["unrecognized arguments: --frobnicate"]),
    (["sweep-all"], ["invalid choice"]),
    ([], ["COMMAND"]),
])
def test_bad_command_lines_are_one_line_before_the_run(argv, words, never_run, capfd, tmp_path):
    assert main([*argv, "--out", str(tmp_path)] if argv[:1] == ["run"] and len(argv) > 1 else argv) == 2
    line = _one_line(capfd)
    for word in words:
        assert word in line, line


def test_out_naming_an_existing_file_is_refused_before_the_run(never_run, capfd, tmp_path):
    existing = tmp_path / "results.txt"
    existing.write_text("keep me")
    assert main(["run", "bogacz-perception", "--out", str(existing)]) == 2
    assert "is an existing file; name a directory" in _one_line(capfd)
    assert existing.read_text() == "keep me"


def test_a_missing_optional_package_is_named_with_the_pip_command(never_run, monkeypatch, capfd, tmp_path):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "skimage" else find_spec(name, *a))
    assert main(["run", "whitening", "--out", str(tmp_path)]) == 2
    line = _one_line(capfd)
    assert "whitening needs scikit-image" in line and "pip install scikit-image" in line, line


def test_missing_scikit_image_in_a_new_process_prints_one_line(tmp_path):
    """What a new user saw: ``pcsim run whitening`` without scikit-image printed Brian2's
    banner and a traceback. In a fresh interpreter where scikit-image cannot be imported:"""
    code = ("import sys; sys.modules['skimage'] = None; from circuits.cli import main; "
            f"sys.exit(main(['run', 'whitening', '--out', {str(tmp_path)!r}]))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "pcsim: whitening needs scikit-image, which is not installed: pip install scikit-image "
        "(or pip install -e '.[images]' in a clone)"], result.stderr
    assert result.stdout == ""


def _diverging_simulation(**kwargs):
    c = Circuit(check_interval=30 * ms)
    c.sensory("x", 2)
    c.column("z", 1)
    c.connect("z", "x", [[1e4], [1e4]])
    c.run(30 * ms, stimulus=[1.0, 1.0])


def _numpy_bug(**kwargs):
    return np.ones(2) + np.ones(3)


def _missing_module(**kwargs):
    raise ModuleNotFoundError("No module named 'sklearn'", name="sklearn")


def _disk_full(**kwargs):
    raise OSError(28, "No space left on device", "/results/summary.json")


def _interrupted(**kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize("simulate, status, words", [
    (_diverging_simulation, 1, ["pcsim: simulation diverged", "column 'x'", "smaller dt"]),
    (_numpy_bug, 1, ["internal error (ValueError: operands could not be broadcast", "--debug", "PCSIM_DEBUG=1",
                     "report it"]),
    (_missing_module, 1, ["No module named 'sklearn'", "pip install scikit-learn"]),
    (_disk_full, 1, ["/results/summary.json", "No space left on device"]),
    (_interrupted, 130, ["pcsim: interrupted"]),
])
def test_failures_during_the_run_are_one_line(simulate, status, words, monkeypatch, capfd, tmp_path):
    monkeypatch.setattr(SIMULATIONS["bogacz-perception"], "simulate", simulate)
    assert main(["run", "bogacz-perception", "--out", str(tmp_path)]) == status
    line = _one_line(capfd)
    for word in words:
        assert word in line, line


@pytest.mark.parametrize("how", ["--debug", "PCSIM_DEBUG"])
def test_debug_shows_the_traceback_of_a_bug(how, monkeypatch, capfd, tmp_path):
    monkeypatch.setattr(SIMULATIONS["bogacz-perception"], "simulate", _numpy_bug)
    argv = ["run", "bogacz-perception", "--out", str(tmp_path)]
    if how == "--debug":
        argv.insert(0, "--debug")
    else:
        monkeypatch.setenv("PCSIM_DEBUG", "1")
    assert main(argv) == 1
    err = capfd.readouterr().err
    assert "Traceback (most recent call last)" in err and "_numpy_bug" in err
    assert err.splitlines()[-1].startswith("pcsim: internal error (ValueError")


def test_diverged_run_of_the_console_script_prints_only_the_error(tmp_path):
    """The whole command, in a new process: a SimulationDiverged is the only output on stderr
    (no Brian2 warnings, no NumPy warnings, no traceback)."""
    code = ("import sys, circuits.simulations as s; from tests.test_cli_errors import _diverging_simulation; "
            "s.SIMULATIONS['bogacz-perception'].simulate = _diverging_simulation; "
            f"from circuits.cli import main; sys.exit(main(['run', 'bogacz-perception', '--out', {str(tmp_path)!r}]))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pcsim: simulation diverged"), result.stderr


def test_version_has_one_home():
    """``circuits.__version__`` is the installed metadata, which comes from setup.cfg; ``pcsim
    --version`` prints it with Brian2's, NumPy's and Python's."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    assert circuits.__version__ == config["metadata"]["version"] == importlib.metadata.version("predictive-circuits")
    assert config["metadata"]["url"] and config["metadata"]["author"] and config["metadata"]["license"] == "MIT"
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    result = subprocess.run([str(Path(sys.executable).parent / "pcsim"), "--version"], capture_output=True,
                            text=True, check=True)
    import brian2
    for part in (f"predictive-circuits {circuits.__version__}", f"brian2 {brian2.__version__}",
                 f"numpy {np.__version__}", "python "):
        assert part in result.stdout, result.stdout


def test_every_simulation_checks_its_duration_itself():
    """simulate() refuses what pcsim refuses (the same check, circuits.simulations.duration)."""
    for name, module in SIMULATIONS.items():
        minimum = getattr(module, "MINIMUM_DURATION", None)
        if minimum is not None:
            with pytest.raises(ValueError, match="too short"):
                module.simulate(duration=minimum * 0.5, seed=0)


# -- pcsim sweep: the same one-line errors, checked before any point runs --------------------------
@pytest.fixture
def never_swept(monkeypatch):
    """Make the sweep fail the test if it is started: these errors come before it."""
    monkeypatch.setattr(circuits.sweeps, "sweep", lambda *a, **k: pytest.fail("the sweep was started"))


@pytest.mark.parametrize("argv, words", [
    (["sweep", "bogacz-variance", "--duration", "200"], ["--duration = 200 ms is too short for bogacz-variance",
                                                         "at least 400 ms"]),
    (["sweep", "attention", "--duration", "0.3"], ["--duration = 0.3 ms must be a multiple of 0.2 ms", "0.2 or 0.4"]),
    (["sweep", "attention", "--duration", "-1"], ["--duration", "positive"]),
    (["sweep", "attention", "--workers", "0"], ["--seeds and --workers must be at least 1", "--workers 0"]),
    (["sweep", "attention", "--workers", "2", "--scheduler", "tcp://127.0.0.1:9"], ["not allowed with"]),
    (["sweep", "nope"], ["unknown simulation 'nope'", "pcsim list"]),
])
def test_bad_sweep_command_lines_are_one_line_before_the_sweep(argv, words, never_swept, capfd, tmp_path):
    assert main([*argv, "--out", str(tmp_path)]) == 2
    line = _one_line(capfd)
    for word in words:
        assert word in line, line


def test_sweep_without_the_sweep_extra_names_the_pip_command(never_swept, monkeypatch, capfd, tmp_path):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "distributed" else find_spec(name, *a))
    assert main(["sweep", "attention", "--out", str(tmp_path)]) == 2
    assert _one_line(capfd) == ("pcsim: pcsim sweep needs distributed, which is not installed: "
                                "pip install 'predictive-circuits[sweep]'")


def test_an_unreachable_scheduler_is_one_line_before_the_sweep(never_swept, capfd, tmp_path):
    import dask
    import distributed  # noqa: F401 -- first: leaving dask.config.set would drop defaults it loads inside
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        assert main(["sweep", "attention", "--scheduler", "tcp://127.0.0.1:9", "--out", str(tmp_path)]) == 2
    line = _one_line(capfd)
    assert "--scheduler tcp://127.0.0.1:9: cannot connect" in line and "start the scheduler" in line, line


def test_an_out_holding_another_sweep_is_a_usage_error(tmp_path, capfd):
    """sweep() refuses, before any point runs, to extend a stored sweep of another duration."""
    assert main(["sweep", "attention", "--duration", "0.2", "--out", str(tmp_path), "--no-progress",
                 "--workers", "1"]) == 0
    capfd.readouterr()
    assert main(["sweep", "attention", "--duration", "0.4", "--out", str(tmp_path)]) == 2
    line = _one_line(capfd)
    assert "holds a sweep of duration_ms = 0.2, not 0.4: use another out directory" in line, line


def test_an_interrupted_sweep_says_where_its_points_are(monkeypatch, capfd, tmp_path):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(circuits.sweeps, "sweep", interrupted)
    assert main(["sweep", "attention", "--out", str(tmp_path)]) == 130
    assert _one_line(capfd) == (f"pcsim: interrupted; the points done are in {tmp_path / 'results.nc'} "
                                f"(rerun the same command to compute the others)")


def test_brian2_cache_size_notice_does_not_precede_the_one_line(tmp_path):
    """With Brian2's Cython cache over its size limit (prefs.codegen.max_cache_dir_size), importing
    Brian2 logs two INFO lines ("Cache size for target 'cython' …"); pcsim used to print them
    before its one-line error. A 2 MB cache and a 1 MB limit (a ``brian_preferences`` file in
    the working directory) reproduce it: plain Brian2 prints the notice, pcsim only its line."""
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "filler.so").write_bytes(b"\0" * (2 << 20))
    (tmp_path / "brian_preferences").write_text(f"codegen.max_cache_dir_size = 1\n"
                                                f"codegen.runtime.cython.cache_dir = {str(cache)!r}\n")
    plain = subprocess.run([sys.executable, "-c", "import brian2"], capture_output=True, text=True, cwd=tmp_path)
    assert "Cache size for target 'cython'" in plain.stderr, plain.stderr   # the notice is there to drop
    code = "import sys; from circuits.cli import main; sys.exit(main(['run', 'no-such-sim']))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pcsim: unknown simulation"), result.stderr
