"""The installed package keeps its own names: the unrelated `data` and `fits` packages on
PyPI (and a user's own `data/` folder) cannot shadow `scaling.data` / `scaling.fits`."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _pip(*args, cwd):
    return subprocess.run([sys.executable, "-m", "pip", *args], cwd=cwd, capture_output=True,
                          text=True)


@pytest.mark.slow
def test_wheel_installed_beside_pypi_data_and_fits(tmp_path):
    built = _pip("wheel", "--no-deps", "-q", str(ROOT), "-w", "dist", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    wheel = next((tmp_path / "dist").glob("scaling_planner-*.whl"))
    ours = _pip("install", "-q", "--no-deps", "--target", "ours", str(wheel), cwd=tmp_path)
    assert ours.returncode == 0, ours.stderr
    theirs = _pip("install", "-q", "--target", "theirs", "data", "fits", cwd=tmp_path)
    if theirs.returncode != 0:
        pytest.skip(f"PyPI not reachable: {theirs.stderr.strip()[-200:]}")
    code = ("import data, fits\n"
            "assert 'theirs' in data.__file__ and 'theirs' in fits.__file__\n"
            "from scaling import data as sd, fits as sf\n"
            "assert 'ours' in sf.__file__, sf.__file__\n"
            "r = sf.ScalingLawFit(law='power-law', starts=8).fit(sd.load_chinchilla_epoch())\n"
            "print(round(r.result_['alpha'], 3))\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path / "ours"),
                                                        str(tmp_path / "theirs")]))
    (tmp_path / "data").mkdir()  # and a user's own data/ folder in the working directory
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert float(run.stdout) > 0
