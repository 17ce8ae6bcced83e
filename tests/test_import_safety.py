"""A user's own `data/` and `fits/` folders must not shadow the installed package.

Nearly every ML project has a `data/` folder; the public names are `scaling.data` and
`scaling.fits` (setuptools package_dir mapping), so `from scaling import fits, data` and
a fit work from such a directory, with or without `__init__.py` in the user's folders.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

_SCRIPT = textwrap.dedent("""
    import numpy as np
    from scaling import data, fits

    N = np.array([1e7, 3e7, 1e8, 3e8, 1e9, 3e9])
    loss = 1.7 + 400.0 / N ** 0.34
    result = fits.fit_law("power-law", {"x": N}, loss, loss="log-mse")
    table = data.validate(__import__("pandas").DataFrame({"N": N, "D": 20 * N, "loss": loss}))
    print(f"{result['alpha']:.4f} {table.n_runs} {data.__name__} {fits.__name__}")
""")


@pytest.mark.parametrize("with_init", [False, True], ids=["namespace-folders", "packages"])
def test_import_and_fit_from_a_directory_with_data_and_fits_folders(tmp_path, with_init):
    for name in ("data", "fits"):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "train.csv").write_text("N,loss\n1,2\n")
        if with_init:
            # a user's package that would break us if it were imported instead of ours
            (folder / "__init__.py").write_text("raise ImportError('the user folder was imported')\n")
    (tmp_path / "script.py").write_text(_SCRIPT)
    out = subprocess.run([sys.executable, "script.py"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    alpha, n_runs, data_name, fits_name = out.stdout.split()
    assert float(alpha) == pytest.approx(0.34, abs=1e-3)
    assert (n_runs, data_name, fits_name) == ("6", "scaling.data", "scaling.fits")
