"""The pcsim command: list, run (summary.json, PNG figures, table), help, bad names."""
import json
import subprocess
import sys
from pathlib import Path

from brian2 import ms

import circuits
from circuits import versions
from circuits.cli import main
from circuits.simulations import SIMULATIONS

PCSIM = Path(sys.executable).parent / "pcsim"   # the console script installed from setup.cfg


def test_list_names_every_simulation_with_its_duration_in_ms(capsys):
    """``pcsim list`` gives each default duration in the unit --duration takes, and what an
    optional package a simulation needs."""
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name, module in SIMULATIONS.items():
        line = next(line for line in out.splitlines() if line.startswith(name))
        assert f"(default --duration {float(module.DEFAULT_DURATION / ms):g} ms" in line, line
    assert "(default --duration 600 ms)" in out and "needs scikit-image" in out
    assert " s)" not in out and "200. s" not in out


def test_run_bogacz_perception_writes_summary_and_figures(tmp_path, capsys):
    assert main(["run", "bogacz-perception", "--out", str(tmp_path), "--seed", "4"]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["seed"] == 4 and summary["duration_ms"] == 600
    assert summary["versions"] == versions() and summary["versions"]["predictive-circuits"] == circuits.__version__
    assert abs(summary["phi"] - 1.567468) < 1e-5
    assert abs(summary["error_sensory"] - summary["error_sensory_expected"]) < 1e-4
    for stem in ("bogacz_fig2a_posterior", "bogacz_fig2b_gradient_ascent", "bogacz_fig3_network"):
        assert (tmp_path / f"{stem}.png").stat().st_size > 10_000
    assert "phi (circuit)" in capsys.readouterr().out


def test_run_linear_gaussian_reaches_the_exact_posterior(tmp_path):
    assert main(["run", "linear-gaussian", "--out", str(tmp_path), "--duration", "400", "--seed", "1"]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert max(summary["relative_error"].values()) < 1e-6
    assert abs(summary["free_energy_final"] - summary["free_energy_at_exact_posterior"]) < 1e-9
    assert (tmp_path / "linear_gaussian.png").exists()


def test_console_script_help():
    for args in (["--help"], ["run", "--help"]):
        result = subprocess.run([str(PCSIM), *args], capture_output=True, text=True, check=True)
        assert "--duration" in result.stdout or "list" in result.stdout
    result = subprocess.run([str(PCSIM), "run", "--help"], capture_output=True, text=True, check=True)
    for option in ("--out", "--duration", "--seed", *SIMULATIONS):
        assert option in result.stdout


def test_run_learning_simulations_briefly(tmp_path):
    """Short versions of the learning simulations (the full ones run in figures/ and CI's slow set)."""
    assert main(["run", "bogacz-variance", "--out", str(tmp_path / "v"), "--duration", "4000"]) == 0
    summary = json.loads((tmp_path / "v" / "summary.json").read_text())
    assert summary["trials"] == 20 and summary["true_variance"] == 2.0
    assert (tmp_path / "v" / "bogacz_variance.png").exists()
    assert main(["run", "learn-linear", "--out", str(tmp_path / "l"), "--duration", "10000"]) == 0
    summary = json.loads((tmp_path / "l" / "summary.json").read_text())
    assert summary["items"] == 200 and summary["angle_to_true_degrees"] < 30


def test_run_attention(tmp_path):
    assert main(["run", "attention", "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert abs(summary["estimate_attending_a"] - summary["expected_attending_a"]) < 1e-6
    assert abs(summary["estimate_attending_b"] - summary["expected_attending_b"]) < 1e-6
    assert (tmp_path / "attention.png").exists()


def test_run_whitening_briefly(tmp_path):
    """600 patches: the learned surround already whitens (flatness rises) and noise weakens it."""
    assert main(["run", "whitening", "--out", str(tmp_path), "--duration", "3000"]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["patches"] == 600
    assert summary["spectral_flatness_whitened"] > 5 * summary["spectral_flatness_image"]
    assert summary["nearest_weight"]["0.05"] > summary["nearest_weight"]["0.5"] > 0
    assert (tmp_path / "whitening.png").exists()
