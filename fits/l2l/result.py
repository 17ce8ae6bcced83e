"""What a grouped loss-to-loss (or loss-to-task) fit returns, how it prints, and how a
saved one predicts new points with intervals."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scaling.data.checks import MAX_LOSS

from ..display import ReportDisplay

from ..bootstrap import percentile_interval
from ..prediction import Prediction
from ..report import format_table
from ..result import FitResult, to_jsonable, format_number
from .shifted import SHIFTED_POWER_LAW
from .task import SIGMOID_LINK

__all__ = ["GroupFit", "L2LResult", "l2l_predict", "l2l_prediction", "predictive_samples", "discrepancy_rate",
           "LINK_LAWS"]

#: The link laws a saved result can name.
LINK_LAWS = {law.name: law for law in (SHIFTED_POWER_LAW, SIGMOID_LINK)}


def predictive_samples(law, samples: dict[str, np.ndarray], residuals, x, *, space: str,
                       seed: int = 0) -> np.ndarray:
    """(B, m) draws of a new observation at ``x``: bootstrap curve plus a resampled residual.

    The curve's uncertainty comes from the refits; the scatter of single checkpoints
    around the curve from the fit's residuals (log residuals multiply, linear ones add).
    """
    x = np.atleast_1d(np.asarray(x, dtype=float))
    curves = law.function(x[None, :], **{p: np.asarray(v)[:, None] for p, v in samples.items()})
    residuals = np.asarray(residuals, dtype=float)
    if residuals.size == 0:
        return curves
    rng = np.random.default_rng(seed)
    noise = rng.choice(residuals, size=curves.shape, replace=True)
    return curves * np.exp(noise) if space == "log" else curves + noise


@dataclass
class GroupFit:
    """One group's fit, its bootstrap and its held-out evaluation.

    ``fit`` is None when the group was flagged (``flag`` says why, e.g. a task whose
    accuracy is not monotone in loss).
    """

    name: str
    fit: FitResult | None
    heldout: dict = field(default_factory=dict)
    bootstrap: dict = field(default_factory=dict)
    reliability: dict | None = None
    flag: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def params(self) -> dict[str, float]:
        return {} if self.fit is None else self.fit.values

    def to_dict(self, samples: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"params": self.params, "heldout": {
            k: self.heldout.get(k) for k in ("mean_rel_error", "mean_abs_error", "coverage",
                                             "n", "x", "y", "predicted", "lower", "upper")}}
        if self.fit is not None:
            out["intervals"] = {p: (list(e.interval) if e.interval else None)
                                for p, e in self.fit.params.items()}
            out["at_bound"] = {p: e.at_bound for p, e in self.fit.params.items() if e.at_bound}
            out["fit"] = self.fit.to_dict()
        if self.reliability is not None:
            out["reliability"] = self.reliability
        if self.flag:
            out["flag"] = self.flag
        out["warnings"] = list(self.notes)
        if samples and self.bootstrap:
            out["bootstrap"] = self.bootstrap
        return to_jsonable(out)

    @classmethod
    def from_dict(cls, name: str, payload: dict) -> "GroupFit":
        """Rebuild a group saved with :meth:`to_dict` (``to_dict`` of the result equals
        the payload)."""
        fit = FitResult.from_dict(payload["fit"]) if payload.get("fit") else None
        return cls(name=name, fit=fit, heldout=dict(payload.get("heldout") or {}),
                   bootstrap=dict(payload.get("bootstrap") or {}),
                   reliability=payload.get("reliability"), flag=payload.get("flag"),
                   notes=list(payload.get("warnings", [])))


@dataclass(repr=False)
class L2LResult(ReportDisplay):
    """Grouped link fits: ``groups`` by name, ``skipped`` groups with the reason."""

    x: str
    y: str
    law: str
    groups: dict[str, GroupFit]
    skipped: dict[str, str] = field(default_factory=dict)
    settings: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Held-out errors averaged over groups and coverage pooled over held-out points."""
        # a fit saved with --holdout-lowest 0 has held-out errors of None (NaN in JSON)
        held = [g.heldout for g in self.groups.values()
                if isinstance(g.heldout.get("mean_rel_error"), (int, float))
                and math.isfinite(g.heldout["mean_rel_error"])]
        if not held:
            return {"n_groups": len(self.groups)}
        inside = sum(h["coverage"] * h["n"] for h in held if h.get("coverage") is not None)
        total = sum(h["n"] for h in held if h.get("coverage") is not None)
        return {"n_groups": len(self.groups),
                "mean_rel_error": float(np.mean([h["mean_rel_error"] for h in held])),
                "mean_abs_error": float(np.mean([h["mean_abs_error"] for h in held])),
                "coverage": inside / total if total else None, "n_heldout": total}

    def to_dict(self, samples: bool = True) -> dict[str, Any]:
        """``{"groups": {NAME: {"params", "heldout", ...}}, ...}`` in plain JSON types.

        ``samples=False`` leaves out the bootstrap draws (then the saved result predicts
        point values only).
        """
        return to_jsonable({"x": self.x, "y": self.y, "law": self.law,
                          "groups": {n: g.to_dict(samples) for n, g in self.groups.items()},
                          "skipped": self.skipped, "summary": self.summary(),
                          "settings": self.settings, "warnings": self.warnings})

    def to_json(self, indent: int | None = 2, samples: bool = True) -> str:
        return json.dumps(self.to_dict(samples), indent=indent)

    @classmethod
    def from_dict(cls, payload: dict) -> "L2LResult":
        """Rebuild a result saved with :meth:`to_dict` (``summary`` is recomputed)."""
        try:
            groups = {n: GroupFit.from_dict(n, g) for n, g in payload["groups"].items()}
            return cls(x=payload["x"], y=payload["y"], law=payload["law"], groups=groups,
                       skipped=dict(payload.get("skipped", {})),
                       settings=dict(payload.get("settings", {})),
                       warnings=list(payload.get("warnings", [])))
        except (KeyError, TypeError, AttributeError) as err:
            raise ValueError(f"not a saved loss-to-loss result: missing or malformed {err}"
                             ) from None

    def predict(self, x_values, group: str | None = None, **kwargs) -> Prediction:
        """Predict ``y`` at new ``x`` for one group: a ``Prediction`` (value, ci, pi,
        ``to_frame()``; see :func:`l2l_prediction`)."""
        return l2l_prediction(self.to_dict(), x_values, group, **kwargs)

    def to_frame(self):
        """One row per group: its parameters, held-out mean relative error and coverage,
        and its flag (a flagged group has no parameters)."""
        import pandas as pd

        rows = {}
        for name, group in self.groups.items():
            held = group.heldout or {}
            rows[name] = {**group.params, "heldout_mean_rel_error": held.get("mean_rel_error"),
                          "heldout_coverage": held.get("coverage"), "flag": group.flag}
        return pd.DataFrame.from_dict(rows, orient="index")

    def html_tables(self):
        """Heading, tables and warnings of the notebook view (``_repr_html_``)."""
        notes = list(self.warnings) + [f"{n}: {note}" for n, g in self.groups.items()
                                       for note in g.notes]
        return (f"{self.y} from {self.x} ({self.law}), {len(self.groups)} group(s)",
                [("groups", self.to_frame())], notes)

    def report(self) -> str:
        """Text: one block per group (parameters with intervals, held-out errors, notes)."""
        law = LINK_LAWS[self.law]
        level = self.settings.get("level", 0.9)
        lines = [f"{self.law}: {law.equation.replace('L_x', self.x).replace('L_y', self.y)}"
                 if self.law == SHIFTED_POWER_LAW.name else f"{self.law}: {law.equation}",
                 f"  ({law.citation})", f"  x = {self.x}, y = {self.y}; held out: the "
                 f"{self.settings.get('holdout_lowest', 0):.0%} lowest-x points of each group", ""]
        for name, g in self.groups.items():
            lines.append(f"group {name}")
            if g.fit is None:
                lines.append(f"  not fitted: {g.flag}")
            else:
                rows = []
                for p, e in g.fit.params.items():
                    ci = ("fixed" if p in g.fit.choices.get("fixed", {}) else
                          f"[{format_number(e.interval[0])}, {format_number(e.interval[1])}]"
                          if e.interval else "n/a")
                    rows.append([p, format_number(e.value), ci, e.at_bound or ""])
                lines.append(format_table(["param", "value", f"{level:.0%} interval",
                                           "at bound"], rows))
                lines.append(f"  fit on {g.fit.n_points} points, "
                             f"{g.fit.choices.get('objective_description', '')}")
                if g.reliability:
                    r = g.reliability
                    lines.append(f"  reliability {r['level']}: residual sd "
                                 f"{100 * r['residual_sd']:.2f} points, R^2 {r['r2']:.3f}")
            h = g.heldout
            if "mean_rel_error" in h:
                cov = "n/a" if h.get("coverage") is None else f"{h['coverage']:.0%}"
                lines.append(f"  held out {h['n']}: mean rel. error {h['mean_rel_error']:.3%}, "
                             f"mean abs. error {format_number(h['mean_abs_error'])}, "
                             f"{level:.0%} PI (curve + checkpoint scatter) coverage {cov}")
            lines.extend(f"  warning: {note}" for note in g.notes)
            lines.append("")
        for name, why in self.skipped.items():
            lines.append(f"skipped {name}: {why}")
        summary = self.summary()
        if summary.get("n_heldout"):
            lines.append(f"over {summary['n_groups']} groups: mean rel. error "
                         f"{summary['mean_rel_error']:.3%}, mean abs. error "
                         f"{format_number(summary['mean_abs_error'])}, coverage "
                         f"{summary['coverage']:.0%} of {summary['n_heldout']} held-out points")
        lines.extend(f"warning: {note}" for note in self.warnings)
        return "\n".join(lines).rstrip()

    def __str__(self) -> str:
        return self.report()


def l2l_prediction(saved: dict, x_values, group: str | None = None, *,
                   level: float | None = None, seed: int = 0) -> Prediction:
    """Translate new ``x`` values with a saved :class:`L2LResult` (its ``to_dict()``).

    Parameters are those of :func:`l2l_predict`. Returns a
    :class:`~fits.prediction.Prediction`: ``ci`` the bootstrap interval of the link, ``pi``
    a new run's (plus the residual scatter of single checkpoints and a discrepancy growing
    with the decades below the fitted x, :func:`discrepancy_rate`), both None when the
    result was saved without bootstrap samples; ``extra["below_fitted_x"]``.
    """
    try:
        groups, law = saved["groups"], LINK_LAWS[saved["law"]]
    except (KeyError, TypeError):
        raise ValueError("not a saved loss-to-loss result: expected the output of "
                         "L2LResult.to_dict() (keys 'groups' and 'law')") from None
    if group is None:
        if len(groups) != 1:
            raise ValueError(f"the result has {len(groups)} groups; choose one with `group`: "
                             f"{sorted(groups)}")
        group = next(iter(groups))
    if group not in groups:
        raise ValueError(f"unknown group {group!r}; the result has {sorted(groups)}")
    entry = groups[group]
    if not entry.get("params"):
        raise ValueError(f"group {group!r} has no fit: {entry.get('flag', 'not fitted')}")
    x = np.atleast_1d(np.asarray(x_values, dtype=float))
    if not np.all(np.isfinite(x)):
        raise ValueError("x values must be finite numbers")
    if np.any(x > MAX_LOSS):
        raise ValueError(f"x = {x.max():.6g} is not a loss in nats (below ~{MAX_LOSS:g} for "
                         f"any vocabulary): a perplexity? its log is {math.log(x.max()):.4g}; "
                         "a percentage? divide by 100")
    params = entry["params"]
    if law is SHIFTED_POWER_LAW and np.any(x <= params["E_x"]):
        raise ValueError(f"x = {x.min():.6g} is at or below the fitted offset E_x = "
                         f"{params['E_x']:.6g}, where the law is undefined")
    value = law.function(x, **params)
    level = level or saved.get("settings", {}).get("level", 0.9)
    ci = pi = None
    boot = entry.get("bootstrap")
    fitted_x = (entry.get("fit") or {}).get("data", {}).get("points", {}).get("x") or []
    below = [float(max(0.0, min(fitted_x) - v)) if fitted_x else math.nan for v in x]
    # extrapolation: decades of x below the smallest fitted x loss (what a bigger model reaches)
    decades = (np.maximum(0.0, np.log10(min(fitted_x) / x)) if fitted_x
               else np.zeros_like(x))
    rate, how = discrepancy_rate(entry, groups, law)
    if boot:
        samples = {p: np.asarray(v, dtype=float) for p, v in boot["params"].items()}
        curves = predictive_samples(law, samples, [], x, space=boot["space"])
        ci = np.moveaxis(percentile_interval(curves, level, axis=0), 0, -1)
        draws = predictive_samples(law, samples, boot["residuals"], x, space=boot["space"],
                                   seed=seed)
        # the link's own misfit grows with the distance below the fitted x (held-out errors)
        z = np.random.default_rng(seed + 1).standard_normal(draws.shape)
        spread = rate * decades[None, :] * z
        draws = draws * np.exp(spread) if boot["space"] == "log" else draws * (1 + spread)
        pi = np.moveaxis(percentile_interval(draws, level, axis=0), 0, -1)
    ci = None if ci is None else np.asarray(ci, dtype=float)
    pi = None if pi is None else np.asarray(pi, dtype=float)
    return Prediction(value=value, ci=ci, pi=pi, level=level, at={"x": x},
                      extrapolation=decades, extrapolation_by={"x": decades},
                      quantity="y", law=str(saved["law"]), interval_method=how,
                      warnings=_above_fitted(x, fitted_x),
                      extra={"below_fitted_x": below, "group": group})


def _above_fitted(x, fitted_x) -> tuple:
    """x losses above every fitted one (smaller models than any fitted): the link is
    extrapolated upward, where its discrepancy was never calibrated."""
    if not fitted_x or not np.any(x > max(fitted_x) * 1.01):
        return ()
    top = float(max(fitted_x))
    n = int(np.sum(x > top * 1.01))
    return (f"{n} x value(s) above the largest fitted x loss {top:.4g} (up to {x.max():.4g}): "
            "the link is extrapolated upward (to weaker models than any fitted) and its "
            "interval does not grow there; give x within or below the fitted range",)


def l2l_predict(saved: dict, x_values, group: str | None = None, *, level: float | None = None,
                seed: int = 0) -> dict[str, Any]:
    """Translate new ``x`` values with a saved :class:`L2LResult` (its ``to_dict()``).

    Parameters
    ----------
    saved : dict
        ``L2LResult.to_dict()`` (e.g. read back from ``--json`` output).
    x_values : float or sequence
        New values of the x loss.
    group : str, optional
        Which group's curve; may be omitted when the result has one group.
    level : float, optional
        Interval level (default: the level of the fit).
    seed : int
        Seed of the residual draws.

    Returns
    -------
    dict
        ``{"group", "x", "value", "ci", "pi", "interval", "level", "extrapolation",
        "below_fitted_x"}``: ``ci`` the bootstrap interval of the link, ``pi`` (also
        ``interval``) a new run's: plus the residual scatter of single checkpoints and a
        discrepancy growing with the decades below the fitted x
        (:func:`discrepancy_rate`); both None when the result was saved without
        bootstrap samples.

    Raises
    ------
    ValueError
        For an unknown group, a flagged group, or an x at or below the fitted ``E_x``.
    """
    pred = l2l_prediction(saved, x_values, group, level=level, seed=seed)
    below = pred.extra["below_fitted_x"].tolist()
    pi = None if pred.pi is None else pred.pi.tolist()
    return to_jsonable({"group": str(pred.extra["group"][0]), "x": pred.at["x"].tolist(),
                        "value": pred.value.tolist(),
                        "ci": None if pred.ci is None else pred.ci.tolist(), "pi": pi,
                        "interval": pi, "level": pred.level,
                        "extrapolation": {"decades": pred.extrapolation.tolist(),
                                          "variable": "x loss", "below_fitted_x": below},
                        "pi_method": pred.interval_method, "below_fitted_x": below,
                        "warnings": list(pred.warnings)})


def _discrepancy_terms(entry: dict):
    """``(e**2 - s**2, d)`` of a group's held-out points below its fitted x: squared log
    error less the residual variance, and decades below the fitted x; None without."""
    held = entry.get("heldout") or {}
    fitted_x = (entry.get("fit") or {}).get("data", {}).get("points", {}).get("x") or []
    boot = entry.get("bootstrap") or {}
    if not held.get("x") or not fitted_x or not held.get("predicted"):
        return None
    xh, yh, ph = (np.asarray(held[k], dtype=float) for k in ("x", "y", "predicted"))
    d = np.log10(min(fitted_x) / xh)
    ok = (d > 1e-6) & (yh > 0) & (ph > 0)
    if not ok.any():
        return None
    res = np.asarray(boot.get("residuals") or [0.0], dtype=float)
    s2 = float(np.mean(res ** 2)) if boot.get("space") == "log" else 0.0
    return np.log(yh[ok] / ph[ok]) ** 2 - s2, d[ok]


def _slope_bound(entry: dict, law) -> float:
    """Relative change of the translated loss per decade of x at the low end of the
    fitted range: a discrepancy growing faster would make the link no better than
    guessing, so it bounds the rate."""
    params = entry.get("params") or {}
    fitted_x = (entry.get("fit") or {}).get("data", {}).get("points", {}).get("x") or []
    if not params or not fitted_x or law is None:
        return math.inf
    x0 = float(min(fitted_x))
    y = law.function(np.array([x0, x0 * 10 ** -0.01]), **params)
    if np.any(~np.isfinite(y)) or np.any(y <= 0):
        return math.inf
    return float(abs(np.log(y[1] / y[0])) / 0.01)


def discrepancy_rate(entry: dict, groups: dict | None = None, law=None) -> tuple[float, str]:
    """Relative sd per decade of x below the fitted range, from held-out points.

    The held-out points (the lowest x of a group, not fitted) are exactly the
    extrapolation a translation makes. The rate is the least-squares slope through the
    origin of ``e**2 - s**2`` on ``d**2`` (e: log error, s: residual sd, d: decades below
    the fitted x), ``r**2 = sum((e**2 - s**2) d**2) / sum(d**4)``: far points weigh most
    and a point a hair below the range cannot blow it up (the earlier per-point
    ``mean(e**2 / d**2)`` swung from 0.011 to 29 per decade with points 0.02 decades
    out, issue 25). With ``groups`` (all entries of a saved result) the held-out points
    of every fitted group are pooled and the group's own rate is shrunk towards the
    pooled one (the pool weighs as one group of the average size): one group holds 3-7
    held-out points, too few for a rate of its own.
    The rate is bounded by the link's own change per decade (:func:`_slope_bound`) and
    floored at the point-law floor; without held-out points the conservative default
    (:data:`fits.intervals.DEFAULT_RATE`) is used.
    """
    from ..intervals import DEFAULT_RATE, MIN_RATE

    own = _discrepancy_terms(entry)
    pool = [] if not groups else [g for g in groups.values() if g.get("params")]
    terms = [t for t in (_discrepancy_terms(g) for g in pool) if t is not None]
    if own is None and not terms:
        return DEFAULT_RATE, (f"default discrepancy {DEFAULT_RATE:.0%} per decade (no "
                              "held-out points below the fitted x)")

    def slope(e2, d):
        return float(np.sum(np.maximum(e2, 0.0) * d ** 2) / np.sum(d ** 4))

    n_pool = sum(t[1].size for t in terms)
    if own is not None and len(terms) > 1:
        # the pool counts as one more group of the average size: empirical-Bayes shrinkage
        k = n_pool / len(terms)
        pooled = slope(np.concatenate([t[0] for t in terms]),
                       np.concatenate([t[1] for t in terms]))
        rate = float(np.sqrt((own[1].size * slope(*own) + k * pooled) / (own[1].size + k)))
        n_used = f"{own[1].size} held-out points, shrunk towards {n_pool} of {len(terms)} groups"
    elif own is not None:
        rate, n_used = float(np.sqrt(slope(*own))), f"{own[1].size} held-out points"
    else:
        rate = float(np.sqrt(slope(np.concatenate([t[0] for t in terms]),
                                   np.concatenate([t[1] for t in terms]))))
        n_used = f"{n_pool} held-out points of {len(terms)} other groups"
    how = (f"discrepancy {{rate:.3g}} relative sd per decade of x below the fitted range, from "
           f"{n_used}")
    bound = _slope_bound(entry, law)
    if rate > bound:
        rate = bound
        how += " (bounded by the link's own change per decade)"
    rate = max(rate, MIN_RATE)
    return rate, how.format(rate=rate)
