"""Repeats and sweeps: which runs of a table are seeds of one configuration.

Runs that differ only in ``seed`` (and run id, split label and measured metrics) are
repeats: their spread is the seed scatter. Runs at one (N, D) that differ in any other
setting (``lr``, ``batch_size``, ``unique_tokens``, ``schedule``, ...) are a sweep:
never seed scatter, and :func:`scaling.data.select.select_points` refuses them unless
the user picks the best setting (``repeats="best:lr"``) or every run (``"all"``).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

__all__ = ["REPEATS_CHOICES", "POOLING_COLUMNS", "LAW_INPUTS", "setting_columns",
           "config_keys", "sweep_columns", "repeat_scatter", "measured_columns", "mean_repeats", "parse_repeats",
           "best_of", "sweep_message"]

#: ``repeats`` values; ``"best:COL[,COL]"`` is also accepted (best setting of COL).
REPEATS_CHOICES = ("keep", "mean", "all")
#: Columns that, with several values, mean the table pools different experiments.
POOLING_COLUMNS = ("dataset", "group", "tokenizer")
#: Inputs of a law besides N and D (unique tokens): runs at one (N, D) differing in them
#: are a design (Muennighoff et al. 2023), not a sweep; never seed repeats either.
LAW_INPUTS = ("U", "epochs")
# columns that never make two rows different configurations: identity, the seed, the
# variables and the measured loss
_NOT_SETTINGS = frozenset({"run_id", "seed", "N", "D", "C", "loss", "split", "N_convention",
                           "n_repeats"})
# measured columns (metrics, timings) by name: they differ between seeds by nature
_MEASURED = re.compile(
    r"^(val|valid|validation|eval|test|train|task|tasks|metric|metrics|perf|system|logged)[/_.]"
    r"|(^|[/_.])(loss|ppl|perplexity|acc|accuracy|bpb|bpc|runtime|time|timestamp|throughput|"
    r"mfu|grad_norm|gradnorm|memory|mem|flos|score|f1|_step|_runtime|_timestamp|wall|wall_s|"
    r"elapsed|elapsed_s|duration|seconds|secs|hours|gpu_hours|speed)$"
    r"|per_second$|per_sec$|per_s$", re.IGNORECASE)
# point-level columns that are settings even though they change within a run
_SETTINGS_WITHIN_RUNS = ("lr", "step")


def measured_columns(frame: pd.DataFrame) -> list[str]:
    """Columns that change within a run (wall time, throughput, logged metrics of any
    name): measurements, not settings. ``lr`` and ``step`` stay settings (a sweep's
    final LR, a batch size's step count at one D)."""
    if "run_id" not in frame.columns or frame["run_id"].is_unique:
        return []
    skip = _NOT_SETTINGS | set(_SETTINGS_WITHIN_RUNS)
    cols = [c for c in frame.columns if c not in skip]
    varying = frame.groupby("run_id", sort=False)[cols].nunique(dropna=True).max()
    return [c for c in cols if varying.get(c, 0) > 1]


def setting_columns(frame: pd.DataFrame) -> list[str]:
    """The columns that describe how a run was set up (everything but the run id, the
    seed, N, D, C, the loss, the split label, measured metrics such as ``val/loss``,
    ``eval_runtime`` or ``train/grad_norm``, and text columns naming each run apart,
    e.g. a W&B run name or a path, in a table of 4 runs or more)."""
    runs = frame["run_id"].nunique() if "run_id" in frame.columns else len(frame)
    out = []
    for c in frame.columns:
        if c in _NOT_SETTINGS or _MEASURED.search(str(c)):
            continue
        values = frame[c]
        if (runs >= 4 and not pd.api.types.is_numeric_dtype(values)
                and values.nunique() == runs and c not in POOLING_COLUMNS):
            continue  # an identifier (one value per run), not a setting
        out.append(c)
    return out


def _cell(value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _size(value) -> str:
    # N and D to 4 digits: token counters of seeds of one run differ in the last digits
    # (padding, data-loader order), and they are still one configuration
    return f"{float(value):.4g}"


def _labels(frame: pd.DataFrame, cols) -> pd.Series:
    parts = [frame[c].map(_size if c in ("N", "D") else _cell) for c in cols]
    if "run_id" in frame.columns:
        # a checkpoint at D of a longer run is not a repeat of a run that ends at D
        budget = frame.groupby("run_id")["D"].transform("max")
        parts.append(budget.map(_size))
    return pd.Series(["|".join(row) for row in zip(*parts)], index=frame.index, dtype=str)


def config_keys(frame: pd.DataFrame) -> pd.Series:
    """One label per row naming its configuration: N, D, the run's final D and every
    setting column (not the seed, run id or measured metrics), so that rows with equal
    labels differ only in seed: repeats of one experiment."""
    return _labels(frame, ["N", "D"] + setting_columns(frame))


def sweep_columns(frame: pd.DataFrame) -> dict[str, list[str]]:
    """Setting columns that vary among rows at the same (N, D, run budget) and pooling
    columns: ``{column: its values}`` (empty when runs at one (N, D) differ only in seed).

    Pooling columns (``dataset``, ``group``, ``tokenizer``) are left out: they mean
    different experiments and are handled by ``--group``.
    """
    if frame["D"].isna().all():
        return {}  # without token counts runs cannot be placed at one (N, D)
    pooled = [c for c in POOLING_COLUMNS if c in frame.columns]
    base = _labels(frame, ["N", "D"] + pooled)
    multi = base.map(base.value_counts()) > 1
    if not multi.any():
        return {}
    sub, keys = frame[multi], base[multi]
    out = {}
    for col in setting_columns(frame):
        if col in POOLING_COLUMNS or col in LAW_INPUTS:
            continue
        if (sub[col].map(_cell).groupby(keys).nunique() > 1).any():
            out[col] = sorted(map(str, sub[col].dropna().unique()))
    return out


def repeat_scatter(frame: pd.DataFrame) -> dict | None:
    """Observation scatter from repeated configurations, or None when nothing repeats.

    The pooled within-configuration standard deviation of log loss,
    ``sqrt(sum_g sum_i (log L_gi - mean_g)^2 / sum_g (n_g - 1))``: the noise of one
    run's loss around its configuration's mean (seed-to-seed scatter), on the fit scale.
    """
    if frame["D"].isna().any():
        return None  # without token counts a configuration cannot be told from a checkpoint
    codes, _ = pd.factorize(config_keys(frame))
    log_loss = np.log(frame["loss"].to_numpy(dtype=float))
    sizes = np.bincount(codes)
    repeated = sizes >= 2
    if not repeated.any():
        return None
    means = np.bincount(codes, weights=log_loss) / sizes
    ss = float(np.sum(((log_loss - means[codes]) ** 2)[repeated[codes]]))
    dof = int((sizes[repeated] - 1).sum())
    repeated = sizes[repeated]
    sd = float(np.sqrt(ss / dof))
    return {"sd_log_loss": sd, "n_configs": int(repeated.size),
            "n_runs": int(repeated.sum()), "dof": dof,
            "method": "pooled within-configuration sd of log loss (one run's seed scatter)"}


def mean_repeats(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """One row per configuration: mean loss; run_id of its first member."""
    keys = config_keys(frame)
    members = frame.groupby(keys, sort=False)["run_id"].agg(lambda s: sorted(set(s)))
    first = frame.groupby(keys, sort=False).head(1).copy()
    first["loss"] = frame.groupby(keys, sort=False)["loss"].transform("mean")[first.index]
    first["n_repeats"] = frame.groupby(keys, sort=False)["loss"].transform("size")[first.index]
    first["run_id"] = [members[k][0] for k in keys[first.index]]
    merged = {m[0]: m for m in members if len(m) > 1}
    return first.reset_index(drop=True), merged


def parse_repeats(repeats: str) -> tuple[str, list[str]]:
    """``("keep" | "mean" | "all" | "best", columns)`` from a ``repeats`` value."""
    text = str(repeats).strip()
    if text.startswith("best:"):
        cols = [c.strip() for c in text[5:].split(",") if c.strip()]
        if not cols:
            raise ValueError("`repeats='best:COL'` needs a column, e.g. 'best:lr'")
        return "best", cols
    if text not in REPEATS_CHOICES:
        raise ValueError(f"`repeats` must be one of {list(REPEATS_CHOICES)} or 'best:COL' "
                         f"(e.g. 'best:lr'), got {repeats!r}")
    return text, []


def best_of(frame: pd.DataFrame, columns: list[str]) -> tuple[list, dict]:
    """Per configuration but ``columns``, the runs of the setting of ``columns`` with the
    lowest mean log loss of their final points (its seeds kept): ``(run ids, record)``."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"--best-of {','.join(missing)}: no such column; the setting "
                         f"columns are {setting_columns(frame)}")
    others = [c for c in ["N", "D"] + setting_columns(frame) if c not in columns]
    outer = _labels(frame, others)
    inner = outer + "#" + _labels(frame[columns], columns)
    score = np.log(frame["loss"].astype(float)).groupby(inner).transform("mean")
    best = score.groupby(outer).transform("min")
    keep = np.isclose(score, best, rtol=0, atol=1e-15)
    chosen = frame[keep]
    winners = chosen.groupby(outer.loc[chosen.index], sort=False).head(1)
    picks = {f"N={r['N']:.4g} D={r['D']:.4g}": {c: _cell(r[c]) for c in columns}
             for _, r in winners.iterrows()}
    return chosen["run_id"].tolist(), {
        "columns": columns, "configurations": int(outer.nunique()),
        "runs_in": int(len(frame)), "runs_kept": int(len(chosen)), "picked": picks}


def sweep_message(sweeps: dict, chosen: list) -> str:
    shown = "; ".join(f"{c}: {', '.join(v[:4])}{' ...' if len(v) > 4 else ''}"
                      for c, v in sweeps.items())
    first = next(iter(sweeps))
    done = f" (besides --best-of {','.join(chosen)})" if chosen else ""
    return (f"runs at the same (N, D) differ in {', '.join(map(repr, sweeps))}{done} "
            f"({shown}): a sweep, not seed repeats; choose one: --best-of {first} (the "
            f"lowest loss per (N, D)), --where \"{first} == ...\" (one setting), or "
            "--repeats all (fit every run as its own configuration); if a column is a "
            "measurement rather than a setting, drop it from the file (or rename it "
            "with a val/ prefix)")
