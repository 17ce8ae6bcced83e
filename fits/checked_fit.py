"""A fit with the uncertainty a user asked for: the estimator's result, with bootstrap
intervals and backtests attached when requested (what `scaling fit` and
:func:`scaling.api.fit` both do). Bootstrap and backtest code is imported only when used, so
a plain fit does not pay for it."""

from __future__ import annotations

__all__ = ["fit_with_checks"]


def fit_with_checks(estimator, table, *, n_boot: int = 0, backtest: bool = False,
                    level: float = 0.9, seed: int = 0):
    """``estimator`` fitted to ``table`` (warnings kept on the result), then
    ``with_bootstrap`` of ``n_boot`` resamples and the backtest attached as
    ``data["backtest"]`` when asked. Returns a new :class:`~fits.result.FitResult`."""
    result = estimator.fit(table, warn=False).result_
    if n_boot:
        from .bootstrap import bootstrap, with_bootstrap

        result = with_bootstrap(result, bootstrap(result, n_boot=n_boot, seed=seed,
                                                  level=level))
    if backtest:
        from .backtest import backtest as run_backtest

        result = result.with_data(backtest=run_backtest(estimator, table, result,
                                                        level=level, seed=seed))
    return result
