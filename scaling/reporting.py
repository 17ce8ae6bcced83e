"""`scaling report`: data or a saved fit in, report files out (the CLI's library side)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

__all__ = ["report_from_cli"]


def _load(input_path: str, columns, runs):
    from scaling.data import load_dataset, load_table, parse_column_map

    if input_path.startswith("bundled:"):
        return load_dataset(input_path.split(":", 1)[1])
    return load_table(input_path, runs=runs, columns=parse_column_map(columns),
                      require_tokens=False)


def report_from_cli(input_path: str, out, *, law=None, drop_highest: int = 0, compute=None,
                    proxy_budget=None, n_boot: int = 1000, columns=(), runs=None,
                    selection: dict | None = None, fmt: str = "png") -> str:
    """Fit (or read) and write a report; return the terminal summary.

    ``selection`` holds ScalingLawFit's row-selection keywords (``where``, ``split``,
    ``points``, ``repeats``, ``n_convention``; see :func:`scaling.data.select.select_points`).

    The report is written into a temporary folder next to ``out`` that replaces ``out`` whole
    when it is complete (:func:`scaling.data.io.staged_directory`): a crash leaves the old
    report as it was, a second process on the same folder is refused, and sub-folders named
    after data (curve-law model labels) are sanitized so nothing is written outside ``out``.
    """
    from scaling.data.io import staged_directory

    out = Path(out)
    with staged_directory(out) as stage:
        summary = _report(input_path, stage, law=law, drop_highest=drop_highest,
                          compute=compute, proxy_budget=proxy_budget, n_boot=n_boot,
                          columns=columns, runs=runs, selection=selection or {}, fmt=fmt)
    return summary.replace(str(stage), str(out))


def _report(input_path: str, out: Path, *, law, drop_highest, compute, proxy_budget, n_boot,
            columns, runs, selection, fmt="png") -> str:
    from dataclasses import replace

    from scaling.fits import (FitWarning, ScalingLawFit, backtest, bootstrap,
                              fit_curves_by_size, plan_compute, with_bootstrap)
    from scaling.fits.design import suggest_runs
    from scaling.fits.laws import get_law, law_names
    from scaling.fits.report_files import write_report

    out = Path(out)
    path = Path(input_path)
    if path.exists() and not path.is_file() and not path.is_dir():
        raise ValueError(f"INPUT {input_path!r} is not a regular file (a device or pipe)")
    if path.suffix == ".json" and path.is_file():
        return _summary([write_report(_saved(path), out, fmt=fmt)])
    if not input_path.startswith("bundled:") and not path.exists():
        raise ValueError(f"INPUT {input_path!r} does not exist (a data file or directory, "
                         "bundled:NAME, or a saved fit .json)")
    table = full = _load(input_path, columns, runs)
    if selection.get("where"):  # curve laws honour the filter too
        from scaling.data.select import filter_table

        table = filter_table(table, selection["where"])
    law = law or ("chinchilla" if table.meta.get("tokens_known", True) else "tissue")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        if law in law_names("curve"):
            if drop_highest:
                from scaling.commands._common import CURVE_DROP_HIGHEST

                raise ValueError(CURVE_DROP_HIGHEST)
            fits_by_size = fit_curves_by_size(table, law)
            folders = _folders(fits_by_size)
            return _summary([write_report(fit, out / folders[name] if len(fits_by_size) > 1
                                          else out,
                                          table=table.subset(_runs_of(fit, table)),
                                          title=f"{law} curve law ({name})", fmt=fmt)
                             for name, fit in fits_by_size.items()])
        estimator = ScalingLawFit(law=law, drop_highest=drop_highest, **selection)
        point_law = get_law(law)
        if compute and point_law.has_frontier and not point_law.frontier_given:
            obj = plan_compute(table, compute, estimator=estimator, n_boot=n_boot)
            fit, boot = obj.fit, obj.bootstrap
        else:
            fit = estimator.fit(table, warn=False).result_
            boot = bootstrap(fit, n_boot=n_boot) if n_boot else None
            fit = fit if boot is None else with_bootstrap(fit, boot)
        try:
            fit = fit.with_data(backtest=backtest(estimator, table, fit))
        except ValueError as err:  # too few runs: the report says why
            fit = fit.with_warnings(f"backtest not run: {err}")
        obj = replace(obj, fit=fit) if compute and law == "chinchilla" else fit
        suggestion = None
        if proxy_budget and boot is not None and not point_law.takes_x:
            target = ({"N": obj.N_opt.value, "D": obj.D_opt.value} if obj is not fit else
                      {"N": 10 * max(fit.data["points"]["N"]), "D": 10 * max(fit.data["points"]["D"])})
            suggestion = suggest_runs(fit, boot, target, budget_flops=proxy_budget)
        files = write_report(obj, out, table=table, boot=boot, suggestion=suggestion,
                             target_compute=compute, fmt=fmt, plot_table=full)
    return _summary([files])


def _saved(path: Path):
    """A saved fit (point, curve or loss-to-loss; the family from its law's registry
    entry), or the fit inside a saved plan (``fit.json`` of a plan report)."""
    from scaling.fits import FitResult
    from scaling.fits.saved import load_saved

    from scaling.fits.saved_check import read_json_file
    try:
        payload = read_json_file(path, "saved fit")
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from None
    if isinstance(payload, dict) and "law" not in payload and isinstance(payload.get("fit"),
                                                                          dict):
        return FitResult.from_dict(payload["fit"])  # a plan: report its fit
    result = load_saved(path)
    data = getattr(result, "data", None)
    if isinstance(data, dict) and "heldout" not in data and not isinstance(data.get("points"),
                                                                           dict):
        raise ValueError(f"{path}: saved fit has no `data.points` (the fitted points a report "
                         "plots); save the fit with `scaling fit ... --save FIT.json`")
    return result


def _folders(names) -> dict:
    """One safe, distinct sub-folder name per model label (labels come from the data)."""
    from scaling.data.io import safe_component

    folders, used = {}, set()
    for name in names:
        base = folder = safe_component(name)
        k = 2
        while folder.lower() in used:
            folder, k = f"{base}-{k}", k + 1
        used.add(folder.lower())
        folders[name] = folder
    return folders


def _runs_of(fit, table):
    ids = set(fit.data.get("run_ids", [])) | set(fit.data.get("heldout", {}))
    return [r for r in table.runs["run_id"] if r in ids]


def _summary(reports) -> str:
    lines = []
    for files in reports:
        lines.append(files.summary)
        lines.append(f"  wrote {', '.join(p.name for p in files.files)} to {files.directory}")
    return "\n".join(lines)
