"""Loss-to-loss and loss-to-task prediction: link laws, grouped fits, chained predictions."""

from .chain import ChainOptions, chain_predict
from .engine import BootLinkOptions, bootstrap_link, fit_link
from .fit import POOL_COLUMNS, L2LOptions, l2l_fit
from .group import GroupOptions, fit_group
from .proxy import budget_link_predict, proxy_pairs, single_offset
from .result import LINK_LAWS, GroupFit, L2LResult, l2l_predict, predictive_samples
from .shifted import (SHIFTED_POWER_LAW, shifted_bounds, shifted_power_law,
                      shifted_power_law_inverse)
from .task import SIGMOID_LINK, monotonicity, reliability, sigmoid_bounds, sigmoid_link

__all__ = [
    "BootLinkOptions", "ChainOptions", "GroupOptions", "L2LOptions", "GroupFit", "L2LResult", "LINK_LAWS", "POOL_COLUMNS", "SHIFTED_POWER_LAW",
    "SIGMOID_LINK", "bootstrap_link", "budget_link_predict", "chain_predict", "fit_group",
    "fit_link", "l2l_fit", "l2l_predict", "monotonicity", "predictive_samples", "proxy_pairs",
    "reliability", "shifted_bounds", "shifted_power_law", "shifted_power_law_inverse",
    "sigmoid_bounds", "sigmoid_link", "single_offset",
]
