"""Loss-curve laws that take the LR schedule: multi-power law (Luo et al. 2025) and the
LR-annealing law (Tissue et al. 2024); fitting, held-out evaluation and predictions."""

import importlib

# Lazy exports (PEP 562), as in scaling.fits: a point-law fit that only names
# `fit_curves_by_size` must not import the curve machinery (scipy.optimize, scipy.sparse).
_EXPORTS = {
    ".calibrate": ("FALLBACK_RATES", "ErrorGrowth", "fit_growth"),
    ".uncertainty": ("difference_interval", "predict_finals"),
    ".curves": ("Curve", "curves_from_table", "schedule_of_run"),
    ".early": ("AMPLITUDE_MODES", "PREFIX_ONLY_SD", "predict_early", "predict_from_prefix",
               "predict_from_prefix_only", "prefix_report", "reference_mismatch",
               "reference_overlap"),
    ".early_result": ("EarlyCurve", "EarlyDetail"),
    ".fit": ("METHODS", "SELECTIONS", "fit_curve_law", "fit_curves", "fit_curves_by_size",
             "heldout_errors"),
    ".joint": ("JointCurveProblem", "fit_curve_law_joint", "fit_curves_joint"),
    ".laws": ("CURVE_LAWS", "CurveLaw", "get_curve_law"),
    ".luo": ("LUO2025", "fit_luo2025", "instant_drop_start"),
    ".mpl": ("MPL_PARAMS", "MPL_PUBLISHED", "MPL_SHAPE_PRIOR", "MPLPlan", "multi_power",
             "published_for_schedule"),
    ".predict": ("candidate_schedules", "compare_schedules", "parse_candidates",
                 "plot_schedules", "predict_curve", "predict_final_loss", "predict_schedules"),
    ".problem": ("CurveProblem",),
    ".tissue": ("DEFAULT_DECAYS", "TISSUE_PARAMS", "TISSUE_SIZED_PARAMS", "TissuePlan",
                "lr_annealing", "lr_annealing_sized"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}


def __getattr__(name):
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_WHERE))


__all__ = [
    "ErrorGrowth", "FALLBACK_RATES", "fit_growth", "difference_interval", "predict_finals",
    "AMPLITUDE_MODES", "PREFIX_ONLY_SD", "EarlyCurve", "EarlyDetail", "predict_early", "predict_schedules", "predict_from_prefix_only", "reference_mismatch", "reference_overlap",
    "parse_candidates", "CURVE_LAWS", "Curve", "CurveLaw", "CurveProblem", "DEFAULT_DECAYS",
    "JointCurveProblem", "LUO2025", "METHODS", "MPLPlan", "MPL_PARAMS", "MPL_PUBLISHED", "published_for_schedule",
    "MPL_SHAPE_PRIOR", "SELECTIONS",
    "TISSUE_PARAMS", "TISSUE_SIZED_PARAMS", "TissuePlan", "candidate_schedules",
    "compare_schedules", "curves_from_table", "fit_curve_law", "fit_curve_law_joint",
    "fit_curves", "fit_curves_by_size", "fit_curves_joint", "fit_luo2025", "get_curve_law",
    "heldout_errors", "instant_drop_start", "lr_annealing",
    "lr_annealing_sized", "multi_power", "plot_schedules", "predict_curve",
    "predict_final_loss", "predict_from_prefix", "prefix_report", "schedule_of_run",
]
