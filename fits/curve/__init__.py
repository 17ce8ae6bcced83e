"""Loss-curve laws that take the LR schedule: multi-power law (Luo et al. 2025) and the
LR-annealing law (Tissue et al. 2024); fitting, held-out evaluation and predictions."""

from .curves import Curve, curves_from_table, schedule_of_run
from .early import (AMPLITUDE_MODES, PREFIX_ONLY_SD, predict_early, predict_from_prefix,
                    predict_from_prefix_only, prefix_report, reference_mismatch,
                    reference_overlap)
from .early_result import EarlyCurve, EarlyDetail
from .fit import (METHODS, SELECTIONS, fit_curve_law, fit_curves, fit_curves_by_size,
                  heldout_errors)
from .joint import JointCurveProblem, fit_curve_law_joint, fit_curves_joint
from .laws import CURVE_LAWS, CurveLaw, get_curve_law
from .luo import LUO2025, fit_luo2025, instant_drop_start
from .mpl import (MPL_PARAMS, MPL_PUBLISHED, MPL_SHAPE_PRIOR, MPLPlan, multi_power,
                  published_for_schedule)
from .predict import (candidate_schedules, compare_schedules, parse_candidates, plot_schedules,
                      predict_curve, predict_final_loss, predict_schedules)
from .problem import CurveProblem
from .tissue import (DEFAULT_DECAYS, TISSUE_PARAMS, TISSUE_SIZED_PARAMS, TissuePlan,
                     lr_annealing, lr_annealing_sized)

__all__ = [
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
