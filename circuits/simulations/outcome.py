"""What a canned simulation returns, and how it is written to disk."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..versions import versions
from .style import save_figures


class Outcome:
    """Result of a canned simulation.

    Attributes
    ----------
    summary : dict
        JSON-serialisable parameters and final numbers (written to ``summary.json``; a sweep
        stores the entries a simulation declares in ``OUTPUTS``), with the versions of
        predictive-circuits, Brian2, NumPy and Python added under ``"versions"``.
    table : list of tuple
        Rows (quantity, value, expected) printed by ``pcsim run``.
    figures : dict of str to matplotlib Figure
        File stem → figure (written as PNG). May be given as a function returning that dict:
        it is then drawn when first asked for (a sweep never asks).
    """

    def __init__(self, summary: dict, table: list, figures=None):
        self.summary, self.table = summary, table
        self.summary.setdefault("versions", versions())
        self._figures = {} if figures is None else figures

    @property
    def figures(self) -> dict:
        if callable(self._figures):
            self._figures = self._figures()
        return self._figures

    def write(self, directory, formats=("png",)) -> list[Path]:
        """Write ``summary.json`` and every figure into ``directory``; returns the paths."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        summary = directory / "summary.json"
        summary.write_text(json.dumps(_jsonable(self.summary), indent=2) + "\n")
        return [summary, *save_figures(self.figures, directory, formats)]

    def format_table(self) -> str:
        rows = [("quantity", "value", "expected")] + [tuple(_fmt(v) for v in row) for row in self.table]
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.7g}"
    return str(value)


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value
