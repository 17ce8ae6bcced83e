"""One typed answer for every prediction: value, ``ci``, ``pi``, level, extrapolation.

Every family (point laws, curve laws, early curves, loss-to-loss translations, plans,
saved-fit batches) returns a :class:`Prediction`. It holds one row per target, is
immutable, carries its warnings (the caller shows them; nothing is emitted and then
silenced), and turns into a DataFrame with :meth:`Prediction.to_frame`.

Two intervals, never confused:

``ci``
    the confidence interval of the law's mean at the target (parameter uncertainty only:
    where the law itself would be with more runs like these).
``pi``
    the prediction interval for a *new run* at the target: the law's uncertainty plus
    the run-to-run scatter and the growth of error with extrapolation distance,
    calibrated by backtests on the user's table where there are enough runs. This is the
    interval to act on, and the one printed and plotted by default.

Both are at ``level`` (default 0.9 everywhere).
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

import numpy as np

__all__ = ["DEFAULT_LEVEL", "Prediction"]

#: The one default interval level used by every verb and function.
DEFAULT_LEVEL = 0.9


def _column(values, n: int, name: str) -> np.ndarray:
    out = np.atleast_1d(np.asarray(values, dtype=float))
    if out.shape != (n,):
        raise ValueError(f"Prediction: `{name}` has shape {out.shape}, expected ({n},)")
    return out


def _bounds(values, n: int, name: str) -> np.ndarray | None:
    if values is None:
        return None
    out = np.asarray(values, dtype=float)
    if out.ndim == 1 and out.shape == (2,) and n == 1:
        out = out[None, :]
    if out.shape != (n, 2):
        raise ValueError(f"Prediction: `{name}` has shape {out.shape}, expected ({n}, 2)")
    return out


def _fmt(v: float) -> str:
    return "nan" if not math.isfinite(v) else f"{v:.4g}" if abs(v) >= 1e4 else f"{v:.4f}"


@dataclass(frozen=True, repr=False)
class Prediction:
    """Predicted values at one or more targets, with their intervals.

    Parameters
    ----------
    value : array (m,)
        Point predictions (the law's best fit).
    ci, pi : array (m, 2) or None
        Confidence interval of the law's mean / prediction interval for a new run, at
        ``level``. ``None`` when not computed (say why in ``interval_method``).
    level : float
        Coverage both intervals aim for (0.9 by default).
    at : dict of str -> array (m,)
        The targets: the law's variables (``N``, ``D``, ``step``, ``x`` ...) or labels.
    index : sequence, optional
        Row labels (a run id, a candidate schedule, the caller's DataFrame index).
    extrapolation : array (m,)
        Decades (or the family's stated unit) past the fitted range; 0 inside it.
    extrapolation_by : dict of str -> array (m,)
        The same distance per axis (``N``, ``D``, ``C``, ``tokens_per_param``, ``steps``).
    quantity : str
        What is predicted (``"loss"``, ``"y"``, ``"accuracy"``, ``"N*"`` ...).
    law : str
        The law (or family) that made the prediction.
    interval_method : str
        How ``pi`` was built (e.g. ``"backtest"``, ``"default"``, ``"prefix-backtest"``).
    warnings : tuple of str
        Problems the caller should show (extrapolation, uncalibrated interval ...).
    extra : dict of str -> array (m,)
        Further per-row columns (``observed``, ``error`` ...), kept in ``to_frame``.
    details : dict, optional
        What is not per row (the calibration, the fitted steps of a chain ...), plain
        JSON types; in ``to_dict`` under ``"details"``, not in ``to_frame``.
    """

    value: np.ndarray
    ci: np.ndarray | None = None
    pi: np.ndarray | None = None
    level: float = DEFAULT_LEVEL
    at: Mapping[str, Any] = field(default_factory=dict)
    index: Sequence | None = None
    extrapolation: np.ndarray | None = None
    extrapolation_by: Mapping[str, Any] = field(default_factory=dict)
    quantity: str = "loss"
    law: str = ""
    interval_method: str = ""
    warnings: tuple = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        value = np.atleast_1d(np.asarray(self.value, dtype=float))
        if value.ndim != 1:
            raise ValueError(f"Prediction: `value` must be 1-D, got shape {value.shape}")
        n = value.shape[0]
        set_ = object.__setattr__
        set_(self, "value", value)
        set_(self, "ci", _bounds(self.ci, n, "ci"))
        set_(self, "pi", _bounds(self.pi, n, "pi"))
        if not 0.0 < float(self.level) < 1.0:
            raise ValueError(f"Prediction: `level` must be in (0, 1), got {self.level!r}")
        set_(self, "level", float(self.level))
        set_(self, "at", {k: np.broadcast_to(np.asarray(v), (n,)).copy()
                          for k, v in dict(self.at).items()})
        ext = np.zeros(n) if self.extrapolation is None else self.extrapolation
        set_(self, "extrapolation", _column(ext, n, "extrapolation"))
        set_(self, "extrapolation_by", {k: _column(v, n, f"extrapolation_by[{k}]")
                                        for k, v in dict(self.extrapolation_by).items()})
        set_(self, "extra", {k: np.broadcast_to(np.asarray(v), (n,)).copy()
                             for k, v in dict(self.extra).items()})
        if self.index is not None:
            index = list(self.index)
            if len(index) != n:
                raise ValueError(f"Prediction: `index` has {len(index)} labels for {n} rows")
            set_(self, "index", tuple(index))
        set_(self, "warnings", tuple(str(w) for w in self.warnings))
        for arr in (self.value, self.ci, self.pi, self.extrapolation):
            if arr is not None:
                arr.setflags(write=False)

    # -- shape ---------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.value.shape[0])

    def __array__(self, dtype=None, copy=None):
        """``np.asarray(prediction)`` is the point predictions (``value``)."""
        return np.array(self.value, dtype=dtype)

    def __float__(self) -> float:
        if len(self) != 1:
            raise TypeError(f"float() of a Prediction with {len(self)} rows; use .value")
        return float(self.value[0])

    def __getitem__(self, i) -> "Prediction":
        """Row(s) ``i`` as a new Prediction (an int, a slice or a boolean mask)."""
        rows = np.arange(len(self))[i]
        rows = np.atleast_1d(rows)
        pick = (lambda a: None if a is None else np.asarray(a)[rows])
        return replace(
            self, value=self.value[rows], ci=pick(self.ci), pi=pick(self.pi),
            at={k: v[rows] for k, v in self.at.items()},
            index=None if self.index is None else [self.index[j] for j in rows],
            extrapolation=self.extrapolation[rows],
            extrapolation_by={k: v[rows] for k, v in self.extrapolation_by.items()},
            extra={k: v[rows] for k, v in self.extra.items()})

    def with_warnings(self, *more: str) -> "Prediction":
        """A copy with ``more`` warnings appended (results are never mutated)."""
        return replace(self, warnings=self.warnings + tuple(more))

    # -- views ---------------------------------------------------------------------
    @property
    def pct(self) -> str:
        """The level as a label, e.g. ``"90%"``."""
        return f"{100 * self.level:g}%"

    def width(self, which: str = "pi") -> np.ndarray:
        """Relative width ``(hi - lo) / value`` of ``pi`` or ``ci`` per row (nan if absent)."""
        bounds = getattr(self, which)
        if bounds is None:
            return np.full(len(self), np.nan)
        return (bounds[:, 1] - bounds[:, 0]) / np.abs(self.value)

    def covers(self, observed, which: str = "pi") -> np.ndarray:
        """Whether each observed value lies inside the interval (``which``)."""
        bounds = getattr(self, which)
        obs = _column(observed, len(self), "observed")
        if bounds is None:
            return np.zeros(len(self), dtype=bool)
        return (bounds[:, 0] <= obs) & (obs <= bounds[:, 1])

    def to_frame(self):
        """One row per target: ``at`` columns, ``value``, ``ci_lower``/``ci_upper``,
        ``pi_lower``/``pi_upper``, ``level``, ``extrapolation`` (+ per axis), extras."""
        import pandas as pd

        cols: dict[str, Any] = {}
        for k, v in self.at.items():
            cols[k] = v
        cols["value"] = self.value
        for name in ("ci", "pi"):
            bounds = getattr(self, name)
            nan = np.full(len(self), np.nan)
            cols[f"{name}_lower"] = nan if bounds is None else bounds[:, 0]
            cols[f"{name}_upper"] = nan if bounds is None else bounds[:, 1]
        cols["level"] = np.full(len(self), self.level)
        cols["extrapolation"] = self.extrapolation
        for k, v in self.extrapolation_by.items():
            cols[f"extrapolation_{k}"] = v
        for k, v in self.extra.items():
            cols[k] = v
        index = None if self.index is None else pd.Index(list(self.index))
        return pd.DataFrame(cols, index=index)

    def to_dict(self) -> dict:
        """Plain JSON types: ``{"quantity", "law", "level", "interval_method", "warnings",
        "rows": [{"at", "value", "ci", "pi", "level", "extrapolation"}, ...]}``."""
        rows = []
        for i in range(len(self)):
            rows.append(self.entry(i))
        out = {"quantity": self.quantity, "law": self.law, "level": self.level,
               "interval_method": self.interval_method, "warnings": list(self.warnings),
               "rows": rows}
        if self.details:
            out["details"] = dict(self.details)
        return out

    def entry(self, i: int = 0) -> dict:
        """Row ``i`` in the JSON shape every verb prints: ``value, ci, pi, level,
        extrapolation`` (+ ``at``, ``index``, extras)."""
        def pair(b):
            return None if b is None else [float(b[i, 0]), float(b[i, 1])]

        out = {"value": float(self.value[i]), "ci": pair(self.ci), "pi": pair(self.pi),
               "level": self.level,
               "extrapolation": {"decades": float(self.extrapolation[i])}}
        if self.extrapolation_by:
            out["extrapolation"]["by"] = {k: float(v[i])
                                          for k, v in self.extrapolation_by.items()}
        if self.interval_method:
            out["pi_method"] = self.interval_method
        if self.at:
            out["at"] = {k: _plain(v[i]) for k, v in self.at.items()}
        if self.index is not None:
            out["index"] = _plain(self.index[i])
        for k, v in self.extra.items():
            out[k] = _plain(v[i])
        return out

    def report(self, max_rows: int = 20) -> str:
        """A short table: one line per target with value and both intervals."""
        head = (f"{self.quantity} ({self.law}) with {self.pct} intervals: pi = new run, "
                f"ci = law mean" + (f"; pi from {self.interval_method}"
                                    if self.interval_method else ""))
        lines = [head]
        for i in range(min(len(self), max_rows)):
            label = (str(self.index[i]) if self.index is not None else
                     ", ".join(f"{k}={_fmt(float(v[i])) if _isnum(v[i]) else v[i]}"
                               for k, v in self.at.items()) or f"#{i}")
            pi = ("" if self.pi is None else
                  f"  pi [{_fmt(self.pi[i, 0])}, {_fmt(self.pi[i, 1])}]")
            ci = ("" if self.ci is None else
                  f"  ci [{_fmt(self.ci[i, 0])}, {_fmt(self.ci[i, 1])}]")
            ext = (f"  {self.extrapolation[i]:.2f} decades out"
                   if self.extrapolation[i] > 0 else "")
            lines.append(f"  {label}: {_fmt(self.value[i])}{pi}{ci}{ext}")
        if len(self) > max_rows:
            lines.append(f"  ... {len(self) - max_rows} more rows (.to_frame() has all)")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Prediction\n{self.report(max_rows=8)}>"

    def _repr_html_(self) -> str:
        frame = self.to_frame()
        body = frame.head(50).to_html(float_format=lambda v: f"{v:.6g}")
        warn = "".join(f"<li>{html.escape(w)}</li>" for w in self.warnings)
        return (f"<div><b>{html.escape(self.quantity)}</b> ({html.escape(self.law)}), "
                f"{self.pct} intervals (pi: new run, ci: law mean){body}"
                + (f"<ul>{warn}</ul>" if warn else "") + "</div>")


def _isnum(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating))


def _plain(v):
    if isinstance(v, np.generic):
        return v.item()
    return v
