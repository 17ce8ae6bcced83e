"""One result type for every fit: parameters, objective, data used, choices,
convergence and warnings, printable (``report()``) and serializable (``to_dict()``)."""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from .display import ReportDisplay, format_number

__all__ = ["FitWarning", "ParamEstimate", "FitResult", "format_number", "to_jsonable"]


class FitWarning(UserWarning):
    """A fit finished but should not be trusted blindly (the message names the remedy)."""


@dataclass
class ParamEstimate:
    """One fitted parameter in the paper's units.

    ``stderr`` is an approximate standard error (Gauss-Newton, see ``FitResult.choices``),
    ``interval`` a confidence interval when one was computed (e.g. by the bootstrap),
    ``at_bound`` is ``"lower"``/``"upper"`` when the optimum sits on that bound.
    """

    name: str
    value: float
    stderr: float | None
    lower: float
    upper: float
    at_bound: str | None = None
    interval: tuple[float, float] | None = None


def to_jsonable(obj):
    """Plain JSON types (dicts, lists, floats; NaN/inf -> None) from numpy-laden objects."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        value = float(obj)
        return value if math.isfinite(value) else None
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


@dataclass(repr=False)
class FitResult(ReportDisplay):
    """What a fit returns.

    Attributes
    ----------
    law, equation, citation : str
    params : dict of ParamEstimate
    objective : float
        Summed objective at the optimum.
    n_points, n_runs : int
    data : dict
        Which runs were used and dropped, variable ranges, source, data hash.
    choices : dict
        Loss, delta, starts, bounds, seed, ...
    convergence : dict
        ``converged``, ``n_starts``, ``n_at_best``, optimizer messages.
    warnings : list of str
    version : str
        Package version that produced it.
    draws : dict
        Bootstrap draws of the parameters, ``{symbol: (B,) values}`` (empty without a
        bootstrap); a saved fit predicts with intervals from them.
    """

    law: str
    equation: str
    citation: str
    params: dict[str, ParamEstimate]
    objective: float
    n_points: int
    n_runs: int
    data: dict = field(default_factory=dict)
    choices: dict = field(default_factory=dict)
    convergence: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    version: str = ""
    draws: dict = field(default_factory=dict)

    # -- access -------------------------------------------------------------
    @property
    def values(self) -> dict[str, float]:
        """``{symbol: value}``."""
        return {name: p.value for name, p in self.params.items()}

    def __getitem__(self, name: str) -> float:
        return self.params[name].value

    @property
    def converged(self) -> bool:
        return bool(self.convergence.get("converged", False))

    @property
    def heldout(self) -> dict:
        """Held-out errors per run (curve laws), ``{}`` when none were evaluated."""
        return self.data.get("heldout", {})

    @heldout.setter
    def heldout(self, value: dict) -> None:
        self.data["heldout"] = value

    def predict(self, **variables) -> np.ndarray:
        """Evaluate the fitted law, for every family of law.

        Point laws at arrays of their variables (``predict(N=..., D=...)``; the power law
        at ``x=`` or the name it was fitted on, e.g. ``N=``); curve laws along a schedule
        (``predict(schedule=spec or lr=array, steps=None, N=None)``: the loss at each
        step); loss-to-loss links at ``x=``. Intervals and extrapolation distances for a
        table of targets: :func:`fits.saved.predict_targets`.
        """
        from .evaluate import predict_values

        return predict_values(self, **variables)

    def warn(self, stacklevel: int = 2) -> None:
        """Emit every stored warning as a :class:`FitWarning`."""
        for message in self.warnings:
            warnings.warn(message, FitWarning, stacklevel=stacklevel + 1)

    # -- serialization ---------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only (NaN/inf become ``None``)."""
        out = asdict(self)
        out["params"] = {name: {k: v for k, v in asdict(p).items() if k != "name"}
                         for name, p in self.params.items()}
        if "heldout" in self.data:  # curve laws: per-run held-out errors at the top level
            out["heldout"] = self.data["heldout"]
        return to_jsonable(out)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, payload: dict) -> "FitResult":
        """Rebuild a result saved with :meth:`to_dict`; a malformed file or values outside
        the law's bounds raise ``ValueError`` naming the key (:mod:`fits.saved_check`)."""
        from .saved_check import check_saved_fit

        check_saved_fit(payload)
        try:
            params = {name: ParamEstimate(name=name, **{
                k: (tuple(v) if k == "interval" and v is not None else v)
                for k, v in spec.items()}) for name, spec in payload["params"].items()}
            fields = {k: payload[k] for k in ("law", "equation", "citation", "objective",
                                               "n_points", "n_runs")}
        except (KeyError, TypeError) as err:
            raise ValueError(f"not a saved fit result: missing or malformed {err}") from None
        return cls(params=params, data=payload.get("data", {}),
                   choices=payload.get("choices", {}),
                   convergence=payload.get("convergence", {}),
                   warnings=list(payload.get("warnings", [])),
                   version=payload.get("version", ""), draws=payload.get("draws") or {},
                   **fields)

    def report(self) -> str:
        """A readable multi-line summary (what ``scaling fit`` prints)."""
        from .report import format_fit

        return format_fit(self)

    def __str__(self) -> str:
        return self.report()

    def with_data(self, **entries) -> "FitResult":
        """A copy with ``entries`` added to ``data`` (results are not mutated)."""
        return replace(self, data={**self.data, **entries})

    def with_warnings(self, *more: str) -> "FitResult":
        """A copy with ``more`` warnings appended."""
        return replace(self, warnings=list(self.warnings) + list(more))

    def params_frame(self):
        """The parameters as a DataFrame: value, stderr, interval, bounds, at_bound."""
        import pandas as pd

        rows = {n: {"value": p.value, "stderr": p.stderr,
                    "interval_lower": None if p.interval is None else p.interval[0],
                    "interval_upper": None if p.interval is None else p.interval[1],
                    "lower_bound": p.lower, "upper_bound": p.upper, "at_bound": p.at_bound}
                for n, p in self.params.items()}
        return pd.DataFrame.from_dict(rows, orient="index")

    def html_tables(self):
        """Heading, tables and warnings of the notebook view (``_repr_html_``)."""
        import pandas as pd

        converged = self.convergence.get("converged")
        info = pd.DataFrame({"": [self.equation, self.n_points, self.n_runs,
                                  f"{self.objective:.6g}", converged]},
                            index=["equation", "points", "runs", "objective", "converged"])
        return (f"{self.law}", [("fit", info), ("parameters", self.params_frame())],
                self.warnings)
