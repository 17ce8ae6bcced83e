"""Scaling-law fitting: laws, objectives, vectorized multistart, results and reports.

``import fits`` never imports torch.
"""

import types

from .exports import lazy_exports

# Lazy exports (PEP 562): `import scaling.fits.laws` or a saved-fit prediction must not pay
# for pandas/scipy/the whole package (`scaling predict FIT.json --at ...` runs in < 1 s).
# The one export table: add a public name here (``__all__`` is read from it).
_EXPORTS = {
    ".backtest": ("backtest",),
    ".bootstrap": ("BootstrapResult", "bootstrap", "with_bootstrap",),
    ".check": ("CheckResult", "check_target",),
    ".compute_optimal": ("approach1_envelope", "approach2_isoflop", "chinchilla_compute_for_loss", "chinchilla_optimum", "isoflop_penalty",),
    ".curve": ("CURVE_LAWS", "Curve", "compare_schedules", "curves_from_table", "fit_curve_law", "fit_curves", "fit_curves_by_size", "get_curve_law", "heldout_errors", "lr_annealing", "lr_annealing_sized", "multi_power", "predict_curve", "predict_final_loss", "predict_from_prefix", "predict_early",),
    ".estimator": ("clone",),
    ".fit": ("ScalingLawFit", "as_table", "fit_law", "warm_refit", "FitLawOptions",),
    ".isoflop": ("IsoflopResult", "isoflop_fit", "isoflop_from_table", "IsoflopOptions",),
    ".compare": ("Comparison", "compare_ladders", "effective_compute_multiplier",),
    ".hparams": ("HparamLaws", "hparam_laws", "hparam_laws_from_table",),
    ".laws.data_constrained": ("data_constrained",),
    ".data_constrained_fit": ("fit_data_constrained",),
    ".laws.overtraining": ("overtraining", "fit_top1_error", "top1_error",),
    ".laws": ("LAWS", "Law", "chinchilla", "get_law", "kaplan", "power_law", "power_law_inverse",),
    ".multistart": ("count_at_best", "multistart", "polish", "MultistartOptions",),
    ".objectives": ("OBJECTIVES", "get_objective",),
    ".l2l": ("L2LResult", "chain_predict", "l2l_fit", "l2l_predict", "shifted_power_law", "sigmoid_link",),
    ".plan": ("Estimate", "Plan", "extrapolation_decades", "plan_compute", "PlanOptions",),
    ".predict": ("predict_point", "PredictOptions",),
    ".prediction": ("DEFAULT_LEVEL", "Prediction",),
    ".problem": ("Problem",),
    ".result": ("FitResult", "FitWarning", "ParamEstimate",),
    # the settings objects of the wide entry points (``options=``; keywords override them)
    ".curve.fit_options": ("CurveFitOptions",),
    ".curve.early_point": ("PrefixOptions",),
    ".curve.joint": ("JointFitOptions",),
    ".l2l.fit": ("L2LOptions",),
    ".l2l.chain": ("ChainOptions",),
    ".plan_robust": ("RobustOptions",),
}
_WHERE, __getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
__all__ = list(_WHERE)


class _Package(types.ModuleType):
    """Keeps a function named like its submodule (``bootstrap``, ``backtest``) from being
    replaced by the submodule when the import system binds it on the package (importing
    ``scaling.fits.bootstrap`` sets the package attribute ``bootstrap`` to the module,
    which would shadow the lazily exported function of the same name)."""

    def __setattr__(self, name, value):
        if isinstance(value, types.ModuleType) and _WHERE.get(name) == "." + name:
            return
        super().__setattr__(name, value)


__import__("sys").modules[__name__].__class__ = _Package
