"""Loss curves with their per-step LR, read from a runs table.

A :class:`Curve` is what the curve laws fit and predict: the observed steps and losses
of one run and the LR at every step of its schedule (``data.schedules.lr_schedule``), so
the same law evaluates logged runs and planned schedules alike.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np

from scaling.data.schedules import Schedule, logged_warmup_steps, lr_schedule

__all__ = ["Curve", "curves_from_table", "schedule_of_run", "warmup_of"]

_log = logging.getLogger(__name__)
_SPEC_COLUMNS = ("schedule", "peak_lr", "end_lr", "warmup_steps", "decay_start",
                 "total_steps", "cooldown_frac", "cooldown", "warmup", "warmup_lr", "factor")


@dataclass
class Curve:
    """One run's loss curve and its learning-rate schedule.

    Attributes
    ----------
    run_id : str
    steps : (n,) int array
        Observed steps (sorted, within the schedule).
    loss : (n,) float array
    lr : (T,) float array
        LR at every step ``0 .. T - 1``.
    N : float or None
        Model size (parameters), for the size-extended laws.
    warmup_steps : int
    schedule : dict or None
        The schedule spec (``Schedule.to_dict()``), when known.
    split : str or None
        The run's ``split`` label (``fit``/``test``), when given.
    dropped : dict
        Points left out and why (``{"warmup": 3, "beyond_schedule": 1}``).
    """

    run_id: str
    steps: np.ndarray
    loss: np.ndarray
    lr: np.ndarray
    N: float | None = None
    warmup_steps: int = 0
    schedule: dict | None = None
    split: str | None = None
    dropped: dict = field(default_factory=dict)
    tokens_per_step: float | None = None

    def summary(self) -> dict:
        """Schedule family, peak LR and tokens per step: what must match between a
        reference fit and a run predicted from it."""
        kind = (self.schedule or {}).get("kind")
        return {"kind": kind, "peak_lr": float(self.lr.max()),
                "tokens_per_step": self.tokens_per_step, "warmup_steps": int(self.warmup_steps)}

    @property
    def total_steps(self) -> int:
        return int(self.lr.size)

    def head(self, upto_step: int) -> "Curve":
        """The part of the curve observed up to ``upto_step`` (inclusive)."""
        keep = self.steps <= upto_step
        if not keep.any():
            raise ValueError(f"run {self.run_id!r} has no point at or before step "
                             f"{upto_step} (its first point is step {self.steps[0]})")
        return Curve(self.run_id, self.steps[keep], self.loss[keep], self.lr, self.N,
                     self.warmup_steps, self.schedule, self.split, dict(self.dropped),
                     self.tokens_per_step)


def _present(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def schedule_of_run(row, points=None) -> Schedule:
    """The LR schedule of one runs-table row (a spec), else from its logged ``lr`` column.

    A spec of an unknown kind (``other``, a cooldown shape the spec cannot express)
    falls back to the logged ``lr`` column when the run has one. Logged LRs are
    reconstructed by :meth:`Schedule.from_log` (linear between logged steps; a rising
    warmup extended back to step 0 along its first two points).

    Raises
    ------
    ValueError
        Naming the run, if it has neither a usable spec nor logged LRs.
    """
    spec = {c: row[c] for c in _SPEC_COLUMNS if c in row and _present(row[c])}
    logged = None
    if points is not None and "lr" in points and points["lr"].notna().any():
        logged = points[points["lr"].notna()]
    problem = None
    if "schedule" in spec:
        try:
            return Schedule.from_dict(spec)
        except ValueError as err:
            if logged is None:
                raise ValueError(f"run {row['run_id']!r}: its schedule spec is not usable "
                                 f"({err}) and it has no logged `lr` column to fall back "
                                 "on") from None
            problem = str(err)
    if logged is not None:
        total = int(spec["total_steps"]) if "total_steps" in spec else None
        if total is not None and logged["step"].max() >= total:
            total = None  # a log past the nominal end: take the log's length
        schedule = Schedule.from_log(logged["step"].to_numpy(), logged["lr"].to_numpy(),
                                     total)
        if problem:
            _log.info("run %r: schedule spec not usable (%s); using its logged lr",
                      row["run_id"], problem)
        return schedule
    raise ValueError(f"run {row['run_id']!r} has no LR schedule: give the runs columns "
                     f"{list(_SPEC_COLUMNS)} or an `lr` column in the points")


def warmup_of(schedule: Schedule, lr) -> int:
    """End of a schedule's (first) warmup: the spec's ``warmup_steps`` (a rewarm's base
    schedule's: the rewarm's own rise undoes annealing and counts), for a logged schedule
    the first step at the peak LR when the LR rises to it. Every curve law leaves the
    warmup's rising LR out of its annealing term."""
    if schedule.kind == "from_log":
        return logged_warmup_steps(lr)
    if schedule.kind == "rewarm":
        return int(schedule.base.warmup_steps) if schedule.base is not None else 0
    return int(schedule.warmup_steps)


def _kept(run_id, steps, lr, warm, rules):
    """Which points of a run a fit keeps (mask) and how many each rule dropped;
    ``rules`` = ``(drop_warmup, min_step, every)`` of :func:`curves_from_table`."""
    drop_warmup, min_step, every = rules
    area = np.cumsum(lr)
    beyond = steps >= lr.size
    early = ~beyond & (steps < warm) if drop_warmup else np.zeros_like(beyond)
    before = ~beyond & ~early & (steps < min_step)
    zero = ~beyond & ~early & ~before & (area[np.minimum(steps, lr.size - 1)] <= 0)
    keep = ~(beyond | early | before | zero)
    if not keep.any():
        raise ValueError(f"run {run_id!r} has no points inside its schedule after "
                         f"warmup (steps {steps.min()}..{steps.max()}, "
                         f"{lr.size} scheduled steps, warmup {warm}"
                         + (f", min_step {min_step}" if min_step else "") + ")")
    if every > 1:
        kept = np.flatnonzero(keep)
        thin = np.zeros_like(keep)
        thin[kept[::every]] = True
        thin[kept[-1]] = True
        thinned, keep = keep & ~thin, thin
    else:
        thinned = np.zeros_like(keep)
    dropped = {name: int(mask.sum()) for name, mask in
               (("warmup", early), ("beyond_schedule", beyond),
                ("before_min_step", before), ("zero_lr_area", zero),
                ("thinned", thinned))
               if mask.any()}
    return keep, dropped


def curves_from_table(table, run_ids=None, *, drop_warmup: bool = True,
                      min_step: int = 0, every: int = 1) -> list[Curve]:
    """The loss curves of ``run_ids`` (default: every run) of a runs table.

    Parameters
    ----------
    table : data.RunsTable
    run_ids : sequence of str, optional
    drop_warmup : bool
        Leave out points before the end of the warmup (default; the laws describe the
        loss once training has settled, and the first points carry the most noise). For
        a schedule from logged LRs the warmup ends at the first step at the peak LR.
    min_step : int
        Also leave out points before this step (their LRs still count in the law).
    every : int
        Keep every ``every``-th remaining point of each run, always with its last (only
        to save time: the laws evaluate per-step logs in O(T) anyway).

    Returns
    -------
    list of Curve

    Raises
    ------
    ValueError
        For unknown run ids, runs without a schedule or without points.
    """
    if int(every) < 1 or int(min_step) < 0:
        raise ValueError(f"`every` must be >= 1 and `min_step` >= 0, got {every}, "
                         f"{min_step}")
    runs = table.runs.set_index("run_id", drop=False)
    if run_ids is None:
        run_ids = list(runs.index)
    unknown = [r for r in run_ids if r not in runs.index]
    if unknown:
        raise ValueError(f"unknown run_id(s) {unknown[:5]}; the table has "
                         f"{list(runs.index)[:5]}{' ...' if len(runs) > 5 else ''}")
    grouped = dict(tuple(table.points.groupby("run_id", sort=False)))
    curves = []
    for run_id in run_ids:
        row = runs.loc[run_id]
        points = grouped.get(run_id)
        if points is None or points.empty:
            raise ValueError(f"run {run_id!r} has no points")
        points = points.sort_values("step")
        schedule = schedule_of_run(row, points)
        lr = lr_schedule(schedule)
        steps = points["step"].to_numpy(dtype=np.int64)
        loss = points["loss"].to_numpy(dtype=np.float64)
        warm = warmup_of(schedule, lr)
        keep, dropped = _kept(run_id, steps, lr, warm, (drop_warmup, min_step, every))
        split = (row["split"] if "split" in row else
                 points["split"].iloc[0] if "split" in points else None)
        N = float(row["N"]) if "N" in row and _present(row["N"]) else None
        tps = row["tokens_per_step"] if "tokens_per_step" in row else None
        curves.append(Curve(str(run_id), steps[keep], loss[keep], lr, N, warm,
                            schedule.to_dict(), split if _present(split) else None, dropped,
                            float(tps) if _present(tps) else None))
    return curves
