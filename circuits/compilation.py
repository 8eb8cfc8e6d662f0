"""Where Brian2 keeps the compiled code of circuits, and how to move it.

The first run of a circuit structure compiles its Cython code objects (10–25 s on 2 cores);
Brian2 caches them on disk, keyed by the generated code, so a new process that builds the same
structure loads them instead (a warm ``pcsim run bogacz-perception`` takes ~3 s, most of it
importing Brian2). The cache is Brian2's, in ``~/.cython/brian_extensions`` by default.

Configure it with, in order of precedence:

- ``circuits.set_cache_directory(path)`` (before the first run);
- the environment variable ``PREDICTIVE_CIRCUITS_CACHE`` (read when ``circuits`` is imported);
- ``pcsim run NAME --cache DIR``;
- Brian2's own preference ``codegen.runtime.cython.cache_dir``.

The cache key includes the compiler's include paths, so a new virtual environment compiles
everything once more.
"""
from __future__ import annotations

import os
from pathlib import Path

from brian2 import prefs

__all__ = ["ENVIRONMENT_VARIABLE", "cache_directory", "set_cache_directory"]

#: Environment variable naming the cache directory.
ENVIRONMENT_VARIABLE = "PREDICTIVE_CIRCUITS_CACHE"


def cache_directory() -> Path:
    """The directory Brian2 compiles into and loads from."""
    from brian2.codegen.runtime.cython_rt.extension_manager import get_cython_cache_dir
    return Path(get_cython_cache_dir())


def set_cache_directory(path) -> Path:
    """Compile into and load from ``path`` (created if needed) from now on; returns it."""
    path = Path(path).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    prefs.codegen.runtime.cython.cache_dir = str(path)
    return path


def apply_environment():
    """Honour ``PREDICTIVE_CIRCUITS_CACHE`` (called once, at import)."""
    if os.environ.get(ENVIRONMENT_VARIABLE):
        set_cache_directory(os.environ[ENVIRONMENT_VARIABLE])
