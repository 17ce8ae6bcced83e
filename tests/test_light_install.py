"""Fitting needs no torch: the dependency list, a fit without torch, and the train message."""

import subprocess
import sys

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")

ROOT = Path(__file__).resolve().parents[1]

from tests.no_torch import NO_TORCH  # noqa: E402 - after the tomllib skip


def _cli(*args):
    return subprocess.run([sys.executable, "-c", NO_TORCH, *args], capture_output=True,
                          text=True, timeout=120)


def test_torch_is_an_extra_not_a_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not any(dep.startswith("torch") for dep in project["dependencies"])
    assert any(dep.startswith("torch") for dep in project["optional-dependencies"]["train"])
    assert any(dep.startswith("accelerate") for dep in project["optional-dependencies"]["hf"])


def test_fit_runs_without_torch():
    out = _cli("fit", "bundled:chinchilla_epoch", "--drop-highest", "5")
    assert out.returncode == 0, out.stderr
    assert "alpha" in out.stdout and "torch" not in out.stderr


@pytest.mark.slow
def test_demo_runs_without_torch(tmp_path):
    out = _cli("--quiet", "demo", "--out", str(tmp_path / "demo"))
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "demo").is_dir()


def test_train_without_torch_names_the_extra():
    out = _cli("train", "--set", "d_model=64", "--out", "never-written")
    assert out.returncode == 2
    assert "scaling-planner[train]" in out.stderr
    assert not Path("never-written").exists()
