"""A law's compute-optimal frontier as plans use it: N*, D*, L* at a budget (for one
parameter set or bootstrap rows), its local exponent, and the budget that reaches a
loss. The law supplies the frontier (``Law.frontier``); nothing here names a law."""

from __future__ import annotations

import numpy as np

from .laws import get_law, law_names

__all__ = ["frontier_laws", "frontier_at", "frontier_exponent", "compute_for_loss"]


def frontier_laws() -> list[str]:
    """Registered point laws with a compute-optimal frontier (what ``plan`` accepts)."""
    return [name for name in law_names("point") if get_law(name).has_frontier]


def frontier_at(law, compute, q, k, given):
    """``law.frontier`` for one parameter set or, vectorized, for bootstrap rows."""
    if law.frontier_batched or np.ndim(q[law.params[0]]) == 0:
        return law.frontier(compute, q, k=k, **given)
    rows = [law.frontier(compute, {p: v[i] for p, v in q.items()}, k=k, **given)
            for i in range(len(q[law.params[0]]))]
    return tuple(np.array(col, dtype=float) for col in zip(*rows))


def frontier_exponent(law, q, compute, k, given) -> float:
    """``a`` in N* ~ C^a at ``compute`` (the frontier's local slope; beta / (alpha + beta)
    for Chinchilla, exactly, since its N* is a power of C)."""
    lo, hi = (frontier_at(law, compute * f, q, k, given)[0] for f in (0.5, 2.0))
    return float(np.log(hi / lo) / np.log(4.0))


def compute_for_loss(law, target_loss, q, k, given):
    """Compute at which the frontier's loss L*(C) reaches ``target_loss`` (inf if never)."""
    if law.compute_for_loss is not None:
        return law.compute_for_loss(target_loss, q, k)
    raise ValueError(f"law {law.name!r} cannot invert its frontier for a target loss; give "
                     "a budget (--compute)")
