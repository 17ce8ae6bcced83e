"""Fit one curve law to several model sizes at once, sharing some parameters.

Luo et al. (2025, Table/Fig. on 25M-400M models) find the annealing shape of the
multi-power law, ``C, beta, gamma``, nearly the same across model sizes, while ``L0, A,
alpha`` and the annealing amplitude ``B`` change with size. A joint fit encodes that: one
value of each shared parameter and one value per size of the others, the summed Huber
objective over every curve of every size. Three curves of one size leave the shape
poorly identified (flat directions in ``C, beta``); curves of other sizes pin it down.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..finish import finish
from ..multistart import multistart, polish
from ..objectives import get_objective
from ..params import ParamModel
from ..result import FitResult
from .curves import curves_from_table
from .errors import heldout_errors
from .errors import summary as _summary
from .starts import linear_solve
from .laws import CURVE_LAWS, get_curve_law
from .problem import CurveProblem, RobustSum

__all__ = ["JointCurveProblem", "JointFitOptions", "fit_curve_law_joint", "fit_curves_joint", "SHARED_DEFAULT"]

#: parameters shared across sizes by default (Luo et al. 2025: nearly size-independent)
SHARED_DEFAULT = {name: law.shared for name, law in CURVE_LAWS.items()}  # from each law


class JointCurveProblem(RobustSum):
    """Summed objective of ``law`` over groups of curves (one group per model size).

    The fit vector holds each shared parameter once, then the others per group;
    :attr:`names` lists them (``"L0[25M]"``, ...).

    Parameters
    ----------
    law : CurveLaw
    groups : mapping
        ``{group name: list of Curve}``.
    objective : Objective
    shared : sequence of str
        Parameters with one value for every group.
    decay : float, optional
        Momentum of the LR-annealing law.
    """

    def __init__(self, law, groups, objective, *, shared, decay=None, bounds=None):
        # one parameter model for single and joint fits: the per-size values live in it
        # (ParamModel.grouped checks the shared names first)
        self.model = ParamModel.grouped(law, list(groups), shared, bounds=bounds)
        if len(groups) < 1 or any(len(c) == 0 for c in groups.values()):
            raise ValueError("every group needs at least one curve")
        self.law, self.objective, self.decay, self.weights = law, objective, decay, None
        self.shared = tuple(p for p in law.params if p in shared)
        self.problems = {g: CurveProblem(law, curves, objective, decay=decay)
                         for g, curves in groups.items()}
        self.names = list(self.model.names)
        self.index = self.model.groups

    @property
    def n_points(self) -> int:
        return int(sum(p.n_points for p in self.problems.values()))

    def group_theta(self, theta, group) -> np.ndarray:
        """Joint rows -> that group's full fit-space rows."""
        return self.model.group_theta(theta, group)

    def residuals(self, theta, rows=None):
        theta = np.atleast_2d(theta)
        rs, js = [], []
        for g, problem in self.problems.items():
            r, dr = problem.residuals(self.group_theta(theta, g))
            jac = np.zeros((theta.shape[0], theta.shape[1], r.shape[1]))
            jac[:, self.index[g]] = dr  # a group's parameters map to distinct columns
            rs.append(r)
            js.append(jac)
        return np.concatenate(rs, axis=1), np.concatenate(js, axis=2)

    def bounds(self, bounds=None):
        """Fit-space bounds of the joint vector (``bounds`` override the law's)."""
        if bounds is None:
            return self.model.lower.copy(), self.model.upper.copy()
        lower, upper = self.law.theta_bounds(bounds)
        idx = [self.law.params.index(n.split("[")[0]) for n in self.names]
        return lower[idx], upper[idx]


def _joint_starts(problem, n_keep):
    """Exponent grid shared by all groups, linear least squares per group."""
    law = problem.law
    grid_spec = law.grid
    names = [p for p in law.params if p in grid_spec]
    combos = np.array(list(itertools.product(*(grid_spec[p] for p in names))))
    solved, total = {}, np.zeros(len(combos))
    for g, sub in problem.problems.items():
        rows = np.tile(law.natural(law.to_theta({p: 1.0 for p in law.params})),
                       (len(combos), 1))
        for j, name in enumerate(names):
            rows[:, law.params.index(name)] = combos[:, j]
        rows = linear_solve(sub, rows)
        ok = ~np.isnan(rows).any(axis=1)
        thetas = np.full(rows.shape, np.nan)
        thetas[ok] = [law.to_theta(dict(zip(law.params, r))) for r in rows[ok]]
        values = np.full(len(combos), np.inf)
        values[ok] = sub.value(thetas[ok])
        solved[g], total = thetas, total + values
    keep = np.argsort(total)[:n_keep]
    keep = keep[np.isfinite(total[keep])]
    starts = np.zeros((keep.size, len(problem.names)))
    for g, thetas in solved.items():
        starts[:, problem.index[g]] = thetas[keep]
    return starts


@dataclass(frozen=True)
class JointFitOptions:
    """Settings of :func:`fit_curve_law_joint` as one object.

    Parameters
    ----------
    shared : sequence of str, optional
        Parameters with one value across groups (default ``C, beta, gamma`` for the
        multi-power law, following Luo et al. 2025).
    loss, delta : str, float
        Objective on log residuals (default Huber, delta 1e-3).
    decay : float, optional
        Momentum of the LR-annealing law (default 0.999).
    n_starts : int
        Starting points kept from the shared exponent grid.
    bounds : mapping, optional
        ``{symbol: (lower, upper)}`` (natural units), applied to every group.
    max_iter : int
        Iteration cap of the batched optimizer.
    warn : bool
        Emit the joint fit's warnings as :class:`~fits.result.FitWarning` (default);
        ``False`` leaves them on each result's ``warnings`` for the caller to show.
    """

    shared: Any = None
    loss: str = "huber"
    delta: float = 1e-3
    decay: float | None = None
    n_starts: int = 8
    bounds: Any = None
    max_iter: int = 300
    warn: bool = True

    @classmethod
    def of(cls, options=None, **changes) -> "JointFitOptions":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise TypeError(f"unknown joint-fit option(s) {unknown}; expected some of "
                            f"{sorted(names)}")
        return dataclasses.replace(options or cls(), **changes)


def fit_curve_law_joint(groups, law: str = "mpl", *, heldout=None,
                        data_info: dict | None = None, options: JointFitOptions | None = None,
                        **settings) -> dict[str, FitResult]:
    """Fit ``law`` to curves of several model sizes with shared parameters.

    Parameters
    ----------
    groups : mapping
        ``{size label: list of Curve}``, e.g. ``{"25M": [...], "100M": [...]}``.
    law : {"mpl", "tissue"}
    heldout : mapping, optional
        ``{size label: list of Curve}`` to evaluate each group's parameters on.
    data_info : dict, optional
        Provenance stored in each result's ``data``.
    options : JointFitOptions, optional
        The settings as one object; keyword ``settings`` (``shared``, ``loss``,
        ``delta``, ``decay``, ``n_starts``, ``bounds``, ``max_iter``, ``warn``:
        :class:`JointFitOptions`) override its fields.

    Returns
    -------
    dict of FitResult
        One result per group with that group's parameters (shared ones included), so each
        predicts like a single-size fit; ``objective`` is the joint objective and
        ``choices["joint"]`` records the groups and shared parameters.

    Raises
    ------
    ValueError
        For an unknown law or shared parameter, or an empty group.

    Examples
    --------
    >>> from scaling.data import load_multipower
    >>> from scaling.fits.curve import curves_from_table
    >>> curves = curves_from_table(load_multipower())
    >>> groups = {s: [c for c in curves if c.split == "fit" and c.run_id.startswith(s + "/")]
    ...           for s in ("25M", "100M")}
    >>> fits = fit_curve_law_joint(groups, "mpl")  # doctest: +SKIP
    >>> fits["100M"]["B"] > fits["25M"]["B"]  # doctest: +SKIP
    True
    """
    opts = JointFitOptions.of(options, **settings)
    law = get_curve_law(law)
    if law.sized:
        raise ValueError(f"law {law.name!r} already models size; fit it with fit_curve_law")
    objective = get_objective(opts.loss, delta=opts.delta)
    groups = {str(g): list(c) for g, c in dict(groups).items()}
    shared = tuple(law.shared if opts.shared is None else opts.shared)
    decay = 0.999 if law.decays and opts.decay is None else opts.decay
    problem = JointCurveProblem(law, groups, objective, shared=shared, decay=decay,
                                bounds=opts.bounds)
    model = problem.model
    lower, upper = model.lower.copy(), model.upper.copy()
    theta0 = _joint_starts(problem, opts.n_starts)
    if not len(theta0):
        raise RuntimeError("no starting point gave a finite objective; check the data")
    batch = multistart(problem, theta0, lower, upper, max_iter=opts.max_iter)
    theta, value, info = polish(problem, batch.theta[batch.best], lower, upper)
    joint = finish(problem, model, theta, value, info, law=law, n_points=problem.n_points,
                   n_runs=sum(len(c) for c in groups.values()), n_starts=len(theta0),
                   start_values=batch.values, at_best_rtol=1e-4, warn=False,
                   bound_remedy="add curves whose schedules constrain {name}",
                   converge_remedy="raise `max_iter` (Python API) or share fewer parameters")
    joint_info = {"groups": list(groups), "shared": list(problem.shared),
                  "names": problem.names, "n_points_total": problem.n_points,
                  "rationale": "annealing shape shared across model sizes "
                               "(Luo et al. 2025); per-size L0, A, alpha, B",
                  "objective": objective, "decay": decay, "max_iter": opts.max_iter}
    out = {g: _group_result(joint, problem, g, curves, joint_info, (heldout or {}).get(g),
                            data_info)
           for g, curves in groups.items()}
    if opts.warn:
        joint.warn(stacklevel=2)
    return out


def _group_result(joint, problem, g, curves, joint_info, held, data_info) -> FitResult:
    """One group's result of the joint fit: its parameters (shared ones included)."""
    law, objective, decay = problem.law, joint_info["objective"], joint_info["decay"]
    params = {}
    for name, j in zip(law.params, problem.index[g]):
        params[name] = dataclasses.replace(joint.params[problem.names[j]], name=name)
    natural = {p: e.value for p, e in params.items()}
    data = dict(data_info or {})
    data.update({"run_ids": [c.run_id for c in curves],
                 "points_per_run": {c.run_id: int(c.loss.size) for c in curves},
                 "fit_errors": _summary(heldout_errors(law, natural, curves, decay=decay))})
    if held:
        data["heldout"] = heldout_errors(law, natural, held, decay=decay)
        data["heldout_summary"] = _summary(data["heldout"])
    info = {k: v for k, v in joint_info.items() if k not in ("objective", "decay", "max_iter")}
    choices = {**joint.choices, "law": law.name, "loss": objective.name,
               **objective.settings,
               "objective_description": objective.describe() + " over all points of "
               "every group", "decay": decay, "max_iter": joint_info["max_iter"],
               "joint": info,
               "bounds": {p: [e.lower, e.upper] for p, e in params.items()},
               "starts": "shared exponent grid + per-group linear least squares"}
    result = dataclasses.replace(
        joint, params=params, n_points=sum(int(c.loss.size) for c in curves),
        n_runs=len(curves), data=data, choices=choices,
        convergence=dict(joint.convergence), warnings=list(joint.warnings))
    result.heldout = data.get("heldout", {})
    return result


def fit_curves_joint(table, law: str = "mpl", *, by: str = "model", fit_runs=None,
                     drop_warmup: bool = True, **options) -> dict[str, FitResult]:
    """Joint fit over the model sizes of a runs table (see :func:`fit_curve_law_joint`).

    Parameters
    ----------
    table : data.RunsTable
    law : {"mpl", "tissue"}
    by : str
        Runs-table column that names the size group (default ``model``; ``N`` works too).
    fit_runs : sequence of str, optional
        Runs to fit (default: runs whose ``split`` is ``fit``); every other run of a group
        is evaluated (``result.heldout``).
    drop_warmup : bool
    **options
        Passed to :func:`fit_curve_law_joint`.

    Returns
    -------
    dict of FitResult
        ``{group: result}``.
    """
    if by not in table.runs.columns:
        raise ValueError(f"the runs table has no column {by!r} to group sizes by; its "
                         f"columns are {list(table.runs.columns)}")
    curves = curves_from_table(table, drop_warmup=drop_warmup)
    group_of = {r: str(g) for r, g in zip(table.runs["run_id"], table.runs[by])}
    if fit_runs is None:
        labelled = [c.run_id for c in curves if c.split == "fit"]
        fit_runs = labelled or [c.run_id for c in curves]
    unknown = sorted(set(fit_runs) - set(group_of))
    if unknown:
        raise ValueError(f"unknown run_id(s) {unknown[:5]}")
    fit_set = set(fit_runs)
    groups, heldout = {}, {}
    for c in curves:
        target = groups if c.run_id in fit_set else heldout
        target.setdefault(group_of[c.run_id], []).append(c)
    heldout = {g: v for g, v in heldout.items() if g in groups}
    info = {"source": table.meta.get("source"), "data_hash": table.data_hash(),
            "drop_warmup": drop_warmup, "grouped_by": by}
    return fit_curve_law_joint(groups, law, heldout=heldout, data_info=info, **options)
