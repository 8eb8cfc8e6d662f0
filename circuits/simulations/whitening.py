"""Lateral inhibition whitens natural images (Srinivasan, Laughlin & Dubs 1982; Marino 2022 Fig. 5a).

A sensory column of 10 × 10 receptors with centre-surround lateral inhibition learns, by the
local LMS rule ΔW = α u xᵀ, to predict each receptor from its neighbours within 2 pixels on
patches of scikit-image's natural photographs (plus receptor noise of variance N). The learned
filter — 1 at the centre, −w around it — is centre-surround; applied by the same circuit to a
64 × 64 image, the error neurons u = x − W x report an edge-enhanced, whitened image. With more
receptor noise the learned surround is weaker and broader.
"""
from __future__ import annotations

import numpy as np
from brian2 import ms
from matplotlib.figure import Figure

from .. import datasets
from ..circuit import Circuit
from ..sweeps import Output
from .outcome import Outcome

NAME = "whitening"
DESCRIPTION = ("centre-surround lateral inhibition learned on natural image patches (LMS); "
               "whitens and edge-enhances an image (Marino 2022 Fig. 5a); needs scikit-image")
PATCH, RADIUS, ITEM = 10, 2.0, 5 * ms
DEFAULT_DURATION = 6000 * ITEM
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
    items = int(round(float(duration / ITEM)))
    if items < 100:
        raise ValueError(f"duration must cover at least 100 patches of {ITEM}")
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
    return Outcome(summary, table, {"whitening": _figure(image, whitened, kernels)})


def _flatness(image) -> float:
    """Spectral flatness (geometric / arithmetic mean of the power spectrum): 1 for white."""
    power = np.abs(np.fft.fft2(image - image.mean())) ** 2
    power = power.ravel()[1:] + 1e-12
    return float(np.exp(np.mean(np.log(power))) / np.mean(power))


def _filter_image(kernel) -> np.ndarray:
    margin = int(np.ceil(RADIUS))
    filt = np.zeros((2 * margin + 1, 2 * margin + 1))
    filt[margin, margin] = 1.0
    for (dr, dc), w in kernel.items():
        filt[margin + dr, margin + dc] = -w
    return filt


def _figure(image, whitened, kernels) -> Figure:
    figure = Figure(figsize=(12, 3.2), layout="constrained")
    axes = figure.subplots(1, 4)
    axes[0].imshow(image, cmap="gray")
    axes[0].set_title("natural image x")
    for ax, noise in zip(axes[1:3], NOISES):
        filt = _filter_image(kernels[noise])
        limit = np.abs(filt).max()
        shown = ax.imshow(filt, cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_title(f"learned filter 1 − W, N = {noise}")
        figure.colorbar(shown, ax=ax, shrink=0.8)
    axes[3].imshow(whitened, cmap="gray")
    axes[3].set_title("error neurons u = x − W x")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    return figure
