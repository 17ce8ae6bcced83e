"""Every number called "held-out" excludes the fitted data."""

from scaling.data import load_multipower
from scaling.fits import fit_curves


def test_heldout_errors_never_include_a_fitted_run():
    table = load_multipower()
    fit_ids = ["25M/constant_24000", "25M/cosine_24000", "25M/wsdcon_9"]
    same_size = [r for r in table.runs["run_id"] if r.startswith("25M/")]
    result = fit_curves(table, "tissue", fit_runs=fit_ids, eval_runs=same_size)
    assert set(result.data["heldout"]) == set(same_size) - set(fit_ids)
    assert len(result.data["heldout"]) == 6
