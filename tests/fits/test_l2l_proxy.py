"""Loss-to-loss on a proxy ladder: per-budget links predict the largest model's second loss."""

import numpy as np
import pandas as pd
import pytest

from scaling.data import validate
from scaling.fits import chinchilla
from scaling.fits.l2l import budget_link_predict, proxy_pairs, shifted_power_law

LAW = {"E": 1.2, "A": 60.0, "B": 45.0, "alpha": 0.45, "beta": 0.25}
# the link drifts with the budget D: one pooled curve would average the budgets together
LINKS = {2.5e5: {"K": 1.7, "kappa": 0.61}, 5e5: {"K": 1.72, "kappa": 0.6},
         1e6: {"K": 1.63, "kappa": 0.68}}


def _ladder():
    points, runs = [], []
    for N in (2.5e4, 5.5e4, 1e5, 2.2e5, 3.9e5):
        for D, link in LINKS.items():
            run_id = f"N{N:.2g}-D{D:.2g}"
            runs.append({"run_id": run_id, "N": N})
            x = chinchilla(N, D, **LAW)
            for frac in (0.5, 1.0):  # an earlier point that must not enter the pairs
                points.append({"run_id": run_id, "step": int(100 * frac), "D": frac * D,
                               "loss": x, "val/x": x,
                               "val/y": float(shifted_power_law(x, **link, E_x=0.0, E_y=0.0))})
    return validate(pd.DataFrame(points), pd.DataFrame(runs), n_convention="total")


def test_proxy_pairs_use_final_points_only():
    pairs = proxy_pairs(_ladder(), "val/x", "val/y")
    assert len(pairs) == 15
    assert set(pairs["D"]) == set(LINKS)
    assert list(pairs.columns) == ["run_id", "N", "D", "x", "y"]


def test_budget_links_recover_the_largest_model_exactly():
    res = budget_link_predict(_ladder(), "val/x", "val/y", E_x=0.0, E_y=0.0)
    assert len(res["heldout"]) == 3
    assert set(res["heldout"]["N"]) == {3.9e5}
    assert res["max_rel_error"] < 1e-6
    for D, link in LINKS.items():
        assert res["budgets"][D]["kappa"] == pytest.approx(link["kappa"], rel=1e-4)


def test_budget_link_errors():
    table = _ladder()
    with pytest.raises(ValueError, match=r"column\(s\) \['val/nope'\] not in the points"):
        budget_link_predict(table, "val/x", "val/nope")
    with pytest.raises(ValueError, match="`E_x` must be 'chinchilla', a number or None"):
        budget_link_predict(table, "val/x", "val/y", E_x="fitted")
    with pytest.raises(ValueError, match=r"no finished run has N = 1e\+09"):
        budget_link_predict(table, "val/x", "val/y", holdout_N=1e9)
    with pytest.raises(ValueError, match="has 0 fitted run"):
        budget_link_predict(table, "val/x", "val/y", holdout_N=2.5e4)


@pytest.fixture(scope="module")
def cpu_ladder(tmp_path_factory):
    from scaling.ladder import get_preset, run_ladder

    out = tmp_path_factory.mktemp("cpu-5min")
    run_ladder(get_preset("cpu-5min"), out, quiet=True)
    return out


@pytest.mark.heavy
@pytest.mark.slow
def test_code_to_prose_predicts_largest_proxy_within_one_percent(cpu_ladder):
    # the acceptance protocol of docs/loss-to-loss.md: final points, E from Chinchilla fits
    # of each distribution on the four smaller sizes, one link per token budget
    res = budget_link_predict(cpu_ladder, "val/code", "val/prose")
    held = res["heldout"]
    assert len(held) == 3 and held["D"].nunique() == 3
    assert np.all(np.abs(held["rel_error"]) <= 0.01), held.to_string()
