"""Rao & Ballard (1999): hierarchical predictive coding of natural images, and end-stopping.

Images: the natural photographs scikit-image ships (:data:`circuits.datasets.NATURAL_IMAGES`),
in grey, filtered with a difference of Gaussians as in the paper's pre-processing (centre-
surround, like the retina and LGN): ``skimage.filters.difference_of_gaussians`` with
σ_centre = 1 px and σ_surround = 3 px, each image then scaled to unit variance. A training
item is a strip of 16 × 26 pixels seen by three level-1 modules through 16 × 16 patches offset
by 5 pixels, each weighted by a Gaussian window (σ = 4 px).

The circuit (all projections linear; variances σ² = 1 of the image, σ_td² = 1 of level 1):

- three sensory columns ``x1..x3`` (256 pixels each, Σ = σ² I);
- three level-1 columns ``r1..r3`` (32 units each, Σ = σ_td² I), each predicting its patch
  through W_k, with the paper's sparse prior ``prior="cauchy"`` (penalty α log(1 + r²), α = 1);
- one level-2 column ``h`` (128 units) predicting all three level-1 columns through U_k, whose
  prior is the Cauchy factor alone (``flat_prior=True, prior="cauchy"``, α = 0.5), as the
  paper's top level has only the sparse penalty.

Every W_k and U_k learns with the Hebbian rule and weight decay (ΔW = η (ε f(μ)ᵀ − λ W),
η = 0.15, λ = 0.01) at the end of each item (6 τ_μ; τ_μ = 10 ms, τ_ε = 2 ms, dt = 0.25 ms:
the estimate/error loop of a level-1 column is stable under forward Euler only while
λmax(WᵀW) < τ_μ/dt, and the learned W reach λmax ≈ 10–20); the strips are batched
(``Circuit(batch_size=100)``: one (B, n) @ Mᵀ product per coupling per step), 500 batches by
default. Figures as in the paper: the learned level-1 fields (columns of W) and level-2 fields
(W_k U_k summed over the three modules on the strip), and **end-stopping**: the level-1 error
neurons ε = (r − U h)/σ_td² of the middle module respond to horizontal bars of increasing
length centred on its receptive field, with the level-2 feedback and with level 2 removed
(ε = r/σ_td²). The unit shown is the one the longest bar drives most strongly without feedback.
The suppression of the longest bar, 1 − response(longest)/peak response, is strong with
feedback and absent without. The bars' ends are softened (an error-function ramp of 3 px):
the DoG's response to a hard bar end is itself end-inhibiting (~12 % for that unit).
"""
from __future__ import annotations

import numpy as np
from brian2 import ms
from matplotlib.figure import Figure

from .. import datasets
from ..circuit import Circuit
from ..sweeps import Output
from . import style
from .duration import check_duration
from .outcome import Outcome

NAME = "rao-ballard"
DESCRIPTION = ("Rao & Ballard 1999: three level-1 modules (16x16 patches offset by 5 px, 32 units) and a "
               "level-2 column (128 units) learn DoG-filtered natural images with Cauchy priors; "
               "learned fields and end-stopping with/without feedback; --duration sets the training "
               "batches (100 strips x 40 ms each); needs scikit-image")
PATCH, OFFSET, MODULES, LEVEL1, LEVEL2 = 16, 5, 3, 32, 128
WIDTH = PATCH + OFFSET * (MODULES - 1)
DOG, WINDOW = (1.0, 3.0), 4.0
BATCH, TAU_ESTIMATE, TAU_ERROR, DT = 100, 10 * ms, 2 * ms, 0.25 * ms
ITEM = 6 * TAU_ESTIMATE
IMAGE_VARIANCE, LEVEL1_VARIANCE = 1.0, 1.0
SPARSITY1, SPARSITY2 = 1.0, 0.5
RATE, DECAY = 0.15, 0.01
CHUNK = 20
DURATION_STEP, MINIMUM_DURATION = ITEM, CHUNK * ITEM   # one batch per item; at least one chunk
DEFAULT_DURATION = 500 * ITEM
REQUIRES = ("skimage",)   # difference_of_gaussians and the photographs
LENGTHS = np.arange(2, WIDTH + 1, 2)
PARAMETERS = ()     # seeds only: each draws the initial weights and the training strips
OUTPUTS = (Output("suppression_with_feedback", (), "1", "1 − response(longest bar)/peak, level-1 error neuron, with level 2"),
           Output("suppression_without_feedback", (), "1", "the same with level 2 removed"),
           Output("free_energy_last_batches", (), "nat", "mean F per strip over the last 5 training batches"))
BAR_WIDTH, BAR_CONTRAST, BAR_TAPER = 2, 3.0, 3.0


def filtered_images() -> list[np.ndarray]:
    """scikit-image's natural photographs in grey, DoG-filtered and scaled to unit variance."""
    from skimage.filters import difference_of_gaussians
    images = []
    for name in datasets.NATURAL_IMAGES:
        image = difference_of_gaussians(datasets.grey_image(name), *DOG)
        images.append(image / image.std())
    return images


def window() -> np.ndarray:
    """The Gaussian window (σ = WINDOW px) that weights each 16 × 16 patch, flattened."""
    centre = (PATCH - 1) / 2
    grid = np.arange(PATCH) - centre
    return np.exp(-(grid[:, None] ** 2 + grid[None, :] ** 2) / (2 * WINDOW ** 2)).ravel()


def random_strips(count: int, images, rng) -> np.ndarray:
    """``count`` random 16 × 26 strips of the filtered images, shape (count, 16, 26)."""
    strips = np.empty((count, PATCH, WIDTH))
    for k, which in enumerate(rng.integers(len(images), size=count)):
        image = images[which]
        top, left = rng.integers(image.shape[0] - PATCH + 1), rng.integers(image.shape[1] - WIDTH + 1)
        strips[k] = image[top:top + PATCH, left:left + WIDTH]
    return strips


def module_inputs(strips: np.ndarray) -> dict:
    """What the three modules see: {"x1": (…, 256), …}, windowed patches offset by 5 px."""
    weights = window()
    return {f"x{k + 1}": strips[..., :, k * OFFSET:k * OFFSET + PATCH].reshape(*strips.shape[:-2], -1) * weights
            for k in range(MODULES)}


def build(level1_weights, level2_weights=None, batch_size=BATCH, plastic=False) -> Circuit:
    """The circuit with level-1 weights W_k (256, 32) and, unless None (level 2 removed),
    level-2 weights U_k (32, 128); ``plastic``: both learn (Hebbian rule with weight decay)."""
    circuit = Circuit(dt=DT, tau_estimate=TAU_ESTIMATE, tau_error=TAU_ERROR, batch_size=batch_size)
    learning = dict(plastic=plastic, learning_rate=RATE, weight_decay=DECAY)
    if level2_weights is not None:   # the top level: the sparse prior alone, as in the paper
        circuit.column("h", LEVEL2, flat_prior=True, prior="cauchy", sparsity=SPARSITY2)
    for k in range(MODULES):
        circuit.sensory(f"x{k + 1}", PATCH * PATCH, covariance=IMAGE_VARIANCE)
        circuit.column(f"r{k + 1}", LEVEL1, covariance=LEVEL1_VARIANCE, prior="cauchy", sparsity=SPARSITY1)
        circuit.connect(f"r{k + 1}", f"x{k + 1}", level1_weights[k], **learning)
        if level2_weights is not None:
            circuit.connect("h", f"r{k + 1}", level2_weights[k], **learning)
    return circuit


def train(batches: int, seed=0):
    """Learn W_k and U_k on ``batches`` batches of 100 strips; returns (W, U, F per batch)."""
    rng = np.random.default_rng(seed)
    images = filtered_images()
    level1 = [rng.normal(size=(PATCH * PATCH, LEVEL1)) * 0.05 for _ in range(MODULES)]
    level2 = [rng.normal(size=(LEVEL1, LEVEL2)) * 0.05 for _ in range(MODULES)]
    circuit = build(level1, level2, plastic=True)
    energies = []
    for start in range(0, batches, CHUNK):
        count = min(CHUNK, batches - start)
        strips = random_strips(count * BATCH, images, rng).reshape(count, BATCH, PATCH, WIDTH)
        rec = circuit.run_sequence(module_inputs(strips), ITEM, learn="trial")
        energies.append(rec.trial_free_energy.mean(axis=1))
    level1 = [circuit.weights(f"r{k + 1}", f"x{k + 1}") for k in range(MODULES)]
    level2 = [circuit.weights("h", f"r{k + 1}") for k in range(MODULES)]
    return level1, level2, np.concatenate(energies)


def bars(lengths=LENGTHS) -> np.ndarray:
    """Horizontal bars of ``lengths`` pixels (2 px wide, ends softened by an error function of
    width BAR_TAPER px) centred on the 16 × 26 strip (the middle module's centre), DoG-filtered
    like the images, shape (len(lengths), 16, 26)."""
    from scipy.special import erf
    from skimage.filters import difference_of_gaussians
    pad = 8
    canvas = np.zeros((len(lengths), PATCH + 2 * pad, WIDTH + 2 * pad))
    row, centre = pad + PATCH // 2 - BAR_WIDTH // 2, pad + WIDTH / 2 - 0.5
    x = np.arange(canvas.shape[2])
    for k, length in enumerate(lengths):
        half = length / 2
        profile = 0.5 * (erf((x - centre + half) / BAR_TAPER) - erf((x - centre - half) / BAR_TAPER))
        canvas[k, row:row + BAR_WIDTH, :] = profile
    filtered = np.array([difference_of_gaussians(c, *DOG) for c in canvas])[:, pad:-pad, pad:-pad]
    return BAR_CONTRAST * filtered / np.abs(filtered).max()


def bar_responses(level1, level2=None, lengths=LENGTHS, settle=100 * TAU_ESTIMATE) -> np.ndarray:
    """The middle module's level-1 error neurons ε_r2 after each bar settled, (lengths, 32)."""
    circuit = build(level1, level2, batch_size=len(lengths))
    circuit.run(settle, stimulus=module_inputs(bars(lengths)), record=False)
    return circuit.error("r2")


def select_unit(without_feedback: np.ndarray) -> tuple[int, float]:
    """(unit, sign): the middle-module unit whose error neuron the longest bar drives most
    strongly without feedback — an oriented unit aligned with the bar, the kind of cell whose
    length tuning end-stopping experiments record — and the sign of that response."""
    unit = int(np.abs(without_feedback[-1]).argmax())
    return unit, float(np.sign(without_feedback[-1, unit]))


def suppression(response: np.ndarray) -> float:
    """1 − response(longest bar) / peak response."""
    return float(1 - response[-1] / response.max())


def simulate(duration=DEFAULT_DURATION, seed=0) -> Outcome:
    batches = check_duration(duration, MINIMUM_DURATION, DURATION_STEP, NAME)
    level1, level2, energies = train(batches, seed)
    with_feedback = bar_responses(level1, level2)
    without = bar_responses(level1, None)
    unit, sign = select_unit(without)
    curves = {"with feedback": sign * with_feedback[:, unit], "level 2 removed": sign * without[:, unit]}
    summary = {"simulation": NAME, "seed": seed, "training_batches": batches, "batch_size": BATCH,
               "item_ms": float(ITEM / ms), "dog_sigmas_px": list(DOG), "window_sigma_px": WINDOW,
               "patch": PATCH, "offset": OFFSET, "level1_units": LEVEL1, "level2_units": LEVEL2,
               "variances": {"image": IMAGE_VARIANCE, "level1": LEVEL1_VARIANCE, "level2": "flat (Cauchy prior alone)"},
               "tau_error_ms": float(TAU_ERROR / ms),
               "tau_estimate_ms": float(TAU_ESTIMATE / ms), "bar_taper_px": BAR_TAPER,
               "sparsity": {"level1": SPARSITY1, "level2": SPARSITY2}, "learning_rate": RATE,
               "weight_decay": DECAY, "bar_lengths_px": LENGTHS, "unit": unit,
               "response_with_feedback": curves["with feedback"], "response_without_feedback": curves["level 2 removed"],
               "suppression_with_feedback": suppression(curves["with feedback"]),
               "suppression_without_feedback": suppression(curves["level 2 removed"]),
               "free_energy_first_batches": float(energies[:5].mean()),
               "free_energy_last_batches": float(energies[-5:].mean())}
    table = [("suppression of the longest bar, with feedback", summary["suppression_with_feedback"], "≥ 0.3"),
             ("suppression, level 2 removed", summary["suppression_without_feedback"], "≤ 0.1"),
             ("F per strip, first → last batches",
              f"{summary['free_energy_first_batches']:.1f} → {summary['free_energy_last_batches']:.1f}", "falls")]
    figures = {"rao_ballard_fields": _fields_figure(level1, level2),
               "rao_ballard_end_stopping": _end_stopping_figure(curves, summary)}
    return Outcome(summary, table, figures)


def _tile(fields: np.ndarray, rows: int, shape) -> np.ndarray:
    """Fields (n, h·w) as one image of ``rows`` rows, each field scaled to its own max |value|."""
    count = len(fields)
    columns = -(-count // rows)
    height, width = shape
    mosaic = np.full((rows * (height + 1) - 1, columns * (width + 1) - 1), np.nan)
    for k, field in enumerate(fields):
        r, c = divmod(k, columns)
        mosaic[r * (height + 1):r * (height + 1) + height, c * (width + 1):c * (width + 1) + width] = \
            field.reshape(shape) / np.abs(field).max()
    return mosaic


def level2_fields(level1, level2) -> np.ndarray:
    """Each level-2 unit's field on the 16 × 26 strip: Σ_k (W_k U_k)[:, j] placed at module k's
    offset, shape (128, 16 · 26)."""
    fields = np.zeros((LEVEL2, PATCH, WIDTH))
    for k, (W, U) in enumerate(zip(level1, level2)):
        fields[:, :, k * OFFSET:k * OFFSET + PATCH] += (W @ U).T.reshape(LEVEL2, PATCH, PATCH)
    return fields.reshape(LEVEL2, -1)


@style.styled
def _fields_figure(level1, level2) -> Figure:
    figure, (left, right) = style.figure(1, 2, height=3.0, width_ratios=[1, 1.6])
    colours = dict(cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
    shown = left.imshow(_tile(level1[1].T, 4, (PATCH, PATCH)), **colours)
    strongest = np.argsort(-np.linalg.norm(level2_fields(level1, level2), axis=1))[:24]
    right.imshow(_tile(level2_fields(level1, level2)[strongest], 4, (PATCH, WIDTH)), **colours)
    style.label(left, title="level-1 fields (middle module, 32 units)")
    style.label(right, title="level-2 fields on the 16 × 26 strip (24 strongest of 128)")
    for ax in (left, right):
        ax.set_xticks([])
        ax.set_yticks([])
    bar = figure.colorbar(shown, ax=[left, right], shrink=0.7, ticks=[-1, 0, 1])
    bar.set_label("weight / max |weight| of each field (1)")
    style.panel_letters(figure, [left, right])
    return figure


@style.styled
def _end_stopping_figure(curves, summary) -> Figure:
    figure, (raw, normalised) = style.figure(1, 2, height=3.0)
    for (label, curve), (marker, colour) in zip(curves.items(), (("o-", style.PALETTE[0]), ("s--", style.PALETTE[1]))):
        key = "suppression_with_feedback" if label == "with feedback" else "suppression_without_feedback"
        text = f"{label} (suppression {100 * summary[key]:.0f} %)"
        raw.plot(LENGTHS, curve, marker, ms=4, color=colour, label=text)
        normalised.plot(LENGTHS, curve / curve.max(), marker, ms=4, color=colour, label=text)
    normalised.set_ylim(0, 1.15)
    for ax in (raw, normalised):
        style.tolerance_line(ax, PATCH, "patch width (16 px)", horizontal=False)
    style.label(raw, x=("bar length", "pixels"), y=("level-1 error response ε", "a.u."),
                title=f"middle-module error neuron {summary['unit']}")
    style.label(normalised, x=("bar length", "pixels"), y=("response / peak response", "1"),
                title="normalised to each curve's peak")
    raw.legend(loc="center right")
    style.panel_letters(figure)
    return figure
