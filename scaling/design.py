"""Ladder designs: which (model shape, token budget) pairs to train.

- ``grid``: every size x every token budget (:meth:`scaling.ladder.LadderSpec.configs`).
- ``isoflop``: for each compute budget ``C``, ``sizes_per_budget`` model shapes spaced
  evenly in log N around the expected optimum ``N* = sqrt(C / 120)``
  (:func:`scaling.flops.chinchilla_optimal_N`), each trained for ``D = C / (6 N)`` tokens
  (or ``C / flops_per_token_exact``), as in Hoffmann et al. 2022, Approach 2 (Sec. 3.2). Each
  run's ``group`` is its budget (``C=1e+13``), so the runs table is ready for an isoFLOP
  analysis (minimum of loss vs N per budget) and for ``scaling fit``.
"""

from __future__ import annotations

import math

import numpy as np

from .flops import chinchilla_optimal_N, flops_per_token_exact, params_from_shape

__all__ = ["DESIGNS", "isoflop_configs", "shape_for_params"]

DESIGNS = ("grid", "isoflop")

# rounding the number of steps may miss the budget by at most this fraction
_BUDGET_TOLERANCE = 0.05


def _head_dim(d_model: int) -> int:
    return 8 if d_model < 64 else 16 if d_model < 512 else 64


def _shapes(max_N: float, seq_len: int, vocab_size: int, aspect: int,
            min_layers: int) -> list[dict]:
    """Candidate shapes in increasing N, up to the first one above ``4 max_N``."""
    out, d = [], 8
    while d <= 16384:
        n_layer = max(min_layers, round(d / aspect))
        n = params_from_shape(n_layer, d, vocab_size, seq_len).non_embedding
        out.append({"n_layer": n_layer, "d_model": d, "n_head": d // _head_dim(d),
                    "N": float(n)})
        if n > 4 * max_N:
            break
        d += _head_dim(d)
    return out


def shape_for_params(N: float, *, seq_len: int, vocab_size: int = 256, aspect: int = 64,
                     min_layers: int = 2, above: float = 0.0) -> dict:
    """The model shape whose non-embedding parameter count is closest to ``N`` (in log).

    Shapes keep ``d_model / n_layer`` near ``aspect`` (Kaplan et al. 2020, Fig. 5: loss
    depends weakly on the aspect ratio over 20-200), have at least ``min_layers`` layers and
    heads of 8 (``d_model`` < 64), 16 (< 512) or 64 dimensions, ``d_model`` a multiple of it.
    Only shapes with more than ``above`` parameters are considered.

    Returns
    -------
    dict
        ``n_layer``, ``d_model``, ``n_head`` and the exact non-embedding ``N``.
    """
    if not N > 0:
        raise ValueError(f"`N` must be > 0, got {N!r}")
    shapes = [s for s in _shapes(max(N, above), seq_len, vocab_size, aspect, min_layers)
              if s["N"] > above]
    return min(shapes, key=lambda s: abs(math.log(s["N"] / N)))


def isoflop_configs(budgets, sizes_per_budget: int, base: dict, schedules: list, seeds: list,
                    *, span: float = 10.0, flops: str = "6N", tokens_per_param: float = 20.0,
                    vocab_size: int = 256) -> list:
    """One :class:`~scaling.trainer.TrainConfig` per (budget, size, schedule, seed).

    Parameters
    ----------
    budgets : list of float
        Compute budgets C (training FLOPs).
    sizes_per_budget : int
        Model sizes per budget (>= 2), log-spaced over ``[N*/sqrt(span), N* sqrt(span)]``.
    base : dict
        TrainConfig fields shared by every run (batch size, context, evaluation, ...).
    schedules : list of dict
        LR schedule specs (each run trains its own full schedule).
    seeds : list of int
    span : float, default 10
        Ratio of the largest to the smallest target N of a budget.
    flops : {"6N", "exact"}
        FLOPs per token used to turn a budget into steps: ``6 N`` (the runs table's
        ``C = 6 N D``) or :func:`~scaling.flops.flops_per_token_exact`.
    tokens_per_param : float, default 20
        Where the span is centred (:func:`~scaling.flops.chinchilla_optimal_N`).

    Raises
    ------
    ValueError
        If a budget is not positive, or a run's whole steps miss its budget by more than 5%
        (the budget is too small for the batch).
    """
    from .trainer import TrainConfig

    if flops not in ("6N", "exact"):
        raise ValueError(f"`flops` must be '6N' or 'exact', got {flops!r}")
    if isinstance(sizes_per_budget, bool) or not isinstance(sizes_per_budget, int) \
            or sizes_per_budget < 2:
        raise ValueError(f"`sizes_per_budget` must be an integer >= 2, got {sizes_per_budget!r}")
    if not span > 1:
        raise ValueError(f"`span` must be > 1, got {span!r}")
    bad = [c for c in budgets if not (isinstance(c, (int, float)) and c > 0)]
    if not budgets or bad:
        raise ValueError(f"`budgets` must be positive FLOP counts, got {list(budgets)}")
    seq_len = int(base.get("seq_len", TrainConfig.seq_len))
    tps = int(base.get("batch_size", TrainConfig.batch_size)) * seq_len
    kinds = [s["kind"] for s in schedules]
    jobs = []
    for budget in sorted(float(c) for c in budgets):
        center = chinchilla_optimal_N(budget, tokens_per_param)
        targets = center * np.logspace(-0.5, 0.5, sizes_per_budget) ** math.log10(span)
        shapes = []
        for n in targets:  # nearest shape, each larger than the previous (tiny sizes collide)
            shapes.append(shape_for_params(n, seq_len=seq_len, vocab_size=vocab_size,
                                           above=shapes[-1]["N"] if shapes else 0.0))
        tag = f"{budget:.3g}".replace("e+0", "e").replace("e+", "e")  # 3e+09 -> 3e9
        for shape in shapes:
            n_layer, d_model, n_head = shape["n_layer"], shape["d_model"], shape["n_head"]
            per_token = 6.0 * shape["N"] if flops == "6N" else \
                flops_per_token_exact(n_layer, d_model, seq_len, vocab_size)
            steps = max(1, round(budget / (per_token * tps)))
            miss = steps * tps * per_token / budget - 1
            if abs(miss) > _BUDGET_TOLERANCE:
                raise ValueError(
                    f"budget C={budget:.3g}: size N={shape['N']:.3g} (L{n_layer}-d{d_model}) "
                    f"gets {steps} step(s) of {tps} tokens, {100 * miss:+.0f}% off the budget; "
                    "raise the budget or lower batch_size * seq_len")
            for i, schedule in enumerate(schedules):
                label = schedule["kind"] if kinds.count(schedule["kind"]) == 1 \
                    else f"{schedule['kind']}{i}"
                for seed in seeds:
                    values = {**base, "n_layer": n_layer, "d_model": d_model, "n_head": n_head,
                              "schedule": dict(schedule), "seed": seed, "total_steps": steps,
                              "group": f"C={budget:.3g}",
                              "run_id": f"C{tag}-L{n_layer}-d{d_model}-{label}-s{seed}"}
                    try:
                        jobs.append(TrainConfig(**values))
                    except ValueError as err:
                        raise ValueError(f"isoFLOP run {values['run_id']} ({steps} steps): "
                                         f"{err}") from None
    return jobs
