"""Lateral inhibition whitens natural images (Srinivasan, Laughlin & Dubs 1982; Marino 2022 Fig. 5a).

A sensory column of 10 × 10 receptors with centre-surround lateral inhibition learns, by the
local LMS rule ΔW = α u xᵀ, to predict each receptor from its neighbours within 2 pixels on
patches of scikit-image's natural photographs, scaled to unit pixel variance, plus receptor
noise of variance N (so 1/N is the signal-to-noise ratio of a receptor). The learned
filter — 1 at the centre, −w around it — is centre-surround; applied by the same circuit to a
64 × 64 image, the error neurons u = x − W x report an edge-enhanced, whitened image. With more
receptor noise the learned surround is weaker and broader.
"""
from __future__ import annotations

import numpy as np
from brian2 import ms
from matplotlib.colors import TwoSlopeNorm
from matplotlib.patches import Rectangle

from .. import datasets
from ..circuit import Circuit
from ..sweeps import Output
from . import style
from .duration import check_duration
from .outcome import Outcome

NAME = "whitening"
DESCRIPTION = ("centre-surround lateral inhibition learned on natural image patches (LMS); "
               "whitens and edge-enhances an image (Marino 2022 Fig. 5a); needs scikit-image")
PATCH, RADIUS, ITEM = 10, 2.0, 5 * ms
DEFAULT_DURATION = 6000 * ITEM
DURATION_STEP, MINIMUM_DURATION = ITEM, 100 * ITEM
REQUIRES = ("skimage",)   # the natural photographs scikit-image ships
NOISES = (0.05, 0.5)
PARAMETERS = ()     # seeds only: each draws the training patches
OUTPUTS = (Output("spectral_flatness_image", (), "1", "spectral flatness of the test image"),
           Output("spectral_flatness_whitened", (), "1", "spectral flatness of its error-neuron image"),
           *(Output(f"nearest_weight_noise_{str(n).replace('.', '_')}", (), "1",
                    f"mean nearest-neighbour surround weight learned with noise variance {n}",
                    f"nearest_weight/{n}") for n in NOISES))
SCHEDULE = ((0.05, 0.4), (0.02, 0.3), (0.005, 0.3))   # (rate, share of the items)


def learn_kernel(items: int, noise: float, rng) -> dict:
    """The surround weights w(offset) learned on ``items`` noisy patches, averaged over the
    units at least RADIUS pixels from the patch border."""
    circuit = Circuit(dt=0.1 * ms, tau_estimate=10 * ms, tau_error=0.5 * ms)
    x = circuit.sensory("x", PATCH * PATCH, lateral_inhibition="surround", inhibition_radius=RADIUS,
                        inhibition_grid=(PATCH, PATCH), learn_inhibition=True)
    patches = datasets.natural_image_patches(items, size=PATCH, seed=rng, remove_mean=False)
    patches += np.sqrt(noise) * rng.normal(size=patches.shape)
    start = 0
    for rate, share in SCHEDULE:
        count = int(round(share * items))
        x.flow_learning_rate = rate
        circuit.run_sequence(patches[start:start + count], item_duration=ITEM)
        start += count
    margin = int(np.ceil(RADIUS))
    interior = [r * PATCH + c for r in range(margin, PATCH - margin) for c in range(margin, PATCH - margin)]
    offsets = [(dr, dc) for dr in range(-margin, margin + 1) for dc in range(-margin, margin + 1)
               if 0 < dr * dr + dc * dc <= RADIUS * RADIUS]
    return {(dr, dc): float(np.mean([x.flow_matrix[i, i + dr * PATCH + dc] for i in interior]))
            for dr, dc in offsets}


def apply_kernel(kernel: dict, image: np.ndarray) -> np.ndarray:
    """Run ``image`` through a surround column whose W is ``kernel`` at every pixel; returns u."""
    height, width = image.shape
    circuit = Circuit(dt=0.1 * ms, tau_estimate=10 * ms, tau_error=0.5 * ms)
    x = circuit.sensory("x", height * width, lateral_inhibition="surround", inhibition_radius=RADIUS,
                        inhibition_grid=(height, width))
    rows, columns = np.divmod(np.arange(height * width), width)
    for (dr, dc), weight in kernel.items():
        r, c = rows + dr, columns + dc
        inside = (r >= 0) & (r < height) & (c >= 0) & (c < width)
        x.flow_matrix[np.nonzero(inside)[0], (r * width + c)[inside]] = weight
    circuit.run(10 * ms, stimulus=image.ravel(), record=False)   # 20 τ_ε: settled to e^-20
    return circuit.error("x").reshape(height, width)


def simulate(duration=DEFAULT_DURATION, seed=0) -> Outcome:
    items = check_duration(duration, MINIMUM_DURATION, DURATION_STEP, NAME)
    rng = np.random.default_rng(seed)
    kernels = {noise: learn_kernel(items, noise, rng) for noise in NOISES}
    image = datasets.grey_image("camera")[96:160, 224:288]
    image = (image - image.mean()) / image.std()
    whitened = apply_kernel(kernels[NOISES[0]], image)
    nearest = {noise: float(np.mean([w for (dr, dc), w in k.items() if dr * dr + dc * dc == 1]))
               for noise, k in kernels.items()}
    far = {noise: float(np.mean([w for (dr, dc), w in k.items() if dr * dr + dc * dc > 1]))
           for noise, k in kernels.items()}
    spectrum = _flatness(image), _flatness(whitened)
    summary = {"simulation": NAME, "seed": seed, "patches": items, "patch_size": PATCH,
               "radius": RADIUS, "noise_variances": list(NOISES),
               "kernels": {str(n): {f"{dr},{dc}": w for (dr, dc), w in k.items()} for n, k in kernels.items()},
               "nearest_weight": {str(n): v for n, v in nearest.items()},
               "outer_weight": {str(n): v for n, v in far.items()},
               "spectral_flatness_image": spectrum[0], "spectral_flatness_whitened": spectrum[1]}
    table = [(f"nearest-neighbour weight, N = {n}", nearest[n], "falls with N") for n in NOISES]
    table += [(f"outer weight, N = {n}", far[n], "rises relative to nearest") for n in NOISES]
    table.append(("spectral flatness image → whitened", f"{spectrum[0]:.3f} → {spectrum[1]:.3f}", "rises"))
    return Outcome(summary, table, lambda: {"whitening": _figure(image, whitened, kernels)})


def _flatness(image) -> float:
    """Spectral flatness (geometric / arithmetic mean of the power spectrum): 1 for white."""
    power = np.abs(np.fft.fft2(image - image.mean())) ** 2
    power = power.ravel()[1:] + 1e-12
    return float(np.exp(np.mean(np.log(power))) / np.mean(power))


def _surround_image(kernel) -> np.ndarray:
    """The learned surround weights −W around the centre (NaN at the centre, whose weight is 1)."""
    margin = int(np.ceil(RADIUS))
    filt = np.full((2 * margin + 1, 2 * margin + 1), np.nan)
    for (dr, dc), w in kernel.items():
        filt[margin + dr, margin + dc] = -w
    return filt


@style.styled
def _figure(image, whitened, kernels):
    figure, axes = style.figure(2, 2, height=5.4)
    (picture, errors), (low, high) = axes
    shown = style.image(picture, image, cmap="gray")
    figure.colorbar(shown, ax=picture, shrink=0.85, label="x (z-scored)")
    picture.set_title("natural image x, 64 × 64")
    whitened_limit = np.percentile(np.abs(whitened), 99.5)
    shown = style.image(errors, whitened, cmap="gray", vmin=-whitened_limit, vmax=whitened_limit)
    figure.colorbar(shown, ax=errors, shrink=0.85, label="u (a.u.)")
    errors.set_title("error neurons u = x − W x")
    surrounds = {noise: _surround_image(kernels[noise]) for noise in NOISES}
    limit = max(np.nanmax(np.abs(f)) for f in surrounds.values())
    margin = int(np.ceil(RADIUS))
    for ax, noise in zip((low, high), NOISES):
        colours = ax.imshow(surrounds[noise], cmap=style.DIVERGING, norm=TwoSlopeNorm(0, -limit, limit),
                            extent=(-margin - 0.5, margin + 0.5, margin + 0.5, -margin - 0.5))
        ax.add_patch(Rectangle((-0.5, -0.5), 1, 1, facecolor="white", edgecolor="0.3", lw=0.6))
        ax.text(0, 0, "+1", ha="center", va="center", fontsize=7)
        ax.set_facecolor("0.85")   # outside the radius: no synapse
        style.label(ax, x=("column offset", "pixels"), y=("row offset", "pixels"),
                    title=f"learned surround −W, N = {noise:g}")
        ax.set_xticks(range(-margin, margin + 1))
        ax.set_yticks(range(-margin, margin + 1))
    figure.colorbar(colours, ax=[low, high], shrink=0.85, label="surround weight −W (centre +1, off scale)")
    figure.suptitle(f"N: variance of the receptor noise added to the training patches (pixel variance 1); "
                    f"b uses the surround of N = {NOISES[0]:g}; grey: beyond the inhibition radius", fontsize=8)
    style.panel_letters(figure, [picture, errors, low, high])
    return figure
