"""A typed early-curve prediction: one :class:`~fits.prediction.Prediction` (the run's
final loss with ``ci``/``pi``) plus a small, immutable :class:`EarlyDetail` (what was
carried over from the reference and how much of the run was seen) and the predicted
curve as arrays, instead of a long dict of lists."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from ..prediction import Prediction

__all__ = ["EarlyCurve", "EarlyDetail", "early_curve"]


@dataclass(frozen=True)
class EarlyDetail:
    """How an early-curve prediction was made.

    ``params`` the law's parameters for the run; ``fixed`` / ``tied`` what was carried
    over from the reference (``tied``: ``{name: {"to", "ratio"}}``); ``amplitude`` the
    carry-over mode; ``upto_step`` the last step seen, ``final_step`` the step predicted,
    ``fraction_seen`` of the planned run.
    """

    params: Mapping[str, float]
    fixed: Mapping[str, float] = field(default_factory=dict)
    tied: Mapping[str, Mapping] = field(default_factory=dict)
    amplitude: str = ""
    upto_step: int = 0
    final_step: int = 0
    fraction_seen: float = 0.0


@dataclass(frozen=True, repr=False)
class EarlyCurve:
    """An early-curve prediction: ``prediction`` (final loss), ``detail``, and the
    predicted curve (``steps``, ``loss``; read-only arrays)."""

    prediction: Prediction
    detail: EarlyDetail
    steps: np.ndarray
    loss: np.ndarray

    def to_frame(self):
        """The final-loss prediction as a one-row DataFrame (see ``Prediction.to_frame``)."""
        return self.prediction.to_frame()

    def curve_frame(self):
        """The predicted curve: a DataFrame with columns ``step`` and ``loss``."""
        import pandas as pd

        return pd.DataFrame({"step": self.steps, "loss": self.loss})

    @property
    def warnings(self) -> tuple:
        return self.prediction.warnings

    def __repr__(self) -> str:
        d = self.detail
        return (f"<EarlyCurve: seen {d.fraction_seen:.0%} (to step {d.upto_step}) of "
                f"{d.final_step + 1} steps\n{self.prediction.report()}>")

    def _repr_html_(self) -> str:
        d = self.detail
        return (f"<div>early curve: seen {d.fraction_seen:.0%} (to step {d.upto_step}) of "
                f"{d.final_step + 1} steps; amplitude {html.escape(d.amplitude)}"
                f"{self.prediction._repr_html_()}</div>")


def early_curve(out: Mapping, *, run_id=None, law: str = "") -> EarlyCurve:
    """The typed form of :func:`fits.curve.early.predict_from_prefix`'s result ``out``."""
    final = out["final_loss"]
    reach = final.get("extrapolation") or {}
    decades = float(reach.get("decades", 0.0))
    prediction = Prediction(
        value=[final["value"]], ci=None if final.get("ci") is None else [final["ci"]],
        pi=None if final.get("pi") is None else [final["pi"]], level=final["level"],
        at={"step": out["final_step"]}, index=None if run_id is None else [run_id],
        extrapolation=[decades], extrapolation_by={"steps": [decades]},
        quantity="final loss", law=law or str(out.get("law", "")),
        interval_method=out.get("interval_method", ""),
        warnings=tuple(out.get("warnings", ())),
        extra={"fraction_seen": out["fraction_seen"]})
    detail = EarlyDetail(params={k: float(v) for k, v in out["params"].items()},
                         fixed=dict(out.get("fixed", {})), tied=dict(out.get("tied", {})),
                         amplitude=str(out.get("amplitude", "")),
                         upto_step=int(out["upto_step"]), final_step=int(out["final_step"]),
                         fraction_seen=float(out["fraction_seen"]))
    steps = np.asarray(out["curve"]["steps"])
    loss = np.asarray(out["curve"]["loss"], dtype=float)
    steps.setflags(write=False)
    loss.setflags(write=False)
    return EarlyCurve(prediction, detail, steps, loss)
