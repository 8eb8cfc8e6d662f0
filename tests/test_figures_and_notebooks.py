"""Slow reproductions: the figures script and every notebook run without error."""
import importlib.util
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.slow
def test_figures_script_writes_png_and_pdf(tmp_path):
    """Every figure but those of the simulations that train for minutes at full size (their
    slow tests run them; their committed figures must exist) and the attention study's 384-point
    sweep (tests/test_sweep.py draws its figure from a 4-point sweep through pcsim)."""
    spec = importlib.util.spec_from_file_location("make_figures", ROOT / "figures" / "make_figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # the simulations that train for minutes run in their own slow tests, through pcsim or
    # simulate(), which write the same figures (tests/validation/test_deep_networks.py,
    # test_rao_ballard.py, test_backprop.py)
    long = ("deep-teacher", "digits-vae", "rao-ballard", "backprop-equivalence", "digits-classification")
    assert set(long) < set(module.GALLERY)
    written = module.main(tmp_path, names=[name for name in module.GALLERY if name not in long], study=False)
    names = {p.name for p in written}
    for stem in ("bogacz_fig2a_posterior", "bogacz_fig2b_gradient_ascent", "bogacz_fig3_network",
                 "linear_gaussian", "bogacz_variance", "learn_linear", "attention", "whitening",
                 "generalized_tracking", "amortization", "spiking_rasters", "spiking_convergence"):
        assert {f"{stem}.png", f"{stem}.pdf"} <= names
    for stem in ("deep_teacher", "digits_vae", "rao_ballard_fields", "rao_ballard_end_stopping",
                 "backprop_equivalence", "digits_classification", "attention_sweep"):
        assert (ROOT / "figures" / f"{stem}.png").exists() and (ROOT / "figures" / f"{stem}.pdf").exists()
    assert all(p.stat().st_size > 5_000 for p in written)


def test_there_are_notebooks():
    assert {"01_build_a_column.ipynb", "02_learning.ipynb",
            "03_lateral_inhibition_and_attention.ipynb",
            "04_amortized_and_dynamic_inference.ipynb", "05_deep_networks_in_neurons.ipynb",
            "06_paper_gallery.ipynb", "07_spiking_columns.ipynb"} <= {p.name for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_stored_notebook_shows_its_figures(path):
    """A reader on the web sees the stored outputs: every code cell that shows something was
    executed, and every figure a cell returns is stored as an image, not only as its
    ``<Figure ...>`` text (a Figure built outside pyplot is drawn only once the inline backend is
    active: ``%matplotlib inline``)."""
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.get("execution_count") for cell in code), "notebook stored unexecuted"
    figures_as_text = [cell.source.splitlines()[0] for cell in code for o in cell.get("outputs", [])
                       if o.get("data", {}).get("text/plain", "").startswith("<Figure")
                       and "image/png" not in o["data"]]
    assert not figures_as_text


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_executes(path):
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [o for cell in notebook.cells if cell.cell_type == "code"
              for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
