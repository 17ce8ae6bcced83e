"""Predictions from a fitted curve law: any schedule's curve and final loss, and
schedule comparison (ranked; its plot is :func:`fits.curve.plot.plot_schedules`).
Early-curve predictions are in :mod:`fits.curve.early`."""

from __future__ import annotations

import numpy as np

from scaling.data.schedules import as_schedule, lr_schedule

from ..prediction import Prediction
from .laws import get_curve_law, is_fit

__all__ = ["parse_candidates", "predict_curve", "predict_final_loss", "compare_schedules",
           "candidate_schedules", "predict_schedules"]


def _law_params(fit, law=None):
    if is_fit(fit):
        return get_curve_law(fit.law), fit.values, fit.choices.get("decay")
    if law is None:
        raise ValueError("pass `law=` when giving parameters as a dict")
    return get_curve_law(law), dict(fit), None


def predict_curve(fit, schedule, steps=None, *, law=None, decay=None, N=None):
    """Loss along ``schedule`` predicted by a fitted law.

    Parameters
    ----------
    fit : FitResult or dict
        A curve-law fit, or ``{symbol: value}`` with ``law=``.
    schedule : Schedule, dict or (T,) array
        Schedule spec (``data.schedules``) or a per-step LR array.
    steps : int array, optional
        Steps to predict (default: every step after warmup).
    law : str, optional
        Law name when ``fit`` is a dict.
    decay : float, optional
        Momentum of the LR-annealing law (default: the fit's).
    N : float, optional
        Model size, for the size-extended law.

    Returns
    -------
    steps, loss : arrays

    Examples
    --------
    >>> from scaling.fits.curve.mpl import MPL_PUBLISHED
    >>> s, L = predict_curve(MPL_PUBLISHED["25M"], {"kind": "cosine", "peak_lr": 3e-4,
    ...     "end_lr": 3e-5, "warmup_steps": 2160, "total_steps": 24000}, law="mpl")
    >>> round(float(L[-1]), 3)
    3.315
    """
    law, params, fit_decay = _law_params(fit, law)
    decay = decay if decay is not None else fit_decay
    if isinstance(schedule, np.ndarray) or isinstance(schedule, (list, tuple)):
        from .mpl import warmup_end

        lr = np.asarray(schedule, dtype=float)
        warm = warmup_end(lr)  # a per-step LR array: its rise to the peak is the warmup
    else:
        from .curves import warmup_of

        spec = as_schedule(schedule)
        lr = lr_schedule(spec)
        warm = warmup_of(spec, lr)
    steps = np.arange(max(warm, 1), lr.size) if steps is None else np.asarray(steps)
    plan = law.make_plan(lr, steps, N=N, warmup_steps=warm,
                         decay=decay if decay is not None else 0.999)
    return steps, plan.loss(params)


def predict_final_loss(fit, schedule, **kwargs) -> float:
    """Predicted loss at the last step of ``schedule`` (see :func:`predict_curve`)."""
    steps, loss = predict_curve(fit, schedule, **kwargs)
    return float(loss[-1])


def candidate_schedules(total_steps, peak_lr, warmup_steps=0):
    """Constant, cosine to 10%, linear decay to zero, WSD with 10% and 20% cooldown."""
    common = {"total_steps": total_steps, "peak_lr": peak_lr, "warmup_steps": warmup_steps}
    return {"constant": {"kind": "constant", **common},
            "cosine_10pct": {"kind": "cosine", "end_lr": peak_lr / 10, **common},
            "linear_d2z": {"kind": "linear", "end_lr": 0.0, **common},
            "wsd_10pct": {"kind": "wsd", "cooldown_frac": 0.1, "end_lr": 0.0, **common},
            "wsd_20pct": {"kind": "wsd", "cooldown_frac": 0.2, "end_lr": 0.0, **common}}


_CANDIDATE_HELP = ("constant; cosine[:END] (END = end LR / peak, default 0.1); "
                   "linear[:END] (default 0, decay to zero); wsd[:FRAC] / wsd-1sqrt[:FRAC] / "
                   "wsd-exp[:FRAC] / wsd-cosine[:FRAC] (cooldown fraction, default 0.2, "
                   "linear / 1-sqrt / exponential / cosine cooldown to END 0, or 10% of "
                   "peak for exp)")


def parse_candidates(text, total_steps, peak_lr, warmup_steps=0) -> dict:
    """Candidate schedules from a short list, ``"wsd:0.1,wsd:0.2,wsd-1sqrt:0.2,cosine:0.1,
    linear"`` (or the lines of a file): ``{entry: spec}``. Entries: ``constant``;
    ``cosine[:END]`` (END = end LR / peak, default 0.1); ``linear[:END]`` (default 0);
    ``wsd[:FRAC]``, ``wsd-1sqrt[:FRAC]``, ``wsd-exp[:FRAC]``, ``wsd-cosine[:FRAC]``
    (cooldown fraction, default 0.2; linear, 1-sqrt, exponential or cosine cooldown to
    0, to 10% of the peak for ``exp``).

    Raises
    ------
    ValueError
        Naming the entry that cannot be read.
    """
    common = {"total_steps": total_steps, "peak_lr": peak_lr, "warmup_steps": warmup_steps}
    cooldowns = {"wsd": "linear", "wsd-1sqrt": "1-sqrt", "wsd-exp": "exp",
                 "wsd-cosine": "cosine"}
    out = {}
    for item in [t.strip() for t in str(text).replace("\n", ",").split(",") if t.strip()]:
        kind, _, arg = item.partition(":")
        kind = kind.strip().lower()
        try:
            value = float(arg) if arg.strip() else None
        except ValueError:
            raise ValueError(f"candidate {item!r}: {arg!r} is not a number") from None
        if kind == "constant" and value is None:
            spec = {"kind": "constant", **common}
        elif kind in ("cosine", "linear"):
            end = (0.1 if kind == "cosine" else 0.0) if value is None else value
            if not 0 <= end <= 1:
                raise ValueError(f"candidate {item!r}: the end LR fraction must be in [0, 1]")
            spec = {"kind": kind, "end_lr": peak_lr * end, **common}
        elif kind in cooldowns:
            frac = 0.2 if value is None else value
            if not 0 < frac <= 1:
                raise ValueError(f"candidate {item!r}: the cooldown fraction must be in "
                                 "(0, 1]")
            end = peak_lr / 10 if cooldowns[kind] == "exp" else 0.0
            spec = {"kind": "wsd", "cooldown": cooldowns[kind], "cooldown_frac": frac,
                    "end_lr": end, **common}
        else:
            raise ValueError(f"candidate {item!r} is not understood; use {_CANDIDATE_HELP}")
        try:
            as_schedule(spec)  # validate now, naming the entry
        except ValueError as err:
            raise ValueError(f"candidate {item!r}: {err}") from None
        out[item] = spec
    if not out:
        raise ValueError("no candidate schedules given")
    return out


def predict_schedules(fit, total_steps, peak_lr, *, warmup_steps=0, schedules=None,
                      law=None, N=None) -> Prediction:
    """Predicted final loss of candidate schedules for a step budget, best first: a
    :class:`~fits.prediction.Prediction` indexed by schedule name, with ``ci`` and a
    calibrated ``pi`` for a fit that carries a calibration (:mod:`fits.curve.uncertainty`;
    without one, no interval, and the result says so in ``warnings``)."""
    schedules = schedules or candidate_schedules(total_steps, peak_lr, warmup_steps)
    names, values, steps = [], [], []
    for name, spec in schedules.items():
        lr = lr_schedule(spec)
        names.append(name)
        steps.append(lr.size - 1)
        values.append(predict_final_loss(fit, spec, steps=np.array([lr.size - 1]), law=law,
                                         N=N))
    order = np.argsort(values, kind="stable")
    law_name = law or getattr(fit, "law", "")
    if is_fit(fit) and fit.data.get("calibration"):
        from dataclasses import replace

        from .uncertainty import predict_finals

        targets = [_target(schedules[names[i]]) for i in order]
        pred = predict_finals(fit, targets, index=[names[i] for i in order], N=N)
        return replace(pred, quantity="final loss")
    return Prediction(value=np.asarray(values)[order], index=[names[i] for i in order],
                      at={"step": np.asarray(steps)[order]}, quantity="final loss",
                      law=str(law_name),
                      warnings=("no interval: a curve-law fit carries no bootstrap draws; the "
                                "ranking is the law's point prediction",))


def compare_schedules(fit, total_steps, peak_lr, *, warmup_steps=0, schedules=None,
                      law=None, N=None, level: float = 0.9) -> list[dict]:
    """Predicted final loss of candidate schedules for a step budget, best first.

    Returns
    -------
    list of dict
        ``{"name", "schedule", "final_loss"}`` sorted by predicted final loss (the rows
        of :func:`predict_schedules`, with each schedule's spec); for a calibrated
        :class:`FitResult` also ``"pi"``, ``"ci"``, ``"level"`` and, for every candidate
        after the first, ``"vs_best"``: ``{"value", "interval", "sure"}``, the difference
        to the best candidate with its interval (same jackknife refits:
        :func:`fits.curve.uncertainty.difference_interval`).
    """
    schedules = schedules or candidate_schedules(total_steps, peak_lr, warmup_steps)
    pred = predict_schedules(fit, total_steps, peak_lr, warmup_steps=warmup_steps,
                             schedules=schedules, law=law, N=N)
    rows = [{"name": name, "schedule": as_schedule(schedules[name]).to_dict(),
             "final_loss": float(value)} for name, value in zip(pred.index, pred.value)]
    if pred.pi is not None:
        _add_intervals(fit, rows, schedules, N, level)
    return rows


def _target(spec):
    """``(per-step LR, warmup steps)`` of a schedule spec."""
    spec = as_schedule(spec)
    return lr_schedule(spec), spec.warmup_steps if spec.kind != "rewarm" else 0


def _add_intervals(fit, rows, schedules, N, level):
    from .uncertainty import difference_interval, predict_finals

    targets = [_target(schedules[r["name"]]) for r in rows]
    pred = predict_finals(fit, targets, index=[r["name"] for r in rows], N=N, level=level)
    for i, row in enumerate(rows):
        row.update({"pi": [float(v) for v in pred.pi[i]],
                    "ci": [float(v) for v in pred.ci[i]], "level": level})
        if i:
            row["vs_best"] = difference_interval(fit, targets[i], targets[0], N=N,
                                                 level=level)
    if pred.warnings:
        rows[0]["warnings"] = list(pred.warnings)
