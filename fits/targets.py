"""A point law's prediction targets: its variables, checked and in the law's order (the
fitted estimator and :func:`fits.predict.predict_point` both read them)."""

from __future__ import annotations

import numpy as np

__all__ = ["law_targets", "check_target_counts", "MIN_TARGET_COUNT"]

#: Fewer parameters or tokens than this at a prediction target: almost surely a count in
#: millions or billions (as ``data.checks.MIN_COUNT`` for a runs table).
MIN_TARGET_COUNT = 1e3
_COUNTS = {"N": "parameters", "D": "tokens", "U": "unique tokens"}


def law_targets(law, given: dict, *, x_name: str | None = None) -> dict:
    """The law's variables from ``given`` (arrays or numbers), in the law's order.

    A one-variable law also takes the name it was fitted on (``x_name``, e.g. ``N``).
    Raises ``ValueError`` naming the missing variables.
    """
    given = {k: v for k, v in given.items() if v is not None}
    if len(law.variables) == 1 and law.variables[0] not in given and x_name in given:
        given = {law.variables[0]: given[x_name]}
    missing = [v for v in law.variables if v not in given]
    if missing:
        if law.variables == ("x",):
            raise ValueError(f"the power law predicts at a value of x: give x (--at) for "
                             f"x = {x_name or 'N'}")
        if set(law.variables) == {"N", "D"}:
            raise ValueError(f"law {law.name!r} predicts at a model size and token count: "
                             "give both N and D (--N, --D)")
        raise ValueError(f"law {law.name!r} predicts at {', '.join(law.variables)}; "
                         f"missing {', '.join(missing)} ("
                         + ", ".join(f"--{v}" for v in missing) + ")")
    extra = sorted(set(given) - set(law.variables) - {x_name})
    if extra:
        raise ValueError(f"law {law.name!r} predicts at {', '.join(law.variables)}; "
                         f"unknown variable(s) {extra}")
    return {v: np.atleast_1d(np.asarray(given[v], dtype=float)) for v in law.variables}


def check_target_counts(targets: dict, *, as_is: bool = False) -> None:
    """Refuse prediction targets whose N, D or U is below :data:`MIN_TARGET_COUNT`: ``--N 70``
    meant as 70B predicted a loss of 261 at 70 parameters (12 decades out), exit 0.

    ``targets``: column -> numbers or strings (unparsable cells are left to the
    prediction's own checks). ``as_is``: the values are meant this way (``--units as-is``).
    """
    if as_is:
        return
    for name, what in _COUNTS.items():
        if name not in targets:
            continue
        values = np.atleast_1d(np.asarray(targets[name], dtype=object))
        numbers = np.array([_number(v) for v in values], dtype=float)
        small = np.flatnonzero(np.isfinite(numbers) & (numbers > 0)  # <= 0: refused later
                               & (numbers < MIN_TARGET_COUNT))
        if small.size:
            rows = "" if values.size == 1 else f" (row(s) {(small + 1).tolist()[:5]})"
            raise ValueError(
                f"target {name} = {numbers[small[0]]:g}{rows} is fewer than "
                f"{MIN_TARGET_COUNT:,.0f} {what}: in millions or billions? give raw counts "
                f"(70e9, or 70B with a size suffix); if it is meant this way, --units as-is")


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")
