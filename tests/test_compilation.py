"""Where Brian2's compiled code goes (issue 6: the cache location is documented and configurable)."""
import os
import subprocess
import sys
from pathlib import Path

from brian2 import prefs

from circuits import cache_directory, set_cache_directory

ROOT = Path(__file__).resolve().parents[1]


def test_set_cache_directory_moves_brian2s_cache(tmp_path):
    previous = prefs.codegen.runtime.cython.cache_dir
    try:
        target = set_cache_directory(tmp_path / "cache")
        assert target.is_dir() and cache_directory() == target
        assert prefs.codegen.runtime.cython.cache_dir == str(target)
    finally:
        prefs.codegen.runtime.cython.cache_dir = previous


def test_environment_variable_is_read_at_import(tmp_path):
    environment = dict(os.environ, PREDICTIVE_CIRCUITS_CACHE=str(tmp_path / "from-env"))
    output = subprocess.run([sys.executable, "-c", "import circuits; print(circuits.cache_directory())"],
                            cwd=ROOT, env=environment, capture_output=True, text=True, check=True).stdout
    assert Path(output.strip().splitlines()[-1]) == (tmp_path / "from-env").resolve()


def test_pcsim_cache_option(tmp_path):
    """``pcsim run --cache DIR`` compiles into DIR (a new process, so nothing is already loaded
    in memory; a short run)."""
    subprocess.run([sys.executable, "-m", "circuits.cli", "run", "bogacz-perception", "--duration", "20",
                    "--out", str(tmp_path / "out"), "--cache", str(tmp_path / "cache")],
                   cwd=ROOT, check=True, capture_output=True)
    assert any((tmp_path / "cache").iterdir())   # compiled modules landed there
