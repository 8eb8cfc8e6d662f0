"""Rao & Ballard (1999): hierarchical predictive coding of natural images and end-stopping."""
import json

import numpy as np
import pytest
from skimage.filters import difference_of_gaussians

from circuits.cli import main
from circuits.simulations import rao_ballard


def test_bars_and_module_inputs():
    """The three modules see 16 × 16 windowed patches offset by 5 px; the bars share one contrast,
    are centred on the middle module (column 12.5 of the strip) and are DoG-filtered like the
    training images (a zero-mean filter: a filtered bar sums to ~0)."""
    strip = np.arange(16 * 26, dtype=float).reshape(16, 26)
    seen = rao_ballard.module_inputs(strip)
    for k in range(3):
        np.testing.assert_array_equal(seen[f"x{k + 1}"], (strip[:, 5 * k:5 * k + 16].ravel() * rao_ballard.window()))
    bars = rao_ballard.bars([4, 26])
    assert bars.shape == (2, 16, 26)
    assert np.abs(bars).max() == pytest.approx(rao_ballard.BAR_CONTRAST)   # one contrast for all lengths
    columns = np.nonzero(np.abs(bars[0]).max(axis=0) > 0.5 * np.abs(bars[0]).max())[0]
    assert abs((columns.min() + columns.max()) / 2 - 12.5) <= 1
    image = np.zeros((32, 32))
    image[15:17, 8:24] = 1
    assert abs(difference_of_gaussians(image, *rao_ballard.DOG).sum()) < 0.05 * image.sum()


@pytest.mark.slow
def test_end_stopping_with_feedback_only(tmp_path):
    """pcsim run rao-ballard (default training): the middle module's level-1 error neuron is
    end-stopped with level-2 feedback — the longest bar's response is suppressed by ≥ 30 % of the
    peak — and not without it (≤ 10 %), as in Rao & Ballard's Fig. 5; the free energy per strip
    falls during training and the learned level-1 fields are localised (most of each field's
    energy within the window's centre)."""
    assert main(["run", "rao-ballard", "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["suppression_with_feedback"] >= 0.3
    assert summary["suppression_without_feedback"] <= 0.1
    assert summary["free_energy_last_batches"] < summary["free_energy_first_batches"]
    for stem in ("rao_ballard_fields", "rao_ballard_end_stopping"):
        assert (tmp_path / f"{stem}.png").stat().st_size > 10_000
