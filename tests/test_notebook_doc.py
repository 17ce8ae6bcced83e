"""docs/notebook.ipynb runs top to bottom (nbclient), with short outputs."""

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "notebook.ipynb"


@pytest.mark.slow
def test_notebook_executes_with_short_outputs(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    texts = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        size = 0
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error", out
            data = out.get("data", {})
            size += sum(len(str(v)) for k, v in data.items() if not k.startswith("image/"))
            size += len(out.get("text", ""))
            texts.append(" ".join(str(v) for v in data.values()) + out.get("text", ""))
        assert size <= 5000, f"output of {cell.source[:40]!r} is {size} characters"
    joined = "\n".join(texts)
    assert "<table" in joined  # HTML reprs are tables
    for column in ("value", "ci_lower", "pi_upper", "chinchilla-70B", "fraction_seen"):
        assert column in joined
    assert "pi 90% (new run)" in joined and "ci 90% (law mean)" in joined
