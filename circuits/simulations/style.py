"""One figure style for every canned simulation, the figures script and the benchmarks.

Journal-ready defaults: sizes in inches that fit a journal page (``WIDTH``: one column 3.5",
two columns 7.2"), 8–9 pt text, the colour-blind-safe palette of Okabe & Ito (2008) as the
colour cycle (``PALETTE``; ``COLORS`` names the roles that recur across figures), no top or
right spines, frameless legends, and helpers that put a unit on every axis label.

Use it in two steps: draw inside :func:`styled` (a decorator; matplotlib reads most settings
when an artist is created, so the whole drawing function must run in the style), and make the
figure with :func:`figure`::

    from . import style

    @style.styled
    def _figure(t, mu):
        figure, (left, right) = style.figure(columns=2)
        left.plot(t, mu)
        style.label(left, x=("time", "ms"), y=("estimate μ", "a.u."))
        style.panel_letters(figure)
        return figure

Rates, estimates and errors in these circuits are dimensionless (arbitrary units, "a.u.");
free energies are in nats.
"""
from __future__ import annotations

import functools
from pathlib import Path

import matplotlib as mpl
import numpy as np
from cycler import cycler
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.transforms import ScaledTranslation

__all__ = ["COLORS", "DIVERGING", "DPI", "GREY", "PALETTE", "RC", "WIDTH", "axis_label", "figure", "label",
           "headroom", "image", "legend_entry", "mosaic", "panel_letters", "save", "save_figures", "styled",
           "tolerance_line"]

#: Okabe & Ito (2008), "Color universal design": distinguishable with every common colour-vision
#: deficiency; in the order of the colour cycle.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")

#: Colours of roles that recur across figures.
COLORS = {"circuit": PALETTE[0], "reference": "#000000", "exact": "#000000", "prediction": PALETTE[1],
          "iterative": PALETTE[0], "amortized": PALETTE[4], "hybrid": PALETTE[1], "learned update": PALETTE[2]}

#: Neutral grey for data in the background (single items, raw observations, guides).
GREY = "0.6"

#: Colour map for signed quantities centred on 0 (weights, differences): red–blue, readable with
#: red–green colour-vision deficiencies; use symmetric limits.
DIVERGING = "RdBu_r"

#: Figure widths (inches): one journal column, one and a half, two columns (full page width).
WIDTH = {"single": 3.5, "wide": 5.2, "double": 7.2}

#: Resolution of the PNG files (the PDFs are vector graphics).
DPI = 200

#: The rcParams of the style.
RC = {
    "axes.prop_cycle": cycler(color=PALETTE),
    "axes.spines.top": False, "axes.spines.right": False,
    "axes.titlesize": 9, "axes.titleweight": "normal", "axes.labelsize": 8.5, "axes.linewidth": 0.8,
    "font.size": 8.5, "xtick.labelsize": 8, "ytick.labelsize": 8,
    "xtick.major.width": 0.8, "ytick.major.width": 0.8, "xtick.major.size": 3, "ytick.major.size": 3,
    "legend.fontsize": 7.5, "legend.frameon": False, "legend.handlelength": 1.8, "legend.borderaxespad": 0.3,
    "lines.linewidth": 1.3, "lines.markersize": 4,
    "image.cmap": "cividis", "figure.dpi": 100,
    "pdf.fonttype": 42, "ps.fonttype": 42,   # TrueType: text stays editable in the PDF
    "mathtext.default": "regular",
}


def styled(function):
    """Decorator: run a figure-drawing function with the style's rcParams."""
    @functools.wraps(function)
    def draw(*args, **kwargs):
        with mpl.rc_context(RC):
            return function(*args, **kwargs)
    return draw


def figure(rows: int = 1, columns: int = 1, width: str | float = "double", height: float | None = None,
           **subplots):
    """A new ``Figure`` (constrained layout, not attached to pyplot) and its axes: one Axes for
    1 × 1, else an array as ``Figure.subplots`` returns it. ``width``: a key of :data:`WIDTH`
    or inches; ``height`` (inches) defaults to 2.4" per row."""
    inches = WIDTH[width] if isinstance(width, str) else float(width)
    new = Figure(figsize=(inches, 2.4 * rows if height is None else height), layout="constrained")
    return new, new.subplots(rows, columns, **subplots)


def mosaic(pictures, columns: int, shape: tuple[int, int], gap: int = 1) -> np.ndarray:
    """Pictures (n, h·w or h × w) as one (rows·(h + gap) − gap) × (columns·(w + gap) − gap) image,
    row by row, ``columns`` to a row, separated by ``gap`` pixels of NaN (drawn as the background)."""
    pictures = np.asarray(pictures, dtype=float)
    height, width = shape
    rows = -(-len(pictures) // columns)
    tiled = np.full((rows * (height + gap) - gap, columns * (width + gap) - gap), np.nan)
    for k, picture in enumerate(pictures):
        row, column = divmod(k, columns)
        tiled[row * (height + gap):row * (height + gap) + height,
              column * (width + gap):column * (width + gap) + width] = np.reshape(picture, shape)
    return tiled


def image(ax, picture: np.ndarray, row_labels=(), gap: int = 1, **imshow):
    """Show ``picture`` (e.g. a :func:`mosaic`) as an image: square pixels, no spines, no ticks;
    ``row_labels`` name the rows of a mosaic whose rows are ``gap`` pixels apart, on the left.
    Returns the ``AxesImage`` (for a colour bar)."""
    shown = ax.imshow(picture, **{"interpolation": "nearest", **imshow})
    ax.set_xticks([])
    ax.set_yticks([])
    ax.spines[:].set_visible(False)
    pitch = (picture.shape[0] + gap) / max(len(row_labels), 1)   # a row of pictures and the gap below it
    for row, text in enumerate(row_labels):   # text, not tick labels: the rows have no numeric axis
        ax.annotate(text, (0, (row + 0.5) * pitch - 0.5 - gap / 2), xycoords=("axes fraction", "data"),
                    xytext=(-4, 0), textcoords="offset points", ha="right", va="center", fontsize=7)
    return shown


def axis_label(quantity: str, unit: str | None = None) -> str:
    """``"time (ms)"``; ``unit=None`` for counts and other pure numbers (``"trial"``)."""
    return quantity if unit is None else f"{quantity} ({unit})"


def label(ax, x: tuple | str | None = None, y: tuple | str | None = None, title: str | None = None):
    """Set axis labels from (quantity, unit) pairs (or plain strings) and the title."""
    for setter, value in ((ax.set_xlabel, x), (ax.set_ylabel, y)):
        if value is not None:
            setter(axis_label(*value) if isinstance(value, tuple) else value)
    if title is not None:
        ax.set_title(title)


def panel_letters(figure: Figure, axes=None):
    """Label the panels a, b, c, … (bold, left of each axes' top-left corner, clear of the
    y-axis label and of centred titles) as journals ask."""
    axes = figure.axes if axes is None else list(axes)
    for letter, ax in zip("abcdefghijklmnopqrstuvwxyz", axes):
        offset = ScaledTranslation(-0.42, 0.06, figure.dpi_scale_trans)   # inches
        ax.text(0, 1, letter, transform=ax.transAxes + offset, fontsize=10, fontweight="bold",
                ha="left", va="bottom")


def headroom(ax, fraction: float = 0.35):
    """Raise the top of a linear y axis by ``fraction`` of its range, so that a legend in the
    upper corners sits above the data instead of on it."""
    bottom, top = ax.get_ylim()
    ax.set_ylim(bottom, top + fraction * (top - bottom))


def legend_entry(**line) -> Line2D:
    """A legend handle drawn like a line with these properties (color, ls, lw, marker, …), for
    entries that stand for several artists."""
    return Line2D([], [], **line)


def tolerance_line(ax, value: float, text: str, horizontal: bool = True, at: float = 0.0):
    """A labelled dotted guide line (a threshold or tolerance) at ``value``; the label sits at
    the right end of a horizontal line, or at height ``at`` (axes fraction) of a vertical one."""
    if horizontal:
        ax.axhline(value, color=GREY, ls=":", lw=0.9)
        ax.annotate(text, (1.0, value), xycoords=("axes fraction", "data"), xytext=(-2, 2),
                    textcoords="offset points", ha="right", va="bottom", fontsize=7, color="0.35")
    else:   # the text at the bottom, clear of legends in the upper corners
        ax.axvline(value, color=GREY, ls=":", lw=0.9)
        ax.annotate(text, (value, at), xycoords=("data", "axes fraction"), xytext=(2, 2),
                    textcoords="offset points", ha="left", va="bottom", fontsize=7, color="0.35")


def save(figure: Figure, path):
    """Write ``figure`` to ``path`` (PNG at :data:`DPI`, PDF with TrueType text and no creation
    date, so that regenerated files only change when the figure does)."""
    path = str(path)
    metadata = {"CreationDate": None} if path.endswith(".pdf") else None
    with mpl.rc_context(RC):
        figure.savefig(path, dpi=DPI, bbox_inches="tight", metadata=metadata)


def save_figures(figures: dict, directory, formats=("png", "pdf")) -> list[Path]:
    """:func:`save` each figure of ``figures`` (file stem → Figure) into ``directory`` as
    ``<stem>.<format>``, once per format; returns the paths."""
    paths = []
    for stem, figure in figures.items():
        for fmt in formats:
            path = Path(directory) / f"{stem}.{fmt}"
            save(figure, path)
            paths.append(path)
    return paths
