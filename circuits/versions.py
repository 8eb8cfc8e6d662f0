"""The package's version (one home: ``version`` in setup.cfg, read from the installed metadata)
and the versions of what a result depends on."""
from __future__ import annotations

import platform
from importlib import metadata

__all__ = ["__version__", "versions"]

DISTRIBUTION = "predictive-circuits"

try:
    __version__ = metadata.version(DISTRIBUTION)
except metadata.PackageNotFoundError:   # imported from a source tree that was never installed
    __version__ = "0+unknown"


def versions() -> dict:
    """{"predictive-circuits", "brian2", "numpy", "python": version}: written into every
    ``summary.json`` and printed by ``pcsim --version``."""
    import brian2
    import numpy
    return {DISTRIBUTION: __version__, "brian2": brian2.__version__, "numpy": numpy.__version__,
            "python": platform.python_version()}
