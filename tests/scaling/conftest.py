"""Shared fixtures for the proxy-model tests: a 4-run mini ladder trained once per session."""

from __future__ import annotations

import pandas as pd
import pytest

from scaling.ladder import LadderSpec, run_ladder

MINI_WSD = {"kind": "wsd", "peak_lr": 3e-3, "end_lr": 3e-4, "warmup_steps": 3,
            "cooldown_frac": 0.25}
MINI_BASE = {"seq_len": 32, "batch_size": 8, "eval_every": 8, "eval_tokens": 1024,
             "ckpt_every": 8, "threads": 1, "device": "cpu"}


def mini_ladder(**changes) -> LadderSpec:
    """2 sizes x 2 WSD budgets = 2 jobs (each a run and a cooldown branch) = 4 runs."""
    values = dict(name="mini", sizes=[{"n_layer": 1, "d_model": 16, "n_head": 1},
                                      {"n_layer": 1, "d_model": 32, "n_head": 2}],
                  tokens=[8 * 32 * 16, 8 * 32 * 24], schedules=[MINI_WSD], seeds=[0],
                  base=MINI_BASE)
    values.update(changes)
    return LadderSpec(**values)


def read_points(out_dir) -> pd.DataFrame:
    return pd.read_csv(out_dir / "points.csv").sort_values(["run_id", "step"]) \
        .reset_index(drop=True)


@pytest.fixture(scope="session")
def mini_reference(tmp_path_factory):
    """The mini ladder trained in this process, one run after another (today's path)."""
    out = tmp_path_factory.mktemp("mini-reference")
    run_ladder(mini_ladder(), out, quiet=True)
    return read_points(out)
