"""Scaling-law fitting: laws, objectives, vectorized multistart, results and reports.

``import fits`` never imports torch.
"""

import importlib
import types

# Lazy exports (PEP 562): `import scaling.fits.laws` or a saved-fit prediction must not pay
# for pandas/scipy/the whole package (`scaling predict FIT.json --at ...` runs in < 1 s).
# Add a public name here, or as a plain `from .module import name` line below.
_EXPORTS = {
    ".backtest": ("backtest",),
    ".bootstrap": ("BootstrapResult", "bootstrap", "with_bootstrap",),
    ".check": ("CheckResult", "check_target",),
    ".compute_optimal": ("approach1_envelope", "approach2_isoflop", "chinchilla_compute_for_loss", "chinchilla_optimum", "isoflop_penalty",),
    ".curve": ("CURVE_LAWS", "Curve", "compare_schedules", "curves_from_table", "fit_curve_law", "fit_curves", "fit_curves_by_size", "get_curve_law", "heldout_errors", "lr_annealing", "lr_annealing_sized", "multi_power", "predict_curve", "predict_final_loss", "predict_from_prefix", "predict_early",),
    ".estimator": ("clone",),
    ".fit": ("ScalingLawFit", "as_table", "fit_law", "warm_refit",),
    ".isoflop": ("IsoflopResult", "isoflop_fit", "isoflop_from_table",),
    ".compare": ("Comparison", "compare_ladders", "effective_compute_multiplier",),
    ".hparams": ("HparamLaws", "hparam_laws", "hparam_laws_from_table",),
    ".laws.data_constrained": ("data_constrained", "fit_data_constrained",),
    ".laws.overtraining": ("overtraining", "fit_top1_error", "top1_error",),
    ".laws": ("LAWS", "Law", "chinchilla", "get_law", "kaplan", "power_law", "power_law_inverse",),
    ".multistart": ("count_at_best", "multistart", "polish",),
    ".objectives": ("OBJECTIVES", "get_objective",),
    ".l2l": ("L2LResult", "chain_predict", "l2l_fit", "l2l_predict", "shifted_power_law", "sigmoid_link",),
    ".plan": ("Estimate", "Plan", "extrapolation_decades", "plan_compute",),
    ".predict": ("predict_point",),
    ".prediction": ("DEFAULT_LEVEL", "Prediction",),
    ".problem": ("Problem",),
    ".result": ("FitResult", "FitWarning", "ParamEstimate",),
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


class _Package(types.ModuleType):
    """Keeps a function named like its submodule (``bootstrap``, ``backtest``) from being
    replaced by the submodule when the import system binds it on the package."""

    def __setattr__(self, name, value):
        if isinstance(value, types.ModuleType) and _WHERE.get(name) == "." + name:
            return
        super().__setattr__(name, value)


__import__("sys").modules[__name__].__class__ = _Package

__all__ = [
    "L2LResult", "chain_predict", "l2l_fit", "l2l_predict", "shifted_power_law", "sigmoid_link",
    "BootstrapResult", "CheckResult", "check_target", "CURVE_LAWS", "Curve", "Estimate", "FitResult", "FitWarning", "LAWS",
    "Law", "OBJECTIVES", "ParamEstimate", "Plan", "Problem", "ScalingLawFit",
    "approach1_envelope", "approach2_isoflop", "as_table", "backtest", "bootstrap",
    "with_bootstrap", "chinchilla",
    "chinchilla_compute_for_loss", "chinchilla_optimum", "compare_schedules", "count_at_best",
    "curves_from_table", "extrapolation_decades", "fit_curve_law", "fit_curves", "fit_curves_by_size", "fit_law",
    "get_curve_law", "get_law", "get_objective", "heldout_errors", "isoflop_penalty", "kaplan",
    "lr_annealing", "lr_annealing_sized", "multi_power", "multistart", "plan_compute", "polish",
    "power_law", "power_law_inverse", "predict_curve", "predict_final_loss",
    "predict_from_prefix", "predict_early", "predict_point", "warm_refit", "DEFAULT_LEVEL",
    "Prediction",
    "IsoflopResult", "isoflop_fit", "isoflop_from_table", "Comparison", "compare_ladders",
    "effective_compute_multiplier", "HparamLaws", "hparam_laws", "hparam_laws_from_table",
    "data_constrained", "fit_data_constrained", "overtraining", "fit_top1_error", "top1_error",
    "clone",
]
