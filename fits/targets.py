"""A point law's prediction targets: its variables, checked and in the law's order (the
fitted estimator and :func:`fits.predict.predict_point` both read them)."""

from __future__ import annotations

import numpy as np

__all__ = ["law_targets"]


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
