"""The CLI's verbs as Python functions: the same options as keywords, the same library
calls, the typed result instead of printed text.

``DATA`` is what the CLI takes (a path, a glob, ``bundled:NAME``, a training log) or a
DataFrame / :class:`~scaling.data.RunsTable`. Each function calls the library function its
verb calls, with the verb's defaults, so ``scaling fit X --drop-highest 5`` and
``scaling.fit("X", drop_highest=5)`` give the same numbers.

>>> import scaling
>>> result = scaling.fit("bundled:chinchilla_epoch", drop_highest=5)  # doctest: +SKIP
>>> scaling.predict("bundled:chinchilla_epoch", N=7e10, D=1.4e12).to_frame()  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Mapping

__all__ = ["load", "fit", "predict", "plan", "check", "isoflop", "l2l", "compare", "loop"]

DEFAULT_LEVEL = 0.9  # scaling.fits.prediction.DEFAULT_LEVEL (not imported: stays light)


def load(data, *, columns: Mapping[str, str] | None = None, runs=None, log_format="auto",
         model_size=None, tokens_per_step=None, units: Mapping[str, str] | None = None,
         where: str | None = None, require_size: bool = True):
    """DATA -> RunsTable, as every verb reads it: ``--units`` applied, ``--where`` kept,
    implausible values warned about (``scaling.data.checks``)."""
    from scaling.data.checks import apply_units, check_plausible
    from scaling.data.source import load_source

    model_size, tokens_per_step = _per_run(model_size), _per_run(tokens_per_step)
    table, _ = load_source(data, columns=columns, runs=runs, log_format=log_format,
                           model_size=model_size, tokens_per_step=tokens_per_step,
                           require_size=require_size)
    if units and not isinstance(units, Mapping):
        from scaling.data.checks import parse_units

        units = parse_units([units] if isinstance(units, str) else units)
    table = apply_units(table, dict(units or {}))
    if where:
        from scaling.data.select import filter_table

        table = filter_table(table, where)
    check_plausible(table, ratio=False)
    return table


def _per_run(value):
    """``"a=124M,b=350M"`` (the CLI's form) -> ``{"a": "124M", "b": "350M"}``; else as is."""
    if not isinstance(value, str) or "=" not in value:
        return value
    return {run.strip(): number.strip() for run, _, number in
            (item.partition("=") for item in value.split(","))}


def _estimator(law, x=None, loss="huber", delta=1e-3, asymmetry=4.0, drop_highest=0,
               starts="auto", seed=0, selection=None, **constraints):
    """The ScalingLawFit the CLI's make_estimator builds (same keywords, same defaults)."""
    from scaling.fits import ScalingLawFit

    return ScalingLawFit(law=law, x=x, loss=loss, delta=delta, k=asymmetry, starts=starts,
                         seed=seed, drop_highest=drop_highest, **constraints,
                         **(selection or {}))


def _constraints(fix=None, tie=None, prior=None, bounds=None) -> dict:
    """``fix={"alpha": 0.34}`` or ``fix=["alpha=0.34"]`` (the CLI's strings) -> keywords."""
    from scaling.fits.constraints import parse_constraints

    def strings(value, form):
        if value is None:
            return ()
        if isinstance(value, Mapping):
            return tuple(f"{k}={form(v)}" for k, v in value.items())
        return (value,) if isinstance(value, str) else tuple(value)

    pair = lambda v: f"{v[0]}:{v[1]}" if isinstance(v, (tuple, list)) else str(v)  # noqa: E731
    parsed = parse_constraints(fix=strings(fix, str), tie=strings(tie, str),
                               prior=strings(prior, pair), bounds=strings(bounds, pair))
    return {k: (v or None) for k, v in parsed.items()}


def _selection(where=None, split="fit", points="final", repeats="keep", n_convention=None,
               best_of=None) -> dict:
    if best_of:
        repeats = f"best:{best_of}"
    if n_convention is not None:
        from scaling.data.nconvention import normalize_convention

        n_convention = normalize_convention(n_convention)
    return {"where": where, "split": split, "points": points, "repeats": repeats,
            "n_convention": n_convention}


def fit(data, *, law: str = "chinchilla", x=None, loss: str = "huber", delta: float = 1e-3,
        asymmetry: float = 4.0, drop_highest: int = 0, starts="auto", seed: int = 0,
        fix=None, tie=None, prior=None, bounds=None, bootstrap: int = 0,
        backtest: bool = False, level: float = DEFAULT_LEVEL, y: str = "loss",
        fit_runs=None, method: str = "auto", min_step: int = 0, every: int = 1,
        decays=None, **load_options):
    """`scaling fit`: a point law (``ScalingLawFit``) or a curve law, as a FitResult (a
    dict of FitResults, by size, for curve laws fitted on several sizes).

    ``load_options``: ``columns``, ``runs``, ``log_format``, ``model_size``,
    ``tokens_per_step``, ``units`` (see :func:`load`) and the row selection ``where``,
    ``split``, ``points``, ``repeats``, ``n_convention``, ``best_of``.
    """
    import warnings

    from scaling.fits import FitWarning, fit_curves_by_size
    from scaling.fits.laws import get_any_law, law_kind

    selection, loading = _split_options(load_options)
    given = _constraints(fix, tie, prior, bounds)
    table = load(data, require_size=get_any_law(law).needs_size, where=selection["where"],
                 **loading)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)  # the result lists every warning
        if law_kind(law) == "curve":
            methods = {"auto": None, "all": ("converged", "luo2025")}.get(method, (method,))
            fitted = fit_curves_by_size(table, law, fit_runs=fit_runs, loss=loss, delta=delta,
                                        methods=methods, min_step=min_step, every=every,
                                        decays=decays, **given)
            return fitted if len(fitted) > 1 else next(iter(fitted.values()))
        _few_runs(selection, load_options, table, law, x, drop_highest,
                  n_fixed=len(given.get("fixed") or {}))
        estimator = _estimator(law, x, loss, delta, asymmetry, drop_highest, starts, seed,
                               selection, y=y, **given)
        from scaling.fits.checked_fit import fit_with_checks

        result = fit_with_checks(estimator, table, n_boot=bootstrap, backtest=backtest,
                                 level=level, seed=seed)
    return result


def predict(data, *, N=None, D=None, U=None, x_value=None, law: str = "chinchilla", x=None,
            loss: str = "huber", delta: float = 1e-3, asymmetry: float = 4.0,
            drop_highest: int = 0, starts="auto", seed: int = 0, bootstrap: int = 1000,
            level: float = DEFAULT_LEVEL, **load_options):
    """`scaling predict` for point laws: the loss at new (N, D) (numbers or arrays) as a
    :class:`~scaling.fits.prediction.Prediction` (``to_frame()``: value, ci, pi)."""
    from scaling.fits import predict_point
    from scaling.fits.intervals import calibrate
    from scaling.fits.targets import check_target_counts

    selection, loading = _split_options(load_options)
    check_target_counts({k: v for k, v in {"N": N, "D": D, "U": U}.items() if v is not None},
                        as_is=_as_is(loading.get("units")))
    table = load(data, where=selection["where"], **loading)
    _few_runs(selection, load_options, table, law, x, drop_highest)
    estimator = _estimator(law, x, loss, delta, asymmetry, drop_highest, starts, seed, selection)
    result = estimator.fit(table, warn=False).result_
    cal = calibrate(estimator, table, result)
    at = {"N": N, "D": D, "x": x_value, **({"U": U} if U else {})}
    return predict_point(estimator, table, **at, calibration=cal, result=result,
                         n_boot=bootstrap, seed=seed, level=level)


def plan(data, *, compute=None, target_loss=None, law: str = "chinchilla",
         loss: str = "huber", delta: float = 1e-3, asymmetry: float = 4.0,
         drop_highest: int = 0, starts="auto", seed: int = 0, bootstrap: int = 1000,
         gpu: str = "h100", gpus: int | None = None, mfu: float = 0.4, price=None,
         max_extrapolation: float = 2.0, sensitivity: bool = True, unique_tokens=None,
         level: float = DEFAULT_LEVEL, **load_options):
    """`scaling plan`: the compute-optimal :class:`~scaling.fits.plan.Plan` at ``compute``
    FLOPs, with GPU-hours (wall-clock days with ``gpus``, USD with ``price``)."""
    from scaling.costs import attach_resources
    from scaling.fits import plan_compute

    if compute is None and target_loss is None:
        raise ValueError("give `compute` FLOPS (and/or `target_loss`)")
    selection, loading = _split_options(load_options)
    table = load(data, where=selection["where"], **loading)
    _few_runs(selection, load_options, table, law, None, drop_highest)
    estimator = _estimator(law, None, loss, delta, asymmetry, drop_highest, starts, seed,
                           selection)
    result = plan_compute(table, compute, estimator=estimator, n_boot=bootstrap, seed=seed,
                          target_loss=target_loss, max_extrapolation=max_extrapolation,
                          sensitivity=sensitivity, unique_tokens=unique_tokens, level=level)
    return attach_resources(result, gpu, n_gpus=gpus, mfu=mfu, price_per_gpu_hour=price)


def check(data, *, target_compute: float, within: float, law: str = "chinchilla",
          loss: str = "huber", delta: float = 1e-3, asymmetry: float = 4.0,
          drop_highest: int = 0, starts="auto", seed: int = 0, bootstrap: int = 1000,
          proxy_budget=None, level: float = DEFAULT_LEVEL, **load_options):
    """`scaling check`: can DATA predict the loss at ``target_compute`` within ``within``
    (a fraction: 0.05 for 5%)? A :class:`~scaling.fits.check.CheckResult`."""
    from scaling.fits.check import check_target

    selection, loading = _split_options(load_options)
    table = load(data, where=selection["where"], **loading)
    _few_runs(selection, load_options, table, law, None, drop_highest)
    estimator = _estimator(law, None, loss, delta, asymmetry, drop_highest, starts, seed,
                           selection)
    return check_target(table, target_compute, within, estimator=estimator, n_boot=bootstrap,
                        seed=seed, level=level, proxy_budget=proxy_budget)


def isoflop(data, *, method: str = "auto", window=None, width: float = 0.1,
            drop_edge: bool = False, bootstrap: int = 1000, level: float = DEFAULT_LEVEL,
            seed: int = 0, columns=None, runs=None, where=None):
    """`scaling isoflop`: Approach 2 (an :class:`~scaling.fits.isoflop.IsoflopResult`;
    ``.predict_N(C)`` for N* at budgets, as ``--compute``)."""
    from scaling.fits.isoflop import isoflop_from_table

    table = load(data, columns=columns, runs=runs, where=where)
    return isoflop_from_table(table, method=method, window=window, width=width,
                              drop_edge=drop_edge, n_boot=bootstrap, level=level, seed=seed)


def l2l(data, *, x: str, y: str, group=None, holdout_lowest: float = 0.2,
        task: bool = False, chance=None, min_points: int = 15, bootstrap: int = 1000,
        seed: int = 0, fix=None, bounds=None, level: float = DEFAULT_LEVEL, where=None):
    """`scaling l2l`: a loss-to-loss (or, ``task=True``, loss-to-task) law, an
    :class:`~scaling.fits.l2l.L2LResult`. ``data``: a path, ``bundled:NAME`` or DataFrame."""
    import warnings

    import pandas as pd

    from scaling.data import load_dataset, read_frame
    from scaling.fits import FitWarning, l2l_fit

    if isinstance(data, pd.DataFrame):
        frame = data
    elif str(data).startswith("bundled:"):
        frame = load_dataset(str(data).split(":", 1)[1])
        frame = frame if isinstance(frame, pd.DataFrame) else frame.merged()
    else:
        frame = read_frame(data)
    if where:
        from scaling.data.where import where_mask

        frame = frame[where_mask(frame, where)]
    given = _constraints(fix=fix, bounds=bounds)
    if isinstance(group, (list, tuple)) and len(group) == 1:
        group = group[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        return l2l_fit(frame, x, y, group, holdout_lowest=holdout_lowest, task=task,
                       chance=chance, min_points=min_points, n_boot=bootstrap, seed=seed,
                       fixed=given["fixed"], bounds=given["bounds"], level=level)


def compare(a, b, *, budgets=None, names=("A", "B"), bootstrap: int = 1000,
            level: float = DEFAULT_LEVEL, drop_highest: int = 0, columns=None, seed: int = 0,
            where=None):
    """`scaling compare`: the effective compute multiplier of ladder ``b`` over ``a`` (a
    :class:`~scaling.fits.compare.Comparison`)."""
    from scaling.fits import ScalingLawFit
    from scaling.fits.compare import compare_ladders

    estimator = ScalingLawFit(law="chinchilla", drop_highest=drop_highest, seed=seed)
    tables = [load(t, columns=columns, where=where) for t in (a, b)]
    return compare_ladders(*tables, budgets=budgets, n_boot=bootstrap, level=level, seed=seed,
                           estimator=estimator, names=tuple(names))


def loop(out, *, preset=None, target_compute=None, target=None, budget=None,
         goal_width=None, max_steps=None, validate=None, validate_factor=None, trainer=None,
         seed=None, backend: str = "local", workers: int = 1, address=None,
         slurm_partition=None, slurm_local: bool = False) -> dict:
    """`scaling loop`: design a ladder for a target, train it, refine, grade a validation
    rung (:func:`scaling.loop.run_loop`); returns the loop's record (``status``, ...).
    ``budget``/``goal_width`` are fractions (0.01) or, for ``budget``, FLOPs."""
    from scaling.loop import run_loop
    from scaling.loop_design import options_from

    if target is not None and target_compute is not None:
        raise ValueError("give `target_compute` or `target`, not both")
    if preset is None and target is None and target_compute is None:
        raise ValueError("give `target_compute` or `target` (N, D), or a `preset`")
    options = options_from(preset, target_compute=target_compute, target=target,
                           budget=budget, goal_width=goal_width, max_steps=max_steps,
                           validate=validate, validate_factor=validate_factor,
                           trainer=trainer, seed=seed)
    slurm = {"partition": slurm_partition, "cluster": "local" if slurm_local else None}
    return run_loop(options, out, backend=backend, workers=workers, address=address,
                    slurm=slurm)


_SELECTION_KEYS = ("where", "split", "points", "repeats", "n_convention", "best_of")
_LOAD_KEYS = ("columns", "runs", "log_format", "model_size", "tokens_per_step", "units")


def _few_runs(selection: dict, load_options: dict, table, law: str, x, drop_highest: int,
              n_fixed: int = 0) -> None:
    """The CLI's default (:func:`scaling.fits.selection.points_for_few_runs`): too few runs
    for the point law at one final point each, every run with a curve: fit every
    checkpoint. Not when ``points`` or ``x`` was given."""
    from scaling.fits.laws import get_any_law, law_kind
    from scaling.fits.selection import points_for_few_runs

    if "points" in load_options or x is not None or law_kind(law) != "point":
        return
    selection["points"] = points_for_few_runs(table, get_any_law(law), n_fixed=n_fixed,
                                              drop_highest=drop_highest) or selection["points"]


def _as_is(units) -> bool:
    """``units`` (a mapping, or ``--units`` strings) says the values are meant as given."""
    if not units:
        return False
    if isinstance(units, Mapping):
        return bool(units.get("as_is"))
    from scaling.data.checks import parse_units

    return bool(parse_units([units] if isinstance(units, str) else units).get("as_is"))


def _split_options(options: dict) -> tuple[dict, dict]:
    unknown = set(options) - set(_SELECTION_KEYS) - set(_LOAD_KEYS)
    if unknown:
        raise TypeError(f"unexpected keyword(s) {sorted(unknown)}; the options are the CLI's "
                        f"(as keywords): {sorted(_SELECTION_KEYS + _LOAD_KEYS)} and those named "
                        "in the signature")
    selection = _selection(**{k: v for k, v in options.items() if k in _SELECTION_KEYS})
    return selection, {k: v for k, v in options.items() if k in _LOAD_KEYS}
