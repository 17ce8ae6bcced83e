"""The options and the ladder design of ``scaling loop``.

Design rule (isoFLOP, Hoffmann et al. 2022 Approach 2 spacing): ``n_budgets`` compute
budgets spaced by ``budget_ratio`` (the largest is ``C_max``), ``sizes_per_budget`` model
sizes per budget spaced evenly in log N over a ``span`` (10x) around ``N* = sqrt(C / 120)``
(20 tokens per parameter), each trained for ``D = C / (6 N)`` tokens. ``C_max`` is the
largest value for which the whole ladder costs ``ladder_share`` of the ladder budget; the
rest of the budget is left for refinement. The validation rung is not counted in the budget
(its cost is reported). The ``grid`` rule trains every one of ``sizes_per_budget`` sizes
for ``n_budgets`` token counts at 5-80 tokens per parameter instead.

Before anything is trained, the expected width of the target's prediction interval is the
width of :func:`fits.calibration.default_calibration`'s interval (the documented
conservative growth per decade) at the target's distance past ``C_max``: the interval the
loop would report if the ladder's backtests found nothing better.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field

import numpy as np

__all__ = ["LoopOptions", "PRESETS", "design_ladder", "expected_width", "options_from",
           "validation_point", "width_of"]

TRAINERS = ("synthetic", "proxy")

_PROXY_CPU = {"seq_len": 64, "batch_size": 16, "eval_every": 100, "eval_tokens": 8192,
              "ckpt_every": 200, "device": "cpu", "threads": 1,
              "schedule": {"kind": "cosine", "peak_lr": 3e-3, "end_lr": 3e-4,
                           "warmup_steps": 20}}
_PROXY_GPU = {"seq_len": 512, "batch_size": 32, "eval_every": 250, "eval_tokens": 262144,
              "ckpt_every": 500, "device": "cuda", "dtype": "bfloat16",
              "schedule": {"kind": "cosine", "peak_lr": 1.5e-3, "end_lr": 1.5e-4,
                           "warmup_steps": 100}}



@dataclass(frozen=True)
class LoopOptions:
    """Everything a loop depends on (its hash names the loop in ``loop.json``).

    ``target_compute`` or ``target`` (``(N, D)``); ``budget`` is a fraction of the target's
    compute (< 1) or FLOPs (>= 1); ``goal_width`` the relative full width
    ``(hi - lo) / value`` of the target's ``pi`` at which refinement stops.
    """

    target_compute: float | None = None
    target: tuple | None = None
    budget: float = 0.01
    goal_width: float = 0.1
    level: float = 0.9
    trainer: str = "proxy"
    design: str = "isoflop"
    n_budgets: int = 4
    sizes_per_budget: int = 4
    budget_ratio: float = 4.0
    span: float = 10.0
    ladder_share: float = 0.5
    max_steps: int = 6
    validate: tuple | None = None
    validate_factor: float = 4.0
    early_fraction: float = 0.3
    seed: int = 0
    noise: float = 0.01
    n_boot: int = 200
    proxy: dict = field(default_factory=lambda: json.loads(json.dumps(_PROXY_CPU)))
    preset: str | None = None

    def __post_init__(self):
        if (self.target_compute is None) == (self.target is None):
            raise ValueError("give exactly one of `target_compute` (--target-compute) and "
                             "`target` (--target N,D)")
        if self.target is not None and (len(self.target) != 2 or min(self.target) <= 0):
            raise ValueError(f"`target` must be (N, D) with both > 0, got {self.target!r}")
        if self.target_compute is not None and not self.target_compute > 0:
            raise ValueError(f"`target_compute` must be > 0, got {self.target_compute!r}")
        if not self.budget > 0:
            raise ValueError(f"`budget` must be a fraction (0, 1) or FLOPs >= 1, got "
                             f"{self.budget!r}")
        if not (0 < self.level < 1 and self.goal_width > 0 and 0 < self.ladder_share <= 1):
            raise ValueError("`level` must be in (0, 1), `goal_width` > 0, `ladder_share` "
                             "in (0, 1]")
        if self.trainer not in TRAINERS:
            raise ValueError(f"`trainer` must be one of {list(TRAINERS)}, got {self.trainer!r}")
        if self.design not in ("isoflop", "grid"):
            raise ValueError(f"`design` must be 'isoflop' or 'grid', got {self.design!r}")
        if self.n_budgets < 2 or self.sizes_per_budget < 2 or not self.budget_ratio > 1:
            raise ValueError("the design needs `n_budgets` >= 2, `sizes_per_budget` >= 2 "
                             "and `budget_ratio` > 1")
        if not (self.validate_factor > 1 and 0 < self.early_fraction < 1):
            raise ValueError("`validate_factor` must be > 1 and `early_fraction` in (0, 1)")

    @property
    def target_point(self) -> dict:
        """The target's ``N`` and ``D`` (compute-optimal at 20 tokens/param for a compute)."""
        if self.target is not None:
            return {"N": float(self.target[0]), "D": float(self.target[1])}
        N = math.sqrt(self.target_compute / 120.0)
        return {"N": N, "D": self.target_compute / (6.0 * N)}

    @property
    def budget_flops(self) -> float:
        C = 6.0 * self.target_point["N"] * self.target_point["D"]
        return self.budget * C if self.budget < 1 else float(self.budget)

    def to_dict(self) -> dict:
        return json.loads(json.dumps(asdict(self)))

    def key(self) -> str:
        """A short hash of the options: the loop's identity in ``loop.json``."""
        text = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


#: Built-in loops. ``cpu-demo``: tiny GPT proxies on 2 CPU cores (minutes);
#: ``gpu``: a ladder up to ~1e18 FLOPs on one GPU, validation rung 4x past it;
#: ``synthetic``: the oracle trainer (seconds; for tests and for trying the flags).
PRESETS = {
    "cpu-demo": {"trainer": "proxy", "target_compute": 3.5e12, "budget": 0.05, "n_budgets": 3,
                 "sizes_per_budget": 3, "budget_ratio": 2.0, "span": 4.0, "goal_width": 0.1,
                 "max_steps": 2, "ladder_share": 0.6, "proxy": _PROXY_CPU},
    "gpu": {"trainer": "proxy", "target_compute": 1e21, "budget": 0.01, "n_budgets": 4,
            "sizes_per_budget": 3, "budget_ratio": 4.0, "max_steps": 3,
            "ladder_share": 0.4, "proxy": _PROXY_GPU},
    "synthetic": {"trainer": "synthetic", "target_compute": 1e21, "budget": 0.01},
}


def options_from(preset: str | None = None, **changes) -> LoopOptions:
    """``LoopOptions`` of a preset with ``changes`` (None values are left at the preset's)."""
    values = {}
    if preset is not None:
        if preset not in PRESETS:
            raise ValueError(f"unknown loop preset {preset!r}; presets are {sorted(PRESETS)}")
        values = json.loads(json.dumps(PRESETS[preset]))
        values["preset"] = preset
    changes = {k: v for k, v in changes.items() if v is not None}
    if "target" in changes or "target_compute" in changes:
        values.pop("target", None)
        values.pop("target_compute", None)
    values.update(changes)
    for name in ("target", "validate"):
        if values.get(name) is not None:
            values[name] = tuple(float(v) for v in values[name])
    return LoopOptions(**values)


def _c_max(options: LoopOptions) -> float:
    ratios = options.budget_ratio ** -np.arange(options.n_budgets)
    return options.ladder_share * options.budget_flops / (options.sizes_per_budget * ratios.sum())


def design_ladder(options: LoopOptions) -> dict:
    """The ladder's runs (``run_id``, ``N``, ``D``, ``C``, ``group``) and the rule used."""
    c_max = _c_max(options)
    budgets = c_max * options.budget_ratio ** -np.arange(options.n_budgets)[::-1]
    runs = []
    if options.design == "isoflop":
        factors = options.span ** np.linspace(-0.5, 0.5, options.sizes_per_budget)
        for C in budgets:
            for f in factors:
                N = math.sqrt(C / 120.0) * f
                runs.append({"N": float(N), "D": float(C / (6 * N)), "group": f"C={C:.3g}"})
        rule = (f"isoFLOP: {options.n_budgets} budgets x{options.budget_ratio:g} apart up to "
                f"C_max={c_max:.3g}, {options.sizes_per_budget} sizes over {options.span:g}x "
                "in N around sqrt(C/120), D = C/(6N)")
    else:
        sizes = math.sqrt(c_max / 120.0) * options.span ** np.linspace(
            -1, 0, options.sizes_per_budget)
        tpp = np.geomspace(5, 80, options.n_budgets)
        scale = options.ladder_share * options.budget_flops / sum(
            6 * n * n * t for n in sizes for t in tpp)
        sizes = sizes * min(1.0, math.sqrt(scale))
        runs = [{"N": float(n), "D": float(n * t), "group": f"N={n:.3g}"} for n in sizes
                for t in tpp]
        rule = (f"grid: {options.sizes_per_budget} sizes x {options.n_budgets} token counts "
                "(5-80 tokens per parameter)")
    for i, run in enumerate(runs):
        run.update({"C": 6.0 * run["N"] * run["D"], "role": "ladder",
                    "run_id": f"ladder{i:02d}-s{options.seed}"})
    cost = sum(r["C"] for r in runs)
    return {"rule": rule, "runs": runs, "cost_flops": cost, "c_max": max(r["C"] for r in runs),
            "budget_flops": options.budget_flops, "refine_budget_flops":
            max(0.0, options.budget_flops - cost), "target": options.target_point,
            "target_compute": 6 * options.target_point["N"] * options.target_point["D"]}


def width_of(value: float, pi) -> float:
    """Relative full width ``(hi - lo) / value`` of an interval."""
    return float((pi[1] - pi[0]) / value)


def expected_width(design: dict, level: float) -> dict:
    """Width of the default-calibration ``pi`` at the target's distance past ``C_max``."""
    from scaling.fits.calibration import default_calibration

    cal = default_calibration("before training")
    decades = max(0.0, math.log10(design["target_compute"] / design["c_max"]))
    lo, hi = cal.interval(1.0, decades, level)
    return {"width": width_of(1.0, (lo, hi)), "decades": decades, "level": level,
            "rule": "default calibration (scatter {:.1%}, growth {:.0%} per decade), no "
                    "parameter uncertainty".format(cal.scatter, cal.rate)}


def validation_point(options: LoopOptions, largest_C: float) -> dict:
    """The validation rung: ``--validate N,D``, else ``validate_factor`` x the largest
    trained compute at 20 tokens per parameter."""
    if options.validate is not None:
        N, D = options.validate
    else:
        C = options.validate_factor * largest_C
        N = math.sqrt(C / 120.0)
        D = C / (6 * N)
    return {"N": float(N), "D": float(D), "C": 6.0 * N * D, "role": "validate",
            "run_id": f"validate-s{options.seed}"}
